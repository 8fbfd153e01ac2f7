// One unit of quantization work: a run of whole rows of one tensor, source bytes in, target bytes
// out. Runs inside the worker threads (quant-worker.ts); plain and synchronous so it can also run
// inline. Rows are independent in every ggml quantizer, so how rows are cut into jobs never changes
// the bytes.

import type { Message } from '../../../src-shared/message.ts';
import { msg } from '../../../src-shared/messages/index.ts';
import { errorFrom } from '../errors.ts';
import { GgmlType, ggmlTypeName, rowBytes } from '../gguf/ggml-types.ts';
import { FP16_TO_FP32, fp32ToFp16, fp32ToBf16 } from './numeric.ts';
import { kernelFor } from './kernels.ts';
import { validateRowData } from './validate.ts';
import type { QuantKernel } from './types.ts';

const T = GgmlType;

export interface QuantJob {
  readonly id: number;
  readonly tensor: string;
  readonly srcType: number;
  readonly dstType: number;
  readonly nPerRow: number;
  readonly nrows: number;
  /** Index of the job's first row within the tensor (for messages). */
  readonly firstRow: number;
  /** The source rows (a view; its whole ArrayBuffer is transferred to the worker and back). */
  readonly src: Uint8Array;
  /** Where the output goes: exactly rowBytes(dstType, nPerRow) × nrows bytes (transferred too). */
  readonly dst: Uint8Array;
  /** Per-column importance for these rows (one expert's slice), or undefined. */
  readonly imatrix?: Float32Array;
}

/** Both buffers come back, so the caller can reuse them instead of making garbage per job. */
export type QuantJobResult =
  | { readonly id: number; readonly ok: true; readonly src: Uint8Array; readonly dst: Uint8Array }
  | { readonly id: number; readonly ok: false; readonly error: Message; readonly tensor: string; readonly src: Uint8Array; readonly dst: Uint8Array };


let scratch = new Float32Array(0);

/** Source rows as float32 (F16/BF16 converted exactly, quantized types dequantized as ggml's to_float). */
function toFloat32(job: QuantJob): Float32Array {
  const n = job.nPerRow * job.nrows;
  const { src } = job;
  if (job.srcType === T.F32 && src.byteOffset % 4 === 0) return new Float32Array(src.buffer, src.byteOffset, n);
  // One scratch buffer per thread, grown as needed: no garbage per job.
  if (scratch.length < n) scratch = new Float32Array(n);
  const out = scratch.subarray(0, n);
  if (job.srcType === T.F32) {
    out.set(new Float32Array(src.slice().buffer, 0, n));
    return out;
  }
  if (job.srcType === T.F16 || job.srcType === T.BF16) {
    const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
    if (job.srcType === T.F16) {
      for (let i = 0; i < n; i++) out[i] = FP16_TO_FP32[dv.getUint16(2 * i, true)]!;
    } else {
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) u[i] = dv.getUint16(2 * i, true) << 16;
    }
    return out;
  }
  const kernel = kernelFor(job.srcType);
  if (!kernel) throw errorFrom(msg('quant.noDequantKernel', { type: ggmlTypeName(job.srcType) }));
  kernel.dequantize(src, out, n);
  return out;
}

/** float32 rows into the plain float types, as ggml_quantize_chunk does for them. */
function fromFloat32(type: number, f: Float32Array, dst: Uint8Array): boolean {
  const dv = new DataView(dst.buffer, dst.byteOffset, dst.byteLength);
  if (type === T.F32) {
    dst.set(new Uint8Array(f.buffer, f.byteOffset, f.byteLength));
    return true;
  }
  if (type === T.F16) {
    for (let i = 0; i < f.length; i++) dv.setUint16(2 * i, fp32ToFp16(f[i]!), true);
    return true;
  }
  if (type === T.BF16) {
    for (let i = 0; i < f.length; i++) dv.setUint16(2 * i, fp32ToBf16(f[i]!), true);
    return true;
  }
  return false;
}

interface F16Kernel extends QuantKernel {
  quantizeF16(src: Uint8Array, dst: Uint8Array, nrows: number, nPerRow: number, imatrix?: Float32Array): number;
}

function hasF16Path(k: QuantKernel): k is F16Kernel {
  return typeof (k as Partial<F16Kernel>).quantizeF16 === 'function';
}

/** Quantizes one job into job.dst (returned); throws a QuantfitError (the caller adds file and tensor) on bad data or a missing kernel. */
export function runQuantJob(job: QuantJob): Uint8Array {
  // The loader checks what it reads: NaN/Inf values (or scales) are refused before anything else.
  const bad = validateRowData(job.srcType, job.src);
  if (bad !== undefined) {
    throw errorFrom(msg('quant.invalidData', { why: bad, row: job.firstRow }));
  }
  const { dst } = job;
  if (dst.length !== rowBytes(job.dstType, job.nPerRow) * job.nrows) {
    throw errorFrom(msg('quant.outputBufferSize', { have: dst.length, need: rowBytes(job.dstType, job.nPerRow) * job.nrows }));
  }
  const kernel = kernelFor(job.dstType);
  if (job.srcType === T.F16 && kernel && hasF16Path(kernel)) {
    // WebAssembly kernels convert F16 rows themselves (same floats, no JS conversion pass).
    const written = kernel.quantizeF16(job.src, dst, job.nrows, job.nPerRow, job.imatrix);
    if (written !== dst.length) throw errorFrom(msg('quant.kernelWroteWrong', { type: ggmlTypeName(job.dstType), wrote: written, expected: dst.length }));
  } else if (kernel?.quantize) {
    const f32 = toFloat32(job);
    const written = kernel.quantize(f32, dst, job.nrows, job.nPerRow, job.imatrix);
    if (written !== dst.length) throw errorFrom(msg('quant.kernelWroteWrong', { type: ggmlTypeName(job.dstType), wrote: written, expected: dst.length }));
  } else if (!fromFloat32(job.dstType, toFloat32(job), dst)) {
    throw errorFrom(msg('quant.noQuantKernel', { type: ggmlTypeName(job.dstType) }));
  }
  // llama.cpp validates what it wrote too: a scale, or an F16 value, that overflowed fp16 fails here.
  if (validateRowData(job.dstType, dst) !== undefined) {
    throw errorFrom(msg('quant.outputInvalid', { type: ggmlTypeName(job.dstType), row: job.firstRow }));
  }
  return dst;
}

/** Whether this process can convert srcType → dstType (kernels registered). */
export function canConvert(srcType: number, dstType: number): Message | undefined {
  const floatTypes: number[] = [T.F32, T.F16, T.BF16];
  if (!floatTypes.includes(srcType) && !kernelFor(srcType)) return msg('quant.noDequantKernel', { type: ggmlTypeName(srcType) });
  if (!kernelFor(dstType)?.quantize && !floatTypes.includes(dstType)) return msg('quant.noQuantKernel', { type: ggmlTypeName(dstType) });
  return undefined;
}

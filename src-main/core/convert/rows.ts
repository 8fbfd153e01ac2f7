// Source rows (F32, F16 or BF16, as stored) → output rows (F32, F16 or BF16), exactly as the converter
// computes them: torch upcasts BF16 to float32 and keeps F16; numpy's astype(float16) and gguf-py's
// bf16 rounding are both round-to-nearest-even, as here.

import { GgmlType } from '../gguf/ggml-types.ts';
import { FP16_TO_FP32, f32Bits, fp16FromF32Bits } from '../quant/numeric.ts';

const T = GgmlType;

/** Bytes per element of a safetensors dtype this module reads. */
export const SOURCE_ELEMENT_BYTES: Readonly<Record<string, number>> = { F32: 4, F16: 2, BF16: 2 };
export const OUT_ELEMENT_BYTES: Readonly<Record<number, number>> = { [T.F32]: 4, [T.F16]: 2, [T.BF16]: 2 };

const SAME: Readonly<Record<string, number>> = { F32: T.F32, F16: T.F16, BF16: T.BF16 };

let scratch = new Float32Array(0);

/** float32 bits → bf16 bits as gguf-py's quantize_bf16 (NaN made quiet, then round to nearest even). */
function bf16FromF32Bits(u: number): number {
  if ((u & 0x7fffffff) > 0x7f800000) return ((u & 0xffff0000) | (64 << 16)) >>> 16;
  return ((u + (0x7fff + ((u >>> 16) & 1))) >>> 16) & 0xffff;
}

/**
 * Converts n elements of `src` (dtype `from`) into `dst` (ggml type `to`); `addOne` adds 1 in
 * float32 first (Gemma's norms). Same dtype in and out without a transform is a plain copy.
 */
export function convertElements(from: string, src: Uint8Array, to: number, dst: Uint8Array, n: number, addOne = false): void {
  if (SAME[from] === to && !addOne) {
    dst.set(src.subarray(0, n * OUT_ELEMENT_BYTES[to]!));
    return;
  }
  if (scratch.length < n) scratch = new Float32Array(n);
  const f = scratch.subarray(0, n);
  const bits = new Uint32Array(f.buffer, f.byteOffset, n);
  const sv = new DataView(src.buffer, src.byteOffset, src.byteLength);
  if (from === 'F32') for (let i = 0; i < n; i++) f[i] = sv.getFloat32(4 * i, true);
  else if (from === 'F16') for (let i = 0; i < n; i++) f[i] = FP16_TO_FP32[sv.getUint16(2 * i, true)]!;
  else for (let i = 0; i < n; i++) bits[i] = sv.getUint16(2 * i, true) << 16;
  // torch adds in the tensor's own dtype: float32 for upcast BF16/F32, half precision for F16.
  if (addOne && from === 'F16') for (let i = 0; i < n; i++) f[i] = FP16_TO_FP32[fp16FromF32Bits(f32Bits(Math.fround(f[i]! + 1)))]!;
  else if (addOne) for (let i = 0; i < n; i++) f[i] = Math.fround(f[i]! + 1);
  const dv = new DataView(dst.buffer, dst.byteOffset, dst.byteLength);
  if (to === T.F32) for (let i = 0; i < n; i++) dv.setFloat32(4 * i, f[i]!, true);
  else if (to === T.F16) for (let i = 0; i < n; i++) dv.setUint16(2 * i, fp16FromF32Bits(bits[i]!), true);
  else for (let i = 0; i < n; i++) dv.setUint16(2 * i, bf16FromF32Bits(bits[i]!), true);
}

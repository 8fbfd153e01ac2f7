// A Hugging Face folder → an F32/F16/BF16 GGUF, byte for byte what `convert_hf_to_gguf.py --outtype
// f32|f16|bf16` writes; and → any quant type in one pass (the converted rows stream straight into the
// quantizer, no intermediate file). Output goes to a temp file renamed at the end.

import { GgufWriter } from '../gguf/writer.ts';
import { ggmlTypeName } from '../gguf/ggml-types.ts';
import { CancelledError, throwIfAborted } from '../errors.ts';
import { RateMeter, type JobEvent, type Stage } from '../progress.ts';
import { quantizeSource, type QuantizeResult, type QuantizeRunOptions } from '../quant/pipeline.ts';
import type { QuantizeOptions } from '../quant/policy.ts';
import { planConversion, type Conversion, type ConvertOptions } from './plan.ts';

const SLAB_BYTES = 8 << 20;
const EVENT_INTERVAL_MS = 200;

export interface ConvertResult {
  /** Output tensors per type (`{ BF16: 154, F32: 65 }`). */
  readonly tensorTypes: Record<string, number>;
  readonly out: string;
  readonly bytes: number;
  readonly sha256: string;
  readonly seconds: number;
  readonly outtype: Conversion['outtype'];
}

export interface ConvertRunOptions extends ConvertOptions {
  readonly onEvent?: (e: JobEvent) => void;
  /**
   * Run as one step inside this stage of a job (an engine stage converting its input for llama.cpp):
   * progress is reported under it and the caller announces the step. Default: the 'quantize' stage,
   * started and finished here.
   */
  readonly within?: Stage;
}

/** Writes the converted folder as the converter would (--outtype f32|f16|bf16|auto). */
export async function convertFolder(dir: string, output: string, options: ConvertRunOptions = {}): Promise<ConvertResult> {
  const started = performance.now();
  const { signal, onEvent } = options;
  const stage = options.within ?? 'quantize';
  const stageEvent = options.within === undefined ? onEvent : undefined;
  throwIfAborted(signal);
  const conv = await planConversion(dir, options);
  const { header, source } = conv;
  let writer: GgufWriter | undefined;
  try {
    writer = await GgufWriter.create(output, {
      kv: header.kv, tensors: header.tensors.map((t) => ({ name: t.name, type: t.type, shape: t.shape })), alignment: header.alignment, signal,
    });
    const total = header.tensors.reduce((s, t) => s + t.byteSize, 0);
    const meter = new RateMeter(total);
    let done = 0;
    let last = -Infinity;
    stageEvent?.({ type: 'stage', stage, status: 'start', message: `${conv.outtype.toUpperCase()}: ${header.tensors.length} tensors, ${header.fileSize} bytes` });
    for (const [index, t] of header.tensors.entries()) {
      const rowBytes = t.byteSize / Math.max(1, t.shape.slice(1).reduce((a, b) => a * b, 1));
      const rowsPerSlab = Math.max(1, Math.floor(SLAB_BYTES / Math.max(1, rowBytes)));
      for (let at = 0; at < t.byteSize; at += rowsPerSlab * rowBytes) {
        throwIfAborted(signal);
        const bytes = await source.read(t, at, Math.min(rowsPerSlab * rowBytes, t.byteSize - at));
        await writer.writeTensorData(bytes);
        done += bytes.length;
        const now = performance.now();
        if (onEvent && now - last >= EVENT_INTERVAL_MS) {
          last = now;
          const { rate, etaSeconds } = meter.update(done);
          onEvent({ type: 'progress', stage, unit: 'bytes', done, total, rate, etaSeconds, tensor: { index, count: header.tensors.length, name: t.name, type: ggmlTypeName(t.type) }, bytesOut: writer.bytesWritten });
        }
      }
    }
    const res = await writer.finish();
    stageEvent?.({ type: 'stage', stage, status: 'done', message: res.path });
    const tensorTypes: Record<string, number> = {};
    for (const t of header.tensors) tensorTypes[ggmlTypeName(t.type)] = (tensorTypes[ggmlTypeName(t.type)] ?? 0) + 1;
    return { out: res.path, bytes: res.bytes, sha256: res.sha256, seconds: (performance.now() - started) / 1000, outtype: conv.outtype, tensorTypes };
  } catch (err) {
    await writer?.abort();
    if (signal?.aborted) throw new CancelledError();
    throw err;
  } finally {
    await source.close();
  }
}

/** Converts and quantizes in one streaming pass: equal to `--outtype auto` then llama-quantize. */
export async function quantizeFolder(dir: string, output: string, options: QuantizeOptions, run: QuantizeRunOptions & { tokenizerKvs?: ConvertOptions['tokenizerKvs']; nameFrom?: string } = {}): Promise<QuantizeResult> {
  throwIfAborted(run.signal);
  const conv = await planConversion(dir, { outtype: 'auto', tokenizerKvs: run.tokenizerKvs, signal: run.signal, ...(run.nameFrom !== undefined ? { nameFrom: run.nameFrom } : {}) });
  return quantizeSource(conv.source, output, options, run);
}

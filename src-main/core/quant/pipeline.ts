// quantizeFile: input GGUF → output GGUF with llama-quantize's exact bytes. Tensor rows stream from
// the reader in bounded jobs, through a pool of worker threads, into the writer in order. Reading,
// quantizing and writing overlap; memory stays bounded by the in-flight limits below whatever the
// tensor sizes, and the output is the same for any thread count (rows are quantized independently).

import { realpath } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { availableParallelism } from 'node:os';
import { GgufReader } from '../gguf/reader.ts';
import { GgufWriter } from '../gguf/writer.ts';
import type { GgufHeader, GgufTensorInfo } from '../gguf/types.ts';
import { ggmlTypeName, rowBytes } from '../gguf/ggml-types.ts';
import { CancelledError, QuantfitError, errorFrom, quantfitError, throwIfAborted } from '../errors.ts';
import { RateMeter, type JobEvent } from '../progress.ts';
import { formatMessage, msg } from '../../../src-shared/messages/index.ts';
import { planQuantization, tensorTypeCounts, type PlannedTensor, type QuantizeOptions, type QuantPlan } from './policy.ts';
import { canConvert } from './quant-job.ts';
import { acquirePool, QuantJobFailed, releasePool, type WorkerPool } from './worker-pool.ts';
import { validateRowData } from './validate.ts';

export interface QuantizeRunOptions {
  /** Worker threads (default: available parallelism, at most 24). The output does not depend on it. */
  threads?: number;
  signal?: AbortSignal;
  onEvent?: (e: JobEvent) => void;
  /** float32 bytes of rows per worker job (default: 4 MiB, less with many threads); only speed depends on it. */
  jobBytes?: number;
}

export interface QuantizeResult {
  readonly out: string;
  readonly bytes: number;
  readonly sha256: string;
  readonly seconds: number;
  /** Output tensors per type (`{ Q4_K: 193, F32: 65 }`). */
  readonly tensorTypes: Record<string, number>;
  readonly plan: QuantPlan;
}

// Memory: each worker costs ~11 MB, each job in flight about 2.5× its float32 size (source, floats,
// output). Job size shrinks as threads grow so that all jobs in flight stay within IN_FLIGHT_BUDGET;
// with MAX_THREADS workers the process stays well under 512 MB whatever the tensor sizes.
const MAX_THREADS = 16;
const IN_FLIGHT_BUDGET = 48 << 20;
const MAX_JOB_F32_BYTES = 4 << 20;
const MIN_JOB_F32_BYTES = 256 << 10;
/** Bytes per read when a tensor is copied unchanged. */
const COPY_SLAB_BYTES = 8 << 20;
/** Upper bound on source bytes read but not yet written. */
const MAX_IN_FLIGHT_BYTES = 24 << 20;
/** Progress events at most this often. */
const EVENT_INTERVAL_MS = 200;

interface Task {
  tensorIndex: number;
  bytesIn: number;
  /** The output bytes of this task (a view into a pooled buffer, given back once written). */
  result: Promise<Uint8Array>;
}

/**
 * Reused ArrayBuffers for reads and job outputs. Buffers handed to workers come back with the
 * results, so steady-state work allocates nothing: garbage ArrayBuffers are collected lazily and,
 * with many threads, would otherwise pile up to hundreds of MB.
 */
class BufferPool {
  private readonly free: ArrayBuffer[] = [];
  private freeBytes = 0;
  constructor(private readonly maxFreeBytes: number) {}

  /** A view of exactly n bytes over the smallest free buffer that fits, or a new one. */
  take(n: number): Uint8Array {
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const len = this.free[i]!.byteLength;
      if (len >= n && (best < 0 || len < this.free[best]!.byteLength)) best = i;
    }
    if (best >= 0) {
      const buf = this.free.splice(best, 1)[0]!;
      this.freeBytes -= buf.byteLength;
      return new Uint8Array(buf, 0, n);
    }
    return new Uint8Array(new ArrayBuffer(n));
  }

  give(view: Uint8Array): void {
    const buf = view.buffer as ArrayBuffer;
    if (buf.byteLength === 0 || this.freeBytes + buf.byteLength > this.maxFreeBytes) return;
    this.free.push(buf);
    this.freeBytes += buf.byteLength;
  }
}

/** Refuses to write over the input: compares real paths (symlinks and `..` resolved). */
export async function assertNotSameFile(input: string, output: string): Promise<void> {
  const realIn = await realpath(input);
  let realOut: string;
  try {
    realOut = await realpath(output);
  } catch {
    // The output does not exist yet: compare its folder's real path plus its name.
    try {
      realOut = join(await realpath(dirname(resolve(output))), basename(output));
    } catch {
      return; // missing folder: the writer reports that
    }
  }
  if (realIn === realOut) throw quantfitError('quant.sameFile', {}, { file: output });
}

/**
 * What the pipeline reads: a validated GGUF header and whole-row byte ranges of its tensors. A GGUF
 * file (GgufReader) is one; a Hugging Face folder being converted (convert/source.ts) is another.
 */
export interface TensorSource {
  readonly header: GgufHeader;
  read(tensor: GgufTensorInfo, byteStart: number, byteLength: number, target?: Uint8Array): Promise<Uint8Array>;
  close(): Promise<void>;
}

export async function quantizeFile(input: string, output: string, options: QuantizeOptions, run: QuantizeRunOptions = {}): Promise<QuantizeResult> {
  throwIfAborted(run.signal);
  await assertNotSameFile(input, output);
  return quantizeSource(await GgufReader.open(input), output, options, run);
}

/** Quantizes what `reader` holds into `output`; closes the reader whatever happens. */
export async function quantizeSource(reader: TensorSource, output: string, options: QuantizeOptions, run: QuantizeRunOptions = {}): Promise<QuantizeResult> {
  const started = performance.now();
  const { signal, onEvent } = run;
  const input = reader.header.path;
  let pool: WorkerPool | undefined;
  let poolStarting: Promise<WorkerPool> | undefined;
  let writer: GgufWriter | undefined;
  let failed = false;
  const onAbort = () => { void pool?.terminate(new CancelledError()); };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const plan = planQuantization(reader.header, options);
    for (const t of plan.tensors) {
      if (!t.quantize) continue;
      const why = canConvert(t.sourceType, t.targetType);
      if (why) throw quantfitError('quant.cannotQuantize', { why }, { file: input, tensor: t.name });
    }
    const threads = Math.max(1, Math.min(run.threads ?? availableParallelism(), MAX_THREADS));
    const maxTasks = threads * 2 + 2;
    const jobBytes = run.jobBytes ?? Math.max(MIN_JOB_F32_BYTES, Math.min(MAX_JOB_F32_BYTES, Math.floor(IN_FLIGHT_BUDGET / (2.5 * maxTasks))));
    const note = msg('jobProgress.quantize.start', { type: plan.ftype.name, tensors: plan.tensors.length, bytes: plan.fileBytes });
    onEvent?.({ type: 'stage', stage: 'quantize', status: 'start', message: formatMessage(note, 'en'), text: note });

    // Workers start (bundle, spawn, compile the kernels) while the writer creates its file.
    poolStarting = plan.tensors.some((t) => t.quantize) ? acquirePool(threads) : undefined;
    poolStarting?.catch(() => undefined); // awaited below or in finally
    writer = await GgufWriter.create(output, {
      kv: plan.kv,
      tensors: plan.tensors.map((t) => ({ name: t.name, type: t.targetType, shape: t.shape })),
      alignment: plan.alignment,
      signal,
    });
    if (poolStarting) pool = await poolStarting;
    if (signal?.aborted) onAbort();

    const total = plan.inputDataBytes;
    const meter = new RateMeter(total);
    let done = 0;
    let lastEvent = -Infinity;
    const emit = (tensorIndex: number, force: boolean) => {
      if (!onEvent) return;
      const now = performance.now();
      if (!force && now - lastEvent < EVENT_INTERVAL_MS) return;
      lastEvent = now;
      const t = plan.tensors[Math.min(tensorIndex, plan.tensors.length - 1)];
      const { rate, etaSeconds } = meter.update(done);
      onEvent({
        type: 'progress', stage: 'quantize', unit: 'bytes', done, total, rate, etaSeconds,
        tensor: t ? { index: tensorIndex, count: plan.tensors.length, name: t.name, type: ggmlTypeName(t.targetType) } : undefined,
        bytesOut: writer!.bytesWritten,
      });
    };

    const pending: Task[] = [];
    let inFlight = 0;
    const buffers = new BufferPool(IN_FLIGHT_BUDGET);
    const drainOne = async () => {
      const task = pending.shift()!;
      const bytes = await task.result;
      throwIfAborted(signal);
      await writer!.writeTensorData(bytes);
      buffers.give(bytes);
      inFlight -= task.bytesIn;
      done += task.bytesIn;
      emit(task.tensorIndex, false);
    };
    const push = async (task: Task) => {
      task.result.catch(() => undefined); // rejections are rethrown when the task reaches the head
      pending.push(task);
      inFlight += task.bytesIn;
      while (pending.length >= maxTasks || inFlight >= MAX_IN_FLIGHT_BYTES) await drainOne();
    };

    for (let i = 0; i < plan.tensors.length; i++) {
      throwIfAborted(signal);
      const t = plan.tensors[i]!;
      for (const task of tensorTasks(reader, t, i, options, pool, jobBytes, buffers)) await push(task);
    }
    while (pending.length > 0) await drainOne();
    throwIfAborted(signal);
    const res = await writer.finish();
    emit(plan.tensors.length - 1, true);
    onEvent?.({ type: 'stage', stage: 'quantize', status: 'done', message: res.path });
    return {
      out: res.path, bytes: res.bytes, sha256: res.sha256, seconds: (performance.now() - started) / 1000,
      tensorTypes: tensorTypeCounts(plan), plan,
    };
  } catch (err) {
    failed = true;
    await writer?.abort();
    if (signal?.aborted) throw new CancelledError();
    if (err instanceof QuantJobFailed) throw errorFrom(err.error, { file: input, tensor: err.tensor });
    throw err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    // A pool still starting when the writer failed is released once it is up.
    if (!pool && poolStarting) pool = await poolStarting.catch(() => undefined);
    if (pool) await releasePool(pool, failed);
    await reader.close();
  }
}

/** The work for one tensor, as tasks whose results are its output bytes in order. */
function* tensorTasks(reader: TensorSource, t: PlannedTensor, index: number, options: QuantizeOptions, pool: WorkerPool | undefined, jobBytes: number, buffers: BufferPool): Generator<Task> {
  const src = t.source;
  const nPerRow = t.shape[0]!;
  const nrows = src.byteSize === 0 ? 0 : Math.round(src.byteSize / rowBytes(src.type, nPerRow));
  const srcRowBytes = rowBytes(src.type, nPerRow);
  if (!t.quantize) {
    // Copied as is, in slabs of whole rows, each checked as llama.cpp's loader checks what it reads.
    const rowsPerSlab = Math.max(1, Math.floor(COPY_SLAB_BYTES / srcRowBytes));
    for (let r = 0; r < nrows; r += rowsPerSlab) {
      const rows = Math.min(rowsPerSlab, nrows - r);
      const start = r * srcRowBytes;
      const length = rows * srcRowBytes;
      const result = reader.read(src, start, length, buffers.take(length)).then((bytes) => {
        const bad = validateRowData(src.type, bytes);
        if (bad !== undefined) {
          throw quantfitError('quant.invalidData', { why: bad, row: r }, { file: reader.header.path, tensor: t.name });
        }
        return bytes;
      });
      yield { tensorIndex: index, bytesIn: length, result };
    }
    return;
  }
  // Jobs never cross an expert boundary: each expert has its own importance-matrix slice.
  const rowsPerExpert = t.shape[1] ?? 1;
  const rowsPerJob = Math.max(1, Math.floor(jobBytes / (nPerRow * 4)));
  const imatrix = t.imatrixName !== undefined ? options.imatrix?.get(t.imatrixName) : undefined;
  let id = 0;
  for (let r = 0; r < nrows;) {
    const expert = Math.floor(r / rowsPerExpert);
    const rows = Math.min(rowsPerJob, nrows - r, (expert + 1) * rowsPerExpert - r);
    const firstRow = r;
    const length = rows * srcRowBytes;
    const slice = imatrix?.slice(expert * nPerRow, (expert + 1) * nPerRow);
    const dstBytes = rowBytes(t.targetType, nPerRow) * rows;
    const result = reader.read(src, firstRow * srcRowBytes, length, buffers.take(length)).then(async (bytes) => {
      const done = await pool!.run({
        id: id++, tensor: t.name, srcType: src.type, dstType: t.targetType, nPerRow, nrows: rows, firstRow,
        src: bytes, dst: buffers.take(dstBytes), imatrix: slice,
      });
      buffers.give(done.src);
      return done.dst;
    });
    yield { tensorIndex: index, bytesIn: length, result };
    r += rows;
  }
}

// Streaming GGUF v3 writer. The header goes first; tensor data is then appended in tensor order and
// the writer inserts the alignment padding (after the last tensor too, as llama.cpp does). Output
// goes to a temp file next to the destination, hashed (sha256) as it is written, fsynced and renamed
// over the destination on finish(); on failure or abort the temp file is removed. A temp file whose
// process was killed (SIGKILL, power loss) is named `.<output name>.<pid>.<hex>.partial`; the next
// writer of the same output removes it once that process is gone (sweepStalePartials).
//
// Memory stays bounded: small chunks are gathered into one buffer and written in large sequential
// writes; chunks at least half that size go straight to disk. Each call resolves once its bytes are
// copied or written, so awaiting it is the backpressure.

import { open, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { CancelledError, QuantfitError, quantfitError, reasonOf } from '../errors.ts';
import type { MessageCode } from '../../../src-shared/messages/index.ts';
import { encodeGgufHeader, type GgufLayout, type GgufWriteTensor } from './encode.ts';
import type { GgufKv } from './types.ts';
import { sweepLeftovers } from '../leftovers.ts';

export { ggufLayout, ggufTensorByteSize, ggufAlignment, type GgufLayout, type GgufWriteTensor } from './encode.ts';

export interface GgufWriterOptions {
  readonly kv: readonly GgufKv[];
  readonly tensors: readonly GgufWriteTensor[];
  /** Must match general.alignment in `kv` (default 32) when given. */
  readonly alignment?: number;
  /** Aborting removes the temp file; later calls reject with CancelledError. */
  readonly signal?: AbortSignal;
  /** Size of the gathering buffer (default 8 MiB). */
  readonly bufferBytes?: number;
}

export interface GgufWriteResult {
  readonly path: string;
  readonly bytes: number;
  readonly sha256: string;
}

const DEFAULT_BUFFER_BYTES = 8 << 20;
/** Written data is flushed to disk in the background every this many bytes, so finish()'s fsync is short. */
const BACKGROUND_SYNC_BYTES = 64 << 20;
/** Zeros for padding; padding never exceeds the alignment, which general.alignment limits to u32. */
let zeros = Buffer.alloc(4096);
function zeroBytes(n: number): Buffer {
  if (zeros.length < n) zeros = Buffer.alloc(n);
  return zeros.subarray(0, n);
}

type State = 'open' | 'finished' | 'failed' | 'aborted';

export class GgufWriter {
  /** Exact offsets and sizes of the file being written. */
  readonly layout: GgufLayout;
  readonly alignment: number;
  private state: State = 'open';
  private readonly hash: Hash = createHash('sha256');
  private digest: string | undefined;
  /** Two gathering buffers: one fills while the other is being written. */
  private readonly bufs: [Buffer, Buffer];
  private cur = 0;
  private bufLen = 0;
  /** The one write in flight (a flushed buffer), and its error once it failed. */
  private inflight: Promise<void> | undefined;
  private writeError: unknown;
  /** File position of the next write (bytes handed to or reserved for the OS). */
  private filePos = 0;
  /** Bytes accepted so far (written or buffered). */
  private accepted = 0;
  private tensorIndex = 0;
  /** File position up to which a background datasync has completed, and the one running. */
  private syncedPos = 0;
  private bgSync: Promise<void> | undefined;
  private tensorLeft: number;
  /** Calls run one after another, even when the caller does not await between them. */
  private queue: Promise<void> = Promise.resolve();
  private pending = 0;
  private cleaning: Promise<void> | undefined;
  private readonly onAbort = () => { void this.abort(); };

  private constructor(
    readonly destPath: string,
    readonly tempPath: string,
    private fh: FileHandle | undefined,
    private readonly tensors: readonly GgufWriteTensor[],
    private readonly tensorBytes: readonly number[],
    layout: GgufLayout,
    alignment: number,
    bufferBytes: number,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.layout = layout;
    this.alignment = alignment;
    this.bufs = [Buffer.allocUnsafe(bufferBytes), Buffer.allocUnsafe(bufferBytes)];
    this.tensorLeft = tensorBytes[0] ?? 0;
    signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  /** Validates the header, creates the temp file in dest's folder and writes the header. */
  static async create(destPath: string, opts: GgufWriterOptions): Promise<GgufWriter> {
    if (opts.signal?.aborted) throw new CancelledError();
    const header = encodeGgufHeader(opts.kv, opts.tensors, opts.alignment, { file: destPath });
    const dir = dirname(destPath);
    try {
      const st = await stat(destPath);
      if (st.isDirectory()) throw quantfitError('gguf.outputIsDir', {}, { file: destPath });
    } catch (err) {
      if (err instanceof QuantfitError) throw err;
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError('gguf.cannotCheckOutput', destPath, err);
    }
    await sweepStalePartials(destPath);
    const tempPath = join(dir, `.${basename(destPath)}.${process.pid}.${randomBytes(4).toString('hex')}.partial`);
    let fh: FileHandle;
    try {
      fh = await open(tempPath, 'wx');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'gguf.outputFolderMissing' : code === 'EACCES' ? 'gguf.outputFolderDenied' : 'gguf.cannotCreateTemp';
      throw ioError(why, destPath, err);
    }
    const bufferBytes = Math.max(64 << 10, opts.bufferBytes ?? DEFAULT_BUFFER_BYTES);
    const w = new GgufWriter(destPath, tempPath, fh, opts.tensors, header.tensorBytes, header.layout, header.alignment, bufferBytes, opts.signal);
    await w.enqueue(() => w.emit(header.bytes));
    return w;
  }

  /** sha256 (hex) of the whole file, available once finish() has succeeded. */
  get sha256(): string | undefined {
    return this.digest;
  }

  /** Bytes accepted so far, header and padding included. */
  get bytesWritten(): number {
    return this.accepted;
  }

  /** Index of the tensor the next data byte belongs to (tensors.length when all are complete). */
  get currentTensor(): number {
    return this.tensorIndex;
  }

  /**
   * Appends tensor data: the bytes of tensor 0, then tensor 1, ...; chunks may span tensors. The
   * chunk may be reused once the returned promise resolves.
   */
  writeTensorData(chunk: Uint8Array): Promise<void> {
    // Fast path for small chunks (row by row writers): copy synchronously when nothing is queued,
    // the chunk stays within the current tensor and it fits in the buffer with its padding.
    if (this.pending === 0 && this.state === 'open' && !this.signal?.aborted && chunk.length > 0 && chunk.length <= this.tensorLeft) {
      const closes = chunk.length === this.tensorLeft;
      const pad = closes ? this.padAfter(this.tensorIndex) : 0;
      if (this.bufLen + chunk.length + pad <= this.bufs[this.cur].length && chunk.length < this.bufs[0].length / 2) {
        this.gather(chunk);
        this.tensorLeft -= chunk.length;
        if (closes) this.nextTensor(pad);
        return Promise.resolve();
      }
    }
    return this.enqueue(async () => {
      let off = 0;
      while (off < chunk.length) {
        if (this.tensorIndex >= this.tensors.length) {
          throw quantfitError('gguf.tooMuchData', { extra: chunk.length - off, count: this.tensors.length }, { file: this.destPath });
        }
        const take = Math.min(this.tensorLeft, chunk.length - off);
        await this.emit(chunk.subarray(off, off + take));
        off += take;
        this.tensorLeft -= take;
        if (this.tensorLeft === 0) {
          const pad = this.padAfter(this.tensorIndex);
          if (pad > 0) await this.emit(zeroBytes(pad));
          this.nextTensor(0);
        }
      }
    });
  }

  /** Pads, flushes, fsyncs and renames over the destination. */
  finish(): Promise<GgufWriteResult> {
    let result: GgufWriteResult | undefined;
    const done = this.enqueue(async () => {
      if (this.tensorIndex < this.tensors.length) {
        const t = this.tensors[this.tensorIndex];
        const got = this.tensorBytes[this.tensorIndex] - this.tensorLeft;
        throw quantfitError('gguf.dataIncomplete', { got, need: this.tensorBytes[this.tensorIndex]! }, { file: this.destPath, tensor: t.name });
      }
      await this.flush();
      await this.settle();
      if (this.filePos !== this.layout.totalBytes) {
        throw quantfitError('gguf.wroteWrongSize', { wrote: this.filePos, expected: this.layout.totalBytes }, { file: this.destPath });
      }
      const fh = this.fh!;
      try {
        await this.bgSync;
        await fh.sync();
        this.fh = undefined;
        await fh.close();
        await rename(this.tempPath, this.destPath);
      } catch (err) {
        throw ioError('gguf.cannotComplete', this.destPath, err);
      }
      await syncDir(dirname(this.destPath));
      this.state = 'finished';
      this.signal?.removeEventListener('abort', this.onAbort);
      this.digest = this.hash.digest('hex');
      result = { path: this.destPath, bytes: this.filePos, sha256: this.digest };
    });
    return done.then(() => result!);
  }

  /** Stops and removes the temp file; safe to call at any time, any number of times. */
  async abort(): Promise<void> {
    if (this.state === 'finished') return;
    if (this.state === 'open') this.state = 'aborted';
    // Let a call in flight settle before closing the file under it.
    await this.queue.catch(() => undefined);
    await this.inflight;
    await this.cleanup();
  }

  private enqueue(op: () => Promise<void>): Promise<void> {
    const run = async () => {
      try {
        if (this.signal?.aborted || this.state === 'aborted') throw new CancelledError();
        if (this.state !== 'open') throw quantfitError('gguf.writerState', { state: this.state }, { file: this.destPath });
        try {
          await op();
        } catch (err) {
          if (this.state === 'open') {
            this.state = 'failed';
            await this.inflight;
            await this.cleanup();
          }
          throw err;
        }
      } finally {
        this.pending--;
      }
    };
    this.pending++;
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private padAfter(index: number): number {
    const size = this.tensorBytes[index];
    return (this.alignment - (size % this.alignment)) % this.alignment;
  }

  /** Closes the current tensor (gathering `pad` zero bytes when given) and moves to the next. */
  private nextTensor(pad: number): void {
    if (pad > 0) this.gather(zeroBytes(pad));
    this.tensorIndex++;
    this.tensorLeft = this.tensorBytes[this.tensorIndex] ?? 0;
  }

  /** Hashes and copies bytes that fit in the current buffer. */
  private gather(bytes: Uint8Array): void {
    this.hash.update(bytes);
    this.accepted += bytes.length;
    this.bufs[this.cur].set(bytes, this.bufLen);
    this.bufLen += bytes.length;
  }

  /** Hashes and buffers (or writes) bytes in file order. */
  private async emit(bytes: Uint8Array): Promise<void> {
    const buf = this.bufs[this.cur];
    if (bytes.length >= buf.length / 2) {
      // Large chunk: straight to disk, hashed while the OS writes it.
      await this.flush();
      await this.settle();
      const write = this.writeAt(bytes, this.reserve(bytes.length));
      this.hash.update(bytes);
      this.accepted += bytes.length;
      await write;
      return;
    }
    if (this.bufLen + bytes.length > buf.length) await this.flush();
    this.gather(bytes);
  }

  /** Starts writing the current buffer and switches to the other one (after its write is done). */
  private async flush(): Promise<void> {
    if (this.bufLen === 0) return;
    await this.settle();
    const data = this.bufs[this.cur].subarray(0, this.bufLen);
    this.inflight = this.writeAt(data, this.reserve(data.length)).catch((err: unknown) => { this.writeError = err; });
    this.cur ^= 1;
    this.bufLen = 0;
  }

  /** Waits for the write in flight; rethrows its error. */
  private async settle(): Promise<void> {
    await this.inflight;
    this.inflight = undefined;
    if (this.writeError !== undefined) throw this.writeError;
    this.backgroundSync();
  }

  /** Starts a datasync of what is written so far, at most one at a time; finish()'s fsync reports errors. */
  private backgroundSync(): void {
    const fh = this.fh;
    if (!fh || this.bgSync || this.filePos - this.syncedPos < BACKGROUND_SYNC_BYTES) return;
    const upTo = this.filePos;
    this.bgSync = fh.datasync().then(
      () => { this.syncedPos = upTo; },
      () => undefined,
    ).finally(() => { this.bgSync = undefined; });
  }

  private reserve(n: number): number {
    const at = this.filePos;
    this.filePos += n;
    return at;
  }

  private async writeAt(bytes: Uint8Array, position: number): Promise<void> {
    const fh = this.fh;
    if (!fh) throw quantfitError('gguf.writerClosed', {}, { file: this.destPath });
    let done = 0;
    while (done < bytes.length) {
      let n: number;
      try {
        ({ bytesWritten: n } = await fh.write(bytes, done, Math.min(bytes.length - done, 1 << 30), position + done));
      } catch (err) {
        throw ioError('gguf.writeFailed', this.destPath, err);
      }
      done += n;
    }
  }

  /** Closes and removes the temp file, once; every caller waits for the same cleanup. */
  private cleanup(): Promise<void> {
    this.cleaning ??= (async () => {
      this.signal?.removeEventListener('abort', this.onAbort);
      const fh = this.fh;
      this.fh = undefined;
      await this.bgSync;
      await fh?.close().catch(() => undefined);
      await unlink(this.tempPath).catch(() => undefined);
    })();
    return this.cleaning;
  }
}

/**
 * Removes the temp files an earlier, killed writer of `destPath` left in its folder: only names this
 * writer makes for this output, whose process is no longer running and which have not changed for a
 * minute. Best effort; returns the paths removed.
 */
export function sweepStalePartials(destPath: string, now: number = Date.now()): Promise<string[]> {
  const prefix = `.${basename(destPath)}.`.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return sweepLeftovers(dirname(destPath), { name: new RegExp(`^${prefix}(\\d{1,10})\\.[0-9a-f]{8}\\.partial$`), kind: 'file' }, now);
}

/** `code` names the step that failed; `{error}` is the OS's reason (ENOSPC, EACCES … in the reader's language). */
function ioError(code: MessageCode, file: string, err: unknown): QuantfitError {
  return quantfitError(code, { error: reasonOf(err) }, { file }, err);
}

/** Makes the rename durable; some filesystems refuse fsync on a directory, which is harmless. */
async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // best effort
  }
}

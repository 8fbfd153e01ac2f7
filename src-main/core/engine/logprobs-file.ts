// The reference model's log-probabilities, in the file format llama-perplexity writes with
// `--kl-divergence-base` (and reads with `--kl-divergence`), so either tool can use the other's file:
//
//   "_logits_"  u32 n_ctx  i32 n_vocab  i32 n_chunk  i32 tokens[n_ctx · n_chunk]
//   per chunk, per scored position (n_ctx − 1 − n_ctx/2 of them): nv = 2·⌈n_vocab/2⌉ + 4 u16 —
//   f32 scale, f32 min_log_prob, then each token's log-prob quantized to 16 bits over the top 16 nats.
//
// Written to a temp file renamed at the end; a cancelled or failed pass leaves nothing behind.

import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { quantfitError } from '../errors.ts';

const MAGIC = '_logits_';
const HEADER_BYTES = 8 + 4 + 4 + 4;

/** u16 entries per scored position (llama.cpp's `nv`). */
export function logProbRowLength(nVocab: number): number {
  return 2 * Math.floor((nVocab + 1) / 2) + 4;
}

/** Scored positions per chunk: the second half of the context, minus the last token (nothing to predict). */
export function scoredPerChunk(ctx: number): number {
  return ctx - 1 - Math.floor(ctx / 2);
}

export interface LogProbsHeader {
  readonly ctx: number;
  readonly nVocab: number;
  readonly chunks: number;
  /** ctx · chunks tokens, as evaluated (before the BOS substitution at each chunk start). */
  readonly tokens: Int32Array;
}

function chunkBytes(h: { ctx: number; nVocab: number }): number {
  return scoredPerChunk(h.ctx) * logProbRowLength(h.nVocab) * 2;
}

function dataStart(h: { ctx: number; chunks: number }): number {
  return HEADER_BYTES + h.ctx * h.chunks * 4;
}

/** Size of the file for `chunks` chunks of `ctx` tokens over a vocabulary of `nVocab`: header, tokens, rows. */
export function logProbsFileBytes(h: { ctx: number; nVocab: number; chunks: number }): number {
  return dataStart(h) + h.chunks * chunkBytes(h);
}

/** Rounds to nearest, ties to even (llama.cpp's nearest_int float trick). */
function nearestInt(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && (r & 1) !== 0 ? r - 1 : r;
}

/**
 * Quantizes one position's logits into `row` (length logProbRowLength) as llama-perplexity does and
 * returns the negative log-likelihood of `token`.
 */
export function encodeLogProbRow(logits: Float32Array, offset: number, nVocab: number, token: number, row: Uint16Array): number {
  const f = Math.fround;
  let maxLogit = logits[offset]!;
  let minLogit = maxLogit;
  for (let i = 1; i < nVocab; i++) {
    const l = logits[offset + i]!;
    if (l > maxLogit) maxLogit = l;
    if (l < minLogit) minLogit = l;
  }
  minLogit = Math.max(minLogit, f(maxLogit - 16));
  let sumExp = 0;
  for (let i = 0; i < nVocab; i++) sumExp += f(Math.exp(f(logits[offset + i]! - maxLogit)));
  const logSumExp = f(Math.log(sumExp));
  const minLogProb = f(f(minLogit - maxLogit) - logSumExp);
  const scale = f(f(maxLogit - minLogit) / 65535);
  const head = new Float32Array(row.buffer, row.byteOffset, 2);
  head[0] = scale;
  head[1] = minLogProb;
  if (scale !== 0) {
    const invScale = f(1 / scale);
    for (let i = 0; i < nVocab; i++) {
      const l = logits[offset + i]!;
      row[4 + i] = l > minLogit ? nearestInt(f(invScale * f(l - minLogit))) : 0;
    }
  } else {
    row.fill(0, 4, 4 + nVocab);
  }
  return f(f(maxLogit + logSumExp) - logits[offset + token]!);
}

/** Writes a log-probs file chunk by chunk. */
export class LogProbsWriter {
  private written = 0;
  private constructor(
    private readonly fh: FileHandle,
    private readonly tempPath: string,
    readonly path: string,
    private readonly header: LogProbsHeader,
  ) {}

  static async create(path: string, header: LogProbsHeader): Promise<LogProbsWriter> {
    const tempPath = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.partial`);
    const fh = await open(tempPath, 'wx');
    const head = Buffer.alloc(HEADER_BYTES);
    head.write(MAGIC, 0, 'latin1');
    head.writeUInt32LE(header.ctx, 8);
    head.writeInt32LE(header.nVocab, 12);
    head.writeInt32LE(header.chunks, 16);
    try {
      await fh.write(head, 0, head.length, 0);
      const tokens = Buffer.from(header.tokens.buffer, header.tokens.byteOffset, header.ctx * header.chunks * 4);
      await fh.write(tokens, 0, tokens.length, HEADER_BYTES);
    } catch (err) {
      await fh.close();
      await unlink(tempPath).catch(() => undefined);
      throw err;
    }
    return new LogProbsWriter(fh, tempPath, path, header);
  }

  /** Appends one chunk: scoredPerChunk(ctx) rows of logProbRowLength(nVocab) u16. */
  async writeChunk(rows: Uint16Array): Promise<void> {
    const bytes = chunkBytes(this.header);
    if (rows.byteLength !== bytes) throw new Error(`log-probs chunk is ${rows.byteLength} bytes, expected ${bytes}`);
    await this.fh.write(new Uint8Array(rows.buffer, rows.byteOffset, bytes), 0, bytes, dataStart(this.header) + this.written * bytes);
    this.written++;
  }

  async finish(): Promise<void> {
    if (this.written !== this.header.chunks) throw new Error(`log-probs file has ${this.written} of ${this.header.chunks} chunks`);
    await this.fh.sync();
    await this.fh.close();
    await rename(this.tempPath, this.path);
  }

  async abort(): Promise<void> {
    await this.fh.close().catch(() => undefined);
    await unlink(this.tempPath).catch(() => undefined);
  }
}

/** Reads a log-probs file's header and chunks. */
export class LogProbsReader {
  private constructor(
    private readonly fh: FileHandle,
    readonly path: string,
    readonly header: LogProbsHeader,
  ) {}

  static async open(path: string): Promise<LogProbsReader> {
    const fh = await open(path, 'r');
    try {
      const head = Buffer.alloc(HEADER_BYTES);
      const { bytesRead } = await fh.read(head, 0, HEADER_BYTES, 0);
      if (bytesRead !== HEADER_BYTES || head.toString('latin1', 0, 8) !== MAGIC) {
        throw quantfitError('engine.logprobs.notLogprobs', {}, { file: path });
      }
      const ctx = head.readUInt32LE(8);
      const nVocab = head.readInt32LE(12);
      const chunks = head.readInt32LE(16);
      if (ctx < 2 || nVocab < 1 || chunks < 1) throw quantfitError('engine.logprobs.badHeader', { ctx, vocab: nVocab, chunks }, { file: path });
      const size = (await fh.stat()).size;
      const expected = logProbsFileBytes({ ctx, nVocab, chunks });
      if (size !== expected) throw quantfitError('engine.logprobs.badSize', { size, expected }, { file: path });
      const tokens = new Int32Array(ctx * chunks);
      await fh.read(new Uint8Array(tokens.buffer), 0, tokens.byteLength, HEADER_BYTES);
      return new LogProbsReader(fh, path, { ctx, nVocab, chunks, tokens });
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  /** Chunk `index`'s rows (scoredPerChunk(ctx) × logProbRowLength(nVocab) u16), into `into` when given. */
  async readChunk(index: number, into?: Uint16Array): Promise<Uint16Array> {
    const bytes = chunkBytes(this.header);
    const out = into ?? new Uint16Array(bytes / 2);
    if (out.byteLength !== bytes) throw new Error(`log-probs chunk is ${bytes} bytes, the buffer ${out.byteLength}`);
    const { bytesRead } = await this.fh.read(new Uint8Array(out.buffer, out.byteOffset, bytes), 0, bytes, dataStart(this.header) + index * bytes);
    if (bytesRead !== bytes) throw quantfitError('engine.logprobs.truncated', { chunk: index }, { file: this.path });
    return out;
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

// How llama-perplexity and llama-imatrix walk a text: tokenized once (BOS first when the vocab adds
// one), cut into chunks of `ctx` tokens, each chunk evaluated from an empty cache with its first
// token replaced by BOS. Both tools need at least two chunks' worth of tokens.

import { quantfitError } from '../errors.ts';
import { RateMeter, type JobEvent, type Stage } from '../progress.ts';
import { LlamaContext, type DecodeBatch, type LlamaModel } from './llama.ts';

export interface ChunkPlan {
  readonly ctx: number;
  readonly chunks: number;
  /** The whole text's tokens (at least ctx · chunks). */
  readonly tokens: Int32Array;
}

export interface PlanChunksOptions {
  readonly ctx: number;
  /** At most this many chunks (default: as many as the text holds). */
  readonly maxChunks?: number;
  /** The text's file, for error messages. */
  readonly textFile?: string;
}

export function planChunks(model: LlamaModel, text: string, options: PlanChunksOptions): ChunkPlan {
  const { ctx } = options;
  if (model.addEos) throw quantfitError('engine.appendsEos', {}, { file: model.path });
  const tokens = model.tokenize(text, true, false);
  if (tokens.length < 2 * ctx) {
    throw quantfitError('engine.textTooShort', { tokens: tokens.length, ctx, needed: 2 * ctx }, { file: options.textFile });
  }
  const fit = Math.floor(tokens.length / ctx);
  const chunks = options.maxChunks === undefined ? fit : Math.min(options.maxChunks, fit);
  return { ctx, chunks, tokens };
}

/** llama.cpp's tools' logical batch (common_params.n_batch): chunks are evaluated this many tokens at a time. */
export const TOOLS_BATCH = 2048;

/** llama.cpp's tools' micro-batch (common_params.n_ubatch): the tokens of one graph computation. */
export const TOOLS_UBATCH = 512;

/** How llama-perplexity and llama-imatrix lay chunks out: n_seq chunks side by side per decode, as sequences. */
export interface ChunkLayout {
  readonly ctx: number;
  /** Chunks evaluated together, one sequence each (1 when a chunk is longer than half the batch). */
  readonly nSeq: number;
  /** KV cells: nSeq · ctx. */
  readonly nKv: number;
  /** Tokens per llama_decode. */
  readonly nBatch: number;
}

export function chunkLayout(ctx: number, batch = TOOLS_BATCH): ChunkLayout {
  const nSeq = Math.max(1, Math.floor(batch / ctx));
  const nKv = nSeq * ctx;
  return { ctx, nSeq, nKv, nBatch: Math.min(batch, nKv) };
}

/** A context for `layout`; `outputFrom`: the first position of each chunk that produces logits. */
export function createChunkContext(
  model: LlamaModel,
  layout: ChunkLayout,
  options: { outputFrom: number; threads?: number; onEval?: (node: bigint, ask: boolean) => boolean },
): LlamaContext {
  const outputsPerDecode = Math.min(layout.nBatch, layout.nSeq * (layout.ctx - options.outputFrom));
  return LlamaContext.create(model, {
    nCtx: layout.nKv, nBatch: layout.nBatch, nUbatch: TOOLS_UBATCH, nSeq: layout.nSeq, maxOutputs: Math.max(1, outputsPerDecode), threads: options.threads, onEval: options.onEval,
  });
}

/** One gather buffer per context (a chunk longer than the batch), reused from group to group. */
const gatherBuffers = new WeakMap<LlamaContext, Float32Array>();

function gatherBuffer(context: LlamaContext, floats: number): Float32Array {
  let buffer = gatherBuffers.get(context);
  if (!buffer || buffer.length !== floats) {
    buffer = new Float32Array(floats);
    gatherBuffers.set(context, buffer);
  }
  return buffer;
}

/**
 * Evaluates chunks first…first+count−1 (count ≤ nSeq) from an empty cache, as sequences 0…count−1,
 * each with BOS first when the vocab adds one; positions ≥ outputFrom produce logits. With `onChunk`,
 * each chunk's logits rows ((ctx − outputFrom) × nVocab) are handed over in chunk order; they are
 * valid until the next decode on `context` (llama.cpp's output buffer, or one buffer per context).
 */
export async function decodeChunkGroup(
  context: LlamaContext,
  plan: ChunkPlan,
  layout: ChunkLayout,
  first: number,
  count: number,
  options: { outputFrom: number; signal?: AbortSignal; onChunk?: (chunk: number, logits: Float32Array) => void },
): Promise<void> {
  const { ctx, nBatch } = layout;
  const model = context.model;
  const nVocab = model.nVocab;
  const rowsPerChunk = ctx - options.outputFrom;
  // A chunk longer than the batch (then count is 1) gathers its logits over several decodes.
  const gathered = options.onChunk && ctx > nBatch ? gatherBuffer(context, rowsPerChunk * nVocab) : undefined;
  let gatheredRows = 0;
  context.clear();
  for (let batchStart = 0; batchStart < ctx; batchStart += nBatch) {
    const size = Math.min(ctx - batchStart, nBatch);
    const batch = groupBatch(model, plan, first, count, batchStart, size, options.outputFrom);
    const outputs = await context.decode(batch, options.signal);
    if (!options.onChunk || outputs === 0) continue;
    const logits = context.logits(outputs);
    if (gathered) {
      gathered.set(logits, gatheredRows * nVocab);
      gatheredRows += outputs;
    } else {
      for (let s = 0; s < count; s++) options.onChunk(first + s, logits.subarray(s * rowsPerChunk * nVocab, (s + 1) * rowsPerChunk * nVocab));
    }
  }
  if (gathered && options.onChunk) options.onChunk(first, gathered);
}

/**
 * As decodeChunkGroup with every position producing logits and none read, one llama.cpp micro-batch per
 * decode, cut as llama.cpp cuts the group's batch itself (llama_batch_allocr split_equal: ⌊n_ubatch / count⌋
 * tokens of every sequence, side by side; one sequence: n_ubatch tokens), so llama.cpp computes the same
 * graphs over the same tokens in the same order, while its output buffer (n_vocab floats per output,
 * cleared when allocated, written by every decode) holds one micro-batch's logits, not the batch's.
 * Every position must still produce logits: the last layer runs only over the outputs (llama.cpp's
 * inp_out_ids), and llama-imatrix asks for them all.
 */
export async function decodeChunkGroupByMicroBatch(
  context: LlamaContext,
  plan: ChunkPlan,
  layout: ChunkLayout,
  first: number,
  count: number,
  options: { signal?: AbortSignal },
): Promise<void> {
  const { ctx, nBatch } = layout;
  const perSequence = Math.max(1, Math.floor(context.nUbatch / count));
  context.clear();
  for (let batchStart = 0; batchStart < ctx; batchStart += nBatch) {
    const batchEnd = Math.min(ctx, batchStart + nBatch);
    for (let from = batchStart; from < batchEnd; from += perSequence) {
      const size = Math.min(perSequence, batchEnd - from);
      await context.decode(groupBatch(context.model, plan, first, count, from, size, 0), options.signal);
    }
  }
}

/** Positions from…from+size−1 of chunks first…first+count−1, sequence by sequence (BOS at position 0). */
function groupBatch(model: LlamaModel, plan: ChunkPlan, first: number, count: number, from: number, size: number, outputFrom: number): DecodeBatch {
  const n = size * count;
  const batch = { tokens: new Int32Array(n), pos: new Int32Array(n), seq: new Int32Array(n), output: new Int8Array(n) };
  for (let s = 0; s < count; s++) {
    const chunkStart = (first + s) * plan.ctx;
    for (let k = 0; k < size; k++) {
      const i = s * size + k;
      const pos = from + k;
      batch.tokens[i] = pos === 0 && model.addBos ? model.bos : plan.tokens[chunkStart + pos]!;
      batch.pos[i] = pos;
      batch.seq[i] = s;
      batch.output[i] = pos >= outputFrom ? 1 : 0;
    }
  }
  return batch;
}

/** Progress in tokens evaluated, as JobEvents with rate and ETA. */
export class TokenProgress {
  private readonly meter: RateMeter;
  private done = 0;
  constructor(
    private readonly stage: Stage,
    private readonly total: number,
    private readonly onEvent: ((e: JobEvent) => void) | undefined,
  ) {
    this.meter = new RateMeter(total);
  }

  add(tokens: number): void {
    this.done += tokens;
    const { rate, etaSeconds } = this.meter.update(this.done);
    this.onEvent?.({ type: 'progress', stage: this.stage, unit: 'tokens', done: this.done, total: this.total, rate, etaSeconds });
  }
}

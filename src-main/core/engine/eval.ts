// How far a quantized model strays from its reference, measured as `llama-perplexity --kl-divergence`
// measures it: the reference's log-probs over the text (computed once, cached), then the candidate's
// logits scored against them — perplexity of both, KL divergence, same-top-token rate, RMS Δp.

import { createHash } from 'node:crypto';
import { mkdir, realpath, unlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { quantfitError, throwIfAborted } from '../errors.ts';
import type { JobEvent } from '../progress.ts';
import { LlamaModel } from './llama.ts';
import { chunkLayout, createChunkContext, decodeChunkGroup, planChunks, TokenProgress, type ChunkPlan } from './chunks.ts';
import { encodeLogProbRow, logProbRowLength, LogProbsReader, LogProbsWriter, scoredPerChunk } from './logprobs-file.ts';
import { KldAccumulator, type KldSummary } from './kld.ts';
import { EngineModels, loadVocabulary, modelIdentity, type EngineRun } from './model-input.ts';
import { pathExists } from '../fs-util.ts';

export const DEFAULT_EVAL_CTX = 512;
/** 32 chunks of 512 tokens: ~8k scored tokens, enough to order quant types; the reference cache stays small. */
export const DEFAULT_EVAL_CHUNKS = 32;

export interface EvalOptions {
  readonly text: string;
  /** Where the text came from (messages). */
  readonly textFile?: string;
  readonly ctx?: number;
  readonly chunks?: number;
  readonly threads?: number;
  /** Folder for the reference's log-probs (reused by later evaluations against the same reference). */
  readonly cacheDir: string;
  /**
   * The job's models for llama.cpp (a folder converted once, shared with its other steps; the caller
   * releases them). Default: this evaluation's own, converting into cacheDir and released at the end.
   */
  readonly models?: EngineModels;
  readonly signal?: AbortSignal;
  readonly onEvent?: (e: JobEvent) => void;
}

export interface EvalResult extends KldSummary {
  readonly ctx: number;
  readonly chunks: number;
  /** Tokens scored (positions in the second half of every chunk). */
  readonly tokens: number;
  /** The reference's log-probs file and whether it was already there. */
  readonly referenceCache: { readonly path: string; readonly reused: boolean };
}

/**
 * The cache file for `reference` (a GGUF file or a model folder) evaluated over `text` at `ctx`:
 * keyed by the model's identity (modelIdentity), the text and ctx.
 */
export async function referenceCachePath(reference: string, text: string, ctx: number, cacheDir: string): Promise<string> {
  const real = await realpath(reference);
  const key = createHash('sha256')
    .update(JSON.stringify({ format: 1, ...(await modelIdentity(real)), ctx, text: createHash('sha256').update(text).digest('hex') }))
    .digest('hex')
    .slice(0, 16);
  return join(cacheDir, `${basename(real).replace(/\.gguf$/i, '')}.${key}.logprobs`);
}

/** An existing cache file good for `chunks` chunks (or any count when undefined), else undefined. */
async function openCache(path: string, ctx: number, chunks: number | undefined): Promise<LogProbsReader | undefined> {
  let reader: LogProbsReader;
  try {
    reader = await LogProbsReader.open(path);
  } catch {
    await unlink(path).catch(() => undefined);
    return undefined;
  }
  if (reader.header.ctx === ctx && (chunks === undefined || reader.header.chunks >= chunks)) return reader;
  await reader.close();
  return undefined;
}

/** Runs the reference over the text and writes its log-probs to `path`. */
async function writeReferenceLogProbs(
  model: LlamaModel,
  plan: ChunkPlan,
  path: string,
  options: { threads?: number; signal?: AbortSignal; progress: TokenProgress },
): Promise<void> {
  const { ctx } = plan;
  const first = Math.floor(ctx / 2);
  const scored = scoredPerChunk(ctx);
  const nVocab = model.nVocab;
  const nv = logProbRowLength(nVocab);
  const layout = chunkLayout(ctx);
  const context = createChunkContext(model, layout, { outputFrom: first, threads: options.threads });
  const writer = await LogProbsWriter.create(path, { ctx, nVocab, chunks: plan.chunks, tokens: plan.tokens.subarray(0, ctx * plan.chunks) });
  // One group's encoded rows, reused: each is written before the next group is decoded.
  const encoded = Array.from({ length: layout.nSeq }, () => new Uint16Array(scored * nv));
  try {
    for (let c = 0; c < plan.chunks; c += layout.nSeq) {
      throwIfAborted(options.signal);
      const count = Math.min(layout.nSeq, plan.chunks - c);
      await decodeChunkGroup(context, plan, layout, c, count, {
        outputFrom: first,
        signal: options.signal,
        onChunk: (chunk, logits) => {
          const rows = encoded[chunk - c]!;
          for (let i = 0; i < scored; i++) {
            encodeLogProbRow(logits, i * nVocab, nVocab, plan.tokens[chunk * ctx + first + i + 1]!, rows.subarray(i * nv, (i + 1) * nv));
          }
        },
      });
      for (let s = 0; s < count; s++) await writer.writeChunk(encoded[s]!);
      options.progress.add(count * ctx);
    }
    await writer.finish();
  } catch (err) {
    await writer.abort();
    throw err;
  } finally {
    context.free();
  }
}

/** Scores `candidate` against the reference log-probs in `reader`. */
async function scoreCandidate(
  model: LlamaModel,
  reader: LogProbsReader,
  chunks: number,
  options: { threads?: number; signal?: AbortSignal; progress: TokenProgress },
): Promise<KldSummary> {
  const { ctx, nVocab, tokens } = reader.header;
  if (model.nVocab !== nVocab) {
    throw quantfitError('engine.vocabMismatch', { candidate: model.nVocab, reference: nVocab }, { file: model.path });
  }
  const first = Math.floor(ctx / 2);
  const scored = scoredPerChunk(ctx);
  const nv = logProbRowLength(nVocab);
  const plan: ChunkPlan = { ctx, chunks, tokens };
  const layout = chunkLayout(ctx);
  const context = createChunkContext(model, layout, { outputFrom: first, threads: options.threads });
  const acc = new KldAccumulator();
  const rows = new Uint16Array(scored * nv);
  try {
    for (let c = 0; c < chunks; c += layout.nSeq) {
      throwIfAborted(options.signal);
      const count = Math.min(layout.nSeq, chunks - c);
      // Views of llama.cpp's output buffer: read before the next decode.
      const chunkLogits: Float32Array[] = [];
      await decodeChunkGroup(context, plan, layout, c, count, { outputFrom: first, signal: options.signal, onChunk: (_chunk, logits) => chunkLogits.push(logits) });
      for (let s = 0; s < count; s++) {
        await reader.readChunk(c + s, rows);
        const logits = chunkLogits[s]!;
        for (let i = 0; i < scored; i++) acc.add(logits, i * nVocab, nVocab, rows, i * nv, tokens[(c + s) * ctx + first + i + 1]!);
      }
      options.progress.add(count * ctx);
    }
  } finally {
    context.free();
  }
  return acc.summary();
}

/**
 * KL divergence and perplexity of `candidate` against `reference` over `options.text`. Each is a GGUF
 * file or a Hugging Face folder (converted for llama.cpp only when its logits are needed: never a
 * reference whose log-probs are cached).
 */
export async function evaluateQuant(reference: string, candidate: string, options: EvalOptions): Promise<EvalResult> {
  const ctx = options.ctx ?? DEFAULT_EVAL_CTX;
  const wantChunks = options.chunks ?? DEFAULT_EVAL_CHUNKS;
  await mkdir(options.cacheDir, { recursive: true });
  const models = options.models ?? new EngineModels({ workDir: options.cacheDir });
  const run: EngineRun = { stage: 'evaluate', ...(options.signal ? { signal: options.signal } : {}), ...(options.onEvent ? { onEvent: options.onEvent } : {}) };
  try {
    const cachePath = await referenceCachePath(reference, options.text, ctx, options.cacheDir);
    const source: ReferenceSource = { gguf: () => models.gguf(reference, run), vocabulary: () => loadVocabulary(reference, options.cacheDir, options.signal) };
    const { reader, chunks, progress, reused } = await referenceLogProbs(source, cachePath, ctx, wantChunks, options);
    try {
      throwIfAborted(options.signal);
      const model = await LlamaModel.load(await models.gguf(candidate, run));
      try {
        const summary = await scoreCandidate(model, reader, chunks, { threads: options.threads, signal: options.signal, progress });
        return { ...summary, ctx, chunks, tokens: summary.count, referenceCache: { path: cachePath, reused } };
      } finally {
        model.free();
      }
    } finally {
      await reader.close();
    }
  } finally {
    if (options.models === undefined) await models.release();
  }
}

/** The reference as llama.cpp loads it: whole (a folder converted), or its vocabulary alone. */
interface ReferenceSource {
  gguf(): Promise<string>;
  vocabulary(): Promise<LlamaModel>;
}

/**
 * The reference's log-probs for `wantChunks` chunks (or all the text holds): from the cache, else
 * computed into it. A cache of fewer chunks is enough when the text holds no more: counted with the
 * reference's vocabulary alone, so a cached folder is never converted.
 */
async function referenceLogProbs(
  reference: ReferenceSource,
  cachePath: string,
  ctx: number,
  wantChunks: number,
  options: EvalOptions,
): Promise<{ reader: LogProbsReader; chunks: number; progress: TokenProgress; reused: boolean }> {
  const reused = (reader: LogProbsReader, chunks: number) => ({ reader, chunks, progress: new TokenProgress('evaluate', ctx * chunks, options.onEvent), reused: true });
  const cached = await openCache(cachePath, ctx, wantChunks);
  if (cached) return reused(cached, wantChunks);
  const plan = { ctx, maxChunks: wantChunks, ...(options.textFile !== undefined ? { textFile: options.textFile } : {}) };
  if (await pathExists(cachePath)) {
    const vocabulary = await reference.vocabulary();
    let held: number;
    try {
      held = planChunks(vocabulary, options.text, plan).chunks;
    } finally {
      vocabulary.free();
    }
    const short = await openCache(cachePath, ctx, held);
    if (short) return reused(short, held);
  }
  const model = await LlamaModel.load(await reference.gguf());
  try {
    const chunks = planChunks(model, options.text, plan);
    const progress = new TokenProgress('evaluate', 2 * ctx * chunks.chunks, options.onEvent);
    await writeReferenceLogProbs(model, chunks, cachePath, { threads: options.threads, signal: options.signal, progress });
    return { reader: await LogProbsReader.open(cachePath), chunks: chunks.chunks, progress, reused: false };
  } finally {
    model.free();
  }
}

// What one of the engine's llama.cpp passes (imatrix, eval) takes, worked out before it starts, so that a
// job can refuse or warn up front instead of paging or failing midway. The engine loads the model on the
// CPU (node-llama-cpp's CPU build, mmap, flash attention auto) with the chunk layout of llama-perplexity and
// llama-imatrix (chunks.ts): n_seq chunks side by side, so the cache holds n_seq · ctx cells. llama.cpp
// keeps every output's logits in its output buffer: eval's scored positions (read there in place), and
// imatrix's every position, one micro-batch per decode (read never).

import { cpuRuntimeBytes, weightResidency, type CpuSimd } from '../advisor/cpu-memory.ts';
import { computeReservationBytes, flashAttentionLayerBytes, kvCacheBytes } from '../advisor/memory.ts';
import { modelParams, type HeaderLike } from '../advisor/model-params.ts';
import type { GgufTensorInfo } from '../gguf/types.ts';
import { chunkLayout, TOOLS_UBATCH } from './chunks.ts';
import { logProbRowLength, logProbsFileBytes, scoredPerChunk } from './logprobs-file.ts';

/** eval scores the second half of each chunk; imatrix asks for every position's logits, as llama-imatrix does. */
export type EnginePass = 'eval' | 'imatrix';

export interface EnginePassMemory {
  /** Weights that must stay resident (mapped, less what the CPU repacks, plus the copies). */
  readonly weightBytes: number;
  /** Mapped pages of repacked weights: resident after the load but clean and never read again (not in totalBytes). */
  readonly reclaimableBytes: number;
  readonly kvBytes: number;
  /** The compute pages touched: eval's many logits per micro-batch, the whole reservation; imatrix's, the layer phase. */
  readonly computeBytes: number;
  /** llama.cpp's output buffer (n_vocab floats per output) and, for eval, a group's encoded rows (and a long chunk's gathered logits). */
  readonly outputBytes: number;
  /** The vocabulary and output buffer llama.cpp keeps for any model (cpu-memory.ts); imatrix's JS side reads the activations in place. */
  readonly runtimeBytes: number;
  readonly totalBytes: number;
}

/** First position of each chunk that asks for logits. */
function outputFrom(pass: EnginePass, ctx: number): number {
  return pass === 'eval' ? Math.floor(ctx / 2) : 0;
}

/**
 * The most outputs one decode asks for, llama.cpp's output buffer in rows (output_reserve): eval's scored
 * positions of a batch; imatrix's, one micro-batch (chunks.ts decodeChunkGroupByMicroBatch).
 */
function outputsPerDecode(pass: EnginePass, ctx: number): number {
  const layout = chunkLayout(ctx);
  if (pass === 'imatrix') return Math.min(TOOLS_UBATCH, layout.nBatch);
  return Math.min(layout.nBatch, layout.nSeq * (ctx - outputFrom(pass, ctx)));
}

/**
 * What eval holds in JS besides llama.cpp's buffer, whose logits it reads in place: the reference's
 * encoded rows for one group (u16, written after the group), and for a chunk longer than the batch
 * its scored logits gathered over several decodes (chunks.ts, one buffer per context).
 */
function evalRowsBytes(nVocab: number, ctx: number): number {
  const layout = chunkLayout(ctx);
  const encoded = layout.nSeq * scoredPerChunk(ctx) * logProbRowLength(nVocab) * 2;
  const gathered = ctx > layout.nBatch ? 4 * nVocab * (ctx - outputFrom('eval', ctx)) : 0;
  return encoded + gathered;
}

/** RAM one pass over `header`'s model takes at chunk size `ctx` (the imatrix's own sums aside: a few floats per column). */
export function enginePassMemory(header: HeaderLike & { readonly tensors: readonly GgufTensorInfo[] }, ctx: number, pass: EnginePass, simd: CpuSimd): EnginePassMemory {
  const params = modelParams(header);
  const layout = chunkLayout(ctx);
  const w = weightResidency(header.tensors, simd);
  const weightBytes = w.mappedBytes - w.reclaimableBytes + w.repackedBytes;
  const kvBytes = kvCacheBytes(params, layout.nKv);
  // imatrix stops the graph at the final norm (imatrix.ts): the output phase's pages are never touched.
  const computeBytes = pass === 'imatrix' ? flashAttentionLayerBytes(params, layout.nKv) : computeReservationBytes(params, layout.nKv);
  const outputBytes = 4 * params.vocabSize * outputsPerDecode(pass, ctx) + (pass === 'eval' ? evalRowsBytes(params.vocabSize, ctx) : 0);
  const runtimeBytes = cpuRuntimeBytes(params);
  return { weightBytes, reclaimableBytes: w.reclaimableBytes, kvBytes, computeBytes, outputBytes, runtimeBytes, totalBytes: weightBytes + kvBytes + computeBytes + outputBytes + runtimeBytes };
}

/** Bytes of the reference's log-probabilities file eval keeps for `chunks` chunks of `ctx` tokens. */
export function referenceCacheBytes(header: HeaderLike, ctx: number, chunks: number): number {
  return logProbsFileBytes({ ctx, nVocab: modelParams(header).vocabSize, chunks });
}

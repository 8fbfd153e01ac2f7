// Runtime memory besides the weights: the KV cache and the compute (graph) buffers, as llama.cpp
// allocates them for a context length.

import { ACTIVATION_BYTES, CTX_PAD, KV_BYTES_PER_ELEMENT, N_UBATCH } from './constants.ts';
import type { ModelParams } from './model-params.ts';

export function padContext(ctx: number): number {
  return Math.ceil(ctx / CTX_PAD) * CTX_PAD;
}

/**
 * Cells the cache of one layer holds: the (padded) context for dense layers; for sliding-window layers
 * llama.cpp's iSWA cache keeps the window plus one micro-batch, padded to 256, never more than the
 * context (llama-kv-cache-iswa.cpp), as llama-server and llama-cli run it (swa_full off; the C API's
 * own default keeps full-size SWA caches). Checked against llama.cpp in test/advisor/llama-parity.test.ts.
 */
export function cacheCells(params: ModelParams, swa: boolean, ctx: number): number {
  const full = padContext(ctx);
  if (!swa || params.slidingWindow <= 0) return full;
  return Math.min(full, padContext(params.slidingWindow + N_UBATCH));
}

/** Bytes of K and V for one layer at this context. */
export function layerKvBytes(params: ModelParams, il: number, ctx: number): number {
  const layer = params.layers[il]!;
  return cacheCells(params, layer.swa, ctx) * (layer.kWidth + layer.vWidth) * KV_BYTES_PER_ELEMENT;
}

/** The whole f16 KV cache: Σ over layers of cells × (n_embd_k_gqa + n_embd_v_gqa) × 2 bytes. */
export function kvCacheBytes(params: ModelParams, ctx: number): number {
  let sum = 0;
  for (let il = 0; il < params.layerCount; il++) sum += layerKvBytes(params, il, ctx);
  return sum;
}

/** Width of the feed-forward activations of one token: n_ff, or the experts used plus the shared one. */
function feedForwardWidth(params: ModelParams): number {
  if (params.expertUsedCount > 0) return params.expertUsedCount * params.expertFeedForwardLength + params.sharedExpertFeedForwardLength;
  return params.feedForwardLength;
}

/** Tokens of the micro-batch llama.cpp reserves its graph for: n_ubatch, or the padded context when shorter. */
export function microBatchTokens(ctx: number): number {
  return Math.min(N_UBATCH, padContext(ctx));
}

/**
 * The largest set of tensors alive at once while a repeating layer runs with flash attention (llama.cpp's
 * default, "auto", resolves to on wherever the backend has the kernel; no KQ matrix is materialised).
 * Per token of the micro-batch, f32: the feed-forward phase (gate, up and their product: 3 × width) and
 * four n_embd-wide tensors alive with it (residual, norm, attention output, input); plus the f16
 * attention masks, n_kv × tokens for the full cache and as much again for the sliding-window cache
 * (build_attn_inp_kq_mask: f16 under flash attention). Checked against llama.cpp's reservation in
 * test/advisor/llama-parity.test.ts. `cellsInUse`: the cache cells filled so far (default: all of them,
 * which is what llama.cpp reserves for, and the worst case of a full context).
 */
export function flashAttentionLayerBytes(params: ModelParams, ctx: number, cellsInUse?: number): number {
  const tokens = microBatchTokens(ctx);
  const activations = ACTIVATION_BYTES * tokens * (3 * feedForwardWidth(params) + 4 * params.embeddingLength);
  return activations + maskBytes(params, ctx, cellsInUse);
}

/** The f16 attention masks of one micro-batch: n_kv × tokens for each cache kind (full, sliding-window). */
export function maskBytes(params: ModelParams, ctx: number, cellsInUse?: number): number {
  const tokens = microBatchTokens(ctx);
  const kinds = new Set(params.layers.filter((l) => l.headCountKv > 0).map((l) => l.swa));
  // The masks span the cells in use (llama.cpp pads them to 256), the whole cache once the context is full.
  const used = (swa: boolean) => Math.min(cacheCells(params, swa, ctx), cellsInUse === undefined ? Infinity : padContext(cellsInUse));
  let bytes = 0;
  for (const swa of kinds) bytes += used(swa) * tokens * MASK_BYTES_PER_ELEMENT;
  return bytes;
}

/** Flash attention takes its mask in f16. */
const MASK_BYTES_PER_ELEMENT = 2;

/**
 * The output phase of a micro-batch whose every token asks for logits, as llama.cpp reserves it by default
 * (n_outputs_max = n_batch; llama-context.cpp's sched_reserve reserves min(n_tokens, n_outputs_max)
 * outputs): f32 logits (n_vocab per token) and two n_embd-wide tensors (the last layer's output and its
 * norm). It follows the layers, whose tensors are freed by then: the buffer is the larger of the two.
 */
export function outputPhaseBytes(params: ModelParams, ctx: number): number {
  return ACTIVATION_BYTES * microBatchTokens(ctx) * (params.vocabSize + 2 * params.embeddingLength);
}

/**
 * The compute buffer llama.cpp reserves when every token of a micro-batch may ask for logits (its default,
 * n_outputs_max = n_batch): the larger of the flash-attention layer phase and the output phase. A GPU
 * allocates all of it; so does a CPU run that asks for many logits (llama.cpp's tools, the engine).
 */
export function computeReservationBytes(params: ModelParams, ctx: number): number {
  return Math.max(flashAttentionLayerBytes(params, ctx), outputPhaseBytes(params, ctx));
}

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
 * context (llama-kv-cache-iswa.cpp).
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

/**
 * Compute buffer estimate. llama.cpp reserves one graph for a micro-batch of N_UBATCH tokens and
 * reuses memory between nodes, so the buffer is the largest set of f32 activations alive at once.
 * Three candidates, the largest wins (all × 4 bytes × n_ubatch):
 *   attention: n_head × kv_cells (the KQ score matrix; flash attention is assumed OFF — the worst
 *              case — and kv_cells is the largest cache of any layer) + 4 × n_embd (Q, K, V, residual)
 *   feed-forward: 2 × n_ff + n_embd (gate and up projections, residual)
 *   output: n_vocab + n_embd (logits for every token of the batch, final norm)
 * Not modelled: backend scratch (cuBLAS workspaces are in the GPU reserve), recurrent state.
 */
export function computeBufferBytes(params: ModelParams, ctx: number): number {
  const tokens = Math.min(N_UBATCH, padContext(ctx));
  let attention = 0;
  for (const layer of params.layers) {
    const cells = cacheCells(params, layer.swa, ctx);
    attention = Math.max(attention, layer.headCount * cells);
  }
  attention += 4 * params.embeddingLength;
  const feedForward = 2 * params.feedForwardLength + params.embeddingLength;
  const output = params.vocabSize + params.embeddingLength;
  return ACTIVATION_BYTES * tokens * Math.max(attention, feedForward, output);
}

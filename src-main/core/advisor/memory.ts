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

/**
 * Compute buffer estimate. llama.cpp reserves one graph for a micro-batch of n_ubatch tokens (512, or
 * the padded context when shorter) and reuses memory between nodes, so the buffer is the largest set of
 * f32 activations alive at once. Three phases, the largest wins (all × 4 bytes × n_ubatch):
 *   attention:    n_head × n_kv (KQ scores) + n_kv (mask) + 5 × n_embd + (n_embd_k_gqa + n_embd_v_gqa)
 *   feed-forward: 3 × n_ff + 5 × n_embd
 *   output:       n_vocab + 2 × n_embd (logits for every token of the batch)
 * n_kv is the cache size of the layer (the window for SWA layers). Flash attention is assumed OFF (the
 * KQ matrix is materialised): the worst case, which llama.cpp falls back to where FA is unsupported.
 * Calibrated on the reference llama.cpp (CPU backend, no_alloc reservation) with LLaMA-7B, Llama-3-8B
 * and 1B shapes at n_ctx 256…8192: exact to 0.01 MiB in the attention and output phases; the
 * feed-forward phase is within 1% at 512 (7B; 7% under at 256). See test/advisor/llama-parity.test.ts.
 * Not modelled: backend scratch (cuBLAS workspaces are in the GPU reserve), recurrent state, the small
 * host output buffer.
 */
export function computeBufferBytes(params: ModelParams, ctx: number): number {
  const tokens = Math.min(N_UBATCH, padContext(ctx));
  const embd = params.embeddingLength;
  let attention = 0;
  for (const layer of params.layers) {
    const cells = cacheCells(params, layer.swa, ctx);
    attention = Math.max(attention, layer.headCount * cells + cells + layer.kWidth + layer.vWidth);
  }
  attention += 5 * embd;
  const feedForward = 3 * params.feedForwardLength + 5 * embd;
  const output = params.vocabSize + 2 * embd;
  return ACTIVATION_BYTES * tokens * Math.max(attention, feedForward, output);
}

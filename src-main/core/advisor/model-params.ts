// The model facts the memory estimate needs, read from a GGUF header the way llama.cpp's loader reads
// them: layer count, widths, per-layer KV heads (GQA), key/value head sizes, sliding-window layers.

import type { GgufHeader, GgufValue } from '../gguf/types.ts';
import { isGgufArray } from '../gguf/types.ts';
import { architecture, kvGet, toNumber } from '../gguf/metadata.ts';
import { quantfitError } from '../errors.ts';

export type HeaderLike = Pick<GgufHeader, 'kv' | 'tensors'> & { readonly path?: string };

/**
 * Architectures with sliding-window attention layers, and the layer pattern their llama.cpp loader
 * uses when the file carries no `<arch>.attention.sliding_window_pattern` (src/models/<arch>.cpp):
 * in each group of `pattern` layers the last one is dense (or the first, with denseFirst); pattern 0
 * makes every layer SWA. `defaultWindow` is the window assumed when the file has no
 * `<arch>.attention.sliding_window`; without it, SWA is on only when the file gives a window > 0.
 */
export const SWA_ARCHITECTURES: Readonly<Record<string, { readonly pattern: number; readonly denseFirst?: boolean; readonly defaultWindow?: number; readonly onlyWithLayers?: number }>> = {
  gemma2: { pattern: 2, defaultWindow: 4096 },
  gemma3: { pattern: 6 },
  gemma3n: { pattern: 5 },
  gemma4: { pattern: 0 },
  cohere2: { pattern: 4 },
  cohere2moe: { pattern: 4, denseFirst: true },
  llama4: { pattern: 4, defaultWindow: 8192 },
  'gpt-oss': { pattern: 2 },
  olmo2: { pattern: 4 },
  exaone4: { pattern: 4, defaultWindow: 4096, onlyWithLayers: 64 },
  'exaone-moe': { pattern: 4, defaultWindow: 128 },
  afmoe: { pattern: 4 },
  smallthinker: { pattern: 4, denseFirst: true, defaultWindow: 4096 },
  plamo3: { pattern: 8 },
  mellum: { pattern: 4 },
};

export interface LayerAttention {
  /** KV heads of this layer (0: the layer keeps no KV cache, e.g. a recurrent layer). */
  readonly headCountKv: number;
  readonly headCount: number;
  /** Width of one K / V row of this layer: head size × KV heads (n_embd_k_gqa / n_embd_v_gqa). */
  readonly kWidth: number;
  readonly vWidth: number;
  readonly swa: boolean;
}

export interface ModelParams {
  readonly architecture: string;
  readonly layerCount: number;
  readonly embeddingLength: number;
  readonly vocabSize: number;
  /** Largest feed-forward width over the layers (0 when unknown). */
  readonly feedForwardLength: number;
  /** MoE: experts used per token (0 for a dense model), an expert's feed-forward width, the shared expert's. */
  readonly expertUsedCount: number;
  readonly expertFeedForwardLength: number;
  readonly sharedExpertFeedForwardLength: number;
  /** Training context length, when the file says. */
  readonly contextLengthTrain: number | undefined;
  /** Sliding window in tokens (0: no SWA layers). */
  readonly slidingWindow: number;
  readonly layers: readonly LayerAttention[];
}

function need(h: HeaderLike, arch: string, suffix: string): number {
  const key = `${arch}.${suffix}`;
  const v = toNumber(kvGet(h, key));
  if (v === undefined || !Number.isFinite(v) || v <= 0) {
    throw quantfitError('advisor.lacksKey', { key }, { ...(h.path !== undefined ? { file: h.path } : {}), key });
  }
  return v;
}

/** A per-layer value: a scalar for every layer, or an array with one entry per layer. */
function perLayer(value: GgufValue | undefined, layers: number, fallback: number): number[] {
  if (value === undefined) return new Array<number>(layers).fill(fallback);
  if (isGgufArray(value)) {
    return Array.from({ length: layers }, (_, i) => toNumber(value.items[i]) ?? fallback);
  }
  return new Array<number>(layers).fill(toNumber(value) ?? fallback);
}

function swaFlags(h: HeaderLike, arch: string, layers: number, window: number): boolean[] {
  const none = new Array<boolean>(layers).fill(false);
  if (window <= 0) return none;
  const rule = SWA_ARCHITECTURES[arch];
  const raw = kvGet(h, `${arch}.attention.sliding_window_pattern`);
  if (raw !== undefined && isGgufArray(raw)) {
    return Array.from({ length: layers }, (_, i) => raw.items[i] === true || toNumber(raw.items[i]) === 1);
  }
  if (!rule) return none;
  if (rule.onlyWithLayers !== undefined && rule.onlyWithLayers !== layers) return none;
  const pattern = raw !== undefined ? (toNumber(raw) ?? rule.pattern) : rule.pattern;
  return Array.from({ length: layers }, (_, il) => {
    if (pattern === 0) return true;
    return rule.denseFirst ? il % pattern !== 0 : il % pattern < pattern - 1;
  });
}

function vocabSize(h: HeaderLike, arch: string): number {
  const explicit = toNumber(kvGet(h, `${arch}.vocab_size`));
  if (explicit !== undefined && explicit > 0) return explicit;
  const tokens = kvGet(h, 'tokenizer.ggml.tokens');
  if (tokens !== undefined && isGgufArray(tokens) && tokens.items.length > 0) return tokens.items.length;
  const embd = h.tensors.find((t) => t.name === 'token_embd.weight');
  if (embd && embd.shape.length >= 2) return embd.shape[1]!;
  return 0;
}

export function modelParams(h: HeaderLike): ModelParams {
  const arch = architecture(h);
  if (arch === undefined) {
    throw quantfitError('advisor.lacksArchitecture', {}, { ...(h.path !== undefined ? { file: h.path } : {}), key: 'general.architecture' });
  }
  const layerCount = need(h, arch, 'block_count');
  const embeddingLength = need(h, arch, 'embedding_length');
  const headCounts = perLayer(kvGet(h, `${arch}.attention.head_count`), layerCount, 0);
  const firstHeads = headCounts.find((n) => n > 0) ?? 0;
  if (firstHeads === 0) {
    throw quantfitError('advisor.lacksHeadCount', { key: `${arch}.attention.head_count` }, { ...(h.path !== undefined ? { file: h.path } : {}), key: `${arch}.attention.head_count` });
  }
  // llama.cpp: n_head_kv defaults to n_head (no GQA); head sizes default to n_embd / n_head.
  const headCountsKv = perLayer(kvGet(h, `${arch}.attention.head_count_kv`), layerCount, Number.NaN)
    .map((n, i) => (Number.isNaN(n) ? headCounts[i]! : n));
  const defaultHead = Math.floor(embeddingLength / firstHeads);
  const keyLength = toNumber(kvGet(h, `${arch}.attention.key_length`)) ?? defaultHead;
  const valueLength = toNumber(kvGet(h, `${arch}.attention.value_length`)) ?? defaultHead;
  const keyLengthSwa = toNumber(kvGet(h, `${arch}.attention.key_length_swa`)) ?? keyLength;
  const valueLengthSwa = toNumber(kvGet(h, `${arch}.attention.value_length_swa`)) ?? valueLength;
  // MLA (DeepSeek-style): the cache holds the compressed latent as K only; V is a view of it.
  const mla = kvGet(h, `${arch}.attention.key_length_mla`) !== undefined;

  const rule = SWA_ARCHITECTURES[arch];
  const windowKey = toNumber(kvGet(h, `${arch}.attention.sliding_window`));
  let window = windowKey ?? rule?.defaultWindow ?? 0;
  if (rule?.onlyWithLayers !== undefined && rule.onlyWithLayers !== layerCount) window = 0;
  const swa = swaFlags(h, arch, layerCount, window);
  if (!swa.some(Boolean)) window = 0;

  // Layers past n_layer - shared_kv_layers reuse earlier layers' cache (gemma3n/gemma4).
  const shared = toNumber(kvGet(h, `${arch}.attention.shared_kv_layers`)) ?? 0;
  const kvLayers = layerCount - shared;

  const layers: LayerAttention[] = [];
  for (let il = 0; il < layerCount; il++) {
    const kvHeads = il < kvLayers ? headCountsKv[il]! : 0;
    const k = swa[il] ? keyLengthSwa : keyLength;
    const v = swa[il] ? valueLengthSwa : valueLength;
    layers.push({ headCountKv: kvHeads, headCount: headCounts[il]!, kWidth: k * kvHeads, vWidth: mla ? 0 : v * kvHeads, swa: swa[il]! });
  }
  const ff = perLayer(kvGet(h, `${arch}.feed_forward_length`), layerCount, 0);
  const feedForwardLength = Math.max(0, ...ff);
  const expertCount = toNumber(kvGet(h, `${arch}.expert_count`)) ?? 0;
  const expertUsedCount = expertCount > 0 ? (toNumber(kvGet(h, `${arch}.expert_used_count`)) ?? 0) : 0;
  return {
    architecture: arch,
    layerCount,
    embeddingLength,
    vocabSize: vocabSize(h, arch),
    feedForwardLength,
    expertUsedCount,
    // Mixtral-style files give the expert width as feed_forward_length (llama.cpp's n_ff_exp fallback).
    expertFeedForwardLength: toNumber(kvGet(h, `${arch}.expert_feed_forward_length`)) ?? feedForwardLength,
    sharedExpertFeedForwardLength: expertUsedCount > 0 ? (toNumber(kvGet(h, `${arch}.expert_shared_feed_forward_length`)) ?? 0) : 0,
    contextLengthTrain: toNumber(kvGet(h, `${arch}.context_length`)),
    slidingWindow: window,
    layers,
  };
}

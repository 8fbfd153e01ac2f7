// Quality facts about the quant types, as data: their order from best to worst, the measured
// perplexity increase, and which need an importance matrix.

/**
 * Perplexity increase over F16 on 7B LLaMA (wikitext-2), from the table in llama.cpp PR 1684
 * (the k-quants introduction). Types it did not measure are absent (reported as null).
 */
export const PPL_INCREASE_7B: Readonly<Record<string, number>> = {
  F16: 0,
  Q2_K: 0.8698,
  Q4_0: 0.2499,
  Q4_1: 0.1846,
  Q4_K_S: 0.1149,
  Q4_K_M: 0.0535,
  Q5_0: 0.0796,
  Q5_1: 0.0415,
  Q5_K_S: 0.0353,
  Q5_K_M: 0.0142,
  Q6_K: 0.0044,
  Q8_0: 0.0004,
};

/**
 * The ftypes the advisor estimates, best quality first. Order among unmeasured types follows bits
 * per weight. Excluded: F32/COPY (never smaller than the input), ternary TQ1_0/TQ2_0 and
 * Q1_0/Q2_0/MXFP4_MOE (only for models trained for them).
 */
export const ESTIMATED_FTYPES: readonly string[] = [
  'BF16', 'F16', 'Q8_0', 'Q6_K', 'Q5_K_M', 'Q5_K_S', 'Q5_1', 'Q5_0', 'Q4_K_M', 'Q4_K_S', 'IQ4_XS', 'IQ4_NL',
  'Q4_1', 'Q4_0', 'Q3_K_L', 'IQ3_M', 'Q3_K_M', 'IQ3_S', 'Q3_K_S', 'IQ3_XS', 'IQ3_XXS', 'Q2_K', 'Q2_K_S',
  'IQ2_M', 'IQ2_S', 'IQ2_XS', 'IQ2_XXS', 'IQ1_M', 'IQ1_S',
];

/**
 * ftypes llama-quantize refuses without an importance matrix: their main tensor types are
 * IQ1/IQ2/IQ3_XXS, or Q2_K inside Q2_K_S (llama-quant.cpp tensor_requires_imatrix).
 */
export const REQUIRES_IMATRIX: ReadonlySet<string> = new Set([
  'IQ1_S', 'IQ1_M', 'IQ2_XXS', 'IQ2_XS', 'IQ2_S', 'IQ2_M', 'IQ3_XXS', 'IQ3_XS', 'Q2_K_S',
]);

/**
 * The types the advisor chooses among, best first: near-lossless (Q8_0, Q6_K), balanced (Q5_K_M,
 * Q4_K_M), small (Q4_0, Q3_K_M, Q3_K_S, Q2_K) and tiny, imatrix-only (IQ2_XS, IQ1_S).
 */
export const LADDER: readonly string[] = ['Q8_0', 'Q6_K', 'Q5_K_M', 'Q4_K_M', 'Q4_0', 'Q3_K_M', 'Q3_K_S', 'Q2_K', 'IQ2_XS', 'IQ1_S'];

export type QualityGroup = 'near-lossless' | 'balanced' | 'small' | 'tiny';
export const LADDER_GROUP: Readonly<Record<string, QualityGroup>> = {
  Q8_0: 'near-lossless', Q6_K: 'near-lossless', Q5_K_M: 'balanced', Q4_K_M: 'balanced',
  Q4_0: 'small', Q3_K_M: 'small', Q3_K_S: 'small', Q2_K: 'small', IQ2_XS: 'tiny', IQ1_S: 'tiny',
};

/**
 * On the CPU (and with most layers on it) generation speed is bound by memory bandwidth, so bigger
 * types cost speed for a quality gain too small to notice: the advisor stops at this type there.
 */
export const CPU_BEST_TYPE = 'Q5_K_M';

/**
 * Below this type quality drops noticeably; a faster placement (GPU over CPU) is preferred only when
 * it still allows a type at least this good.
 */
export const ACCEPTABLE_FLOOR_TYPE = 'Q3_K_M';

export function pplIncrease(type: string): number | null {
  return PPL_INCREASE_7B[type] ?? null;
}

/** Position in ESTIMATED_FTYPES (lower is better); unknown types sort last. */
export function qualityRank(type: string): number {
  const i = ESTIMATED_FTYPES.indexOf(type);
  return i < 0 ? ESTIMATED_FTYPES.length : i;
}

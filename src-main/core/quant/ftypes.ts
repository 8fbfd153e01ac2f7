// The llama-quantize file types (llama_ftype): the names `llama-quantize` accepts, in its own order
// (tools/quantize/quantize.cpp QUANT_OPTIONS of the reference build), with the default ggml type that
// src/llama-quant.cpp (llama_ftype_get_default_type) gives each. Data, not a switch.

import { GgmlType } from '../gguf/ggml-types.ts';
import { quantfitError } from '../errors.ts';

export interface Ftype {
  /** Upper-case name as llama-quantize prints it (`Q4_K_M`, `Q3_K`, `COPY`). */
  readonly name: string;
  /** llama_ftype id, written as general.file_type. */
  readonly id: number;
  /** The ggml type most tensors get (llama_ftype_get_default_type). */
  readonly defaultType: number;
  readonly description: string;
  /** For the short names Q3_K/Q4_K/Q5_K: the full name they stand for. */
  readonly aliasOf?: string;
  /** COPY: tensors are copied as they are, general.file_type comes from the input. */
  readonly onlyCopy?: boolean;
}

export const LlamaFtype = {
  ALL_F32: 0, MOSTLY_F16: 1, MOSTLY_Q4_0: 2, MOSTLY_Q4_1: 3, MOSTLY_Q8_0: 7, MOSTLY_Q5_0: 8, MOSTLY_Q5_1: 9,
  MOSTLY_Q2_K: 10, MOSTLY_Q3_K_S: 11, MOSTLY_Q3_K_M: 12, MOSTLY_Q3_K_L: 13, MOSTLY_Q4_K_S: 14, MOSTLY_Q4_K_M: 15,
  MOSTLY_Q5_K_S: 16, MOSTLY_Q5_K_M: 17, MOSTLY_Q6_K: 18, MOSTLY_IQ2_XXS: 19, MOSTLY_IQ2_XS: 20, MOSTLY_Q2_K_S: 21,
  MOSTLY_IQ3_XS: 22, MOSTLY_IQ3_XXS: 23, MOSTLY_IQ1_S: 24, MOSTLY_IQ4_NL: 25, MOSTLY_IQ3_S: 26, MOSTLY_IQ3_M: 27,
  MOSTLY_IQ2_S: 28, MOSTLY_IQ2_M: 29, MOSTLY_IQ4_XS: 30, MOSTLY_IQ1_M: 31, MOSTLY_BF16: 32,
  MOSTLY_TQ1_0: 36, MOSTLY_TQ2_0: 37, MOSTLY_MXFP4_MOE: 38, MOSTLY_NVFP4: 39, MOSTLY_Q1_0: 40, MOSTLY_Q2_0: 41,
} as const;

/** Set on a file type the loader guessed from the tensor types (no general.file_type key). */
export const LLAMA_FTYPE_GUESSED = 1024;

const F = LlamaFtype;
const T = GgmlType;

const opt = (name: string, id: number, defaultType: number, description: string, extra: Partial<Ftype> = {}): Ftype =>
  ({ name, id, defaultType, description, ...extra });

/** QUANT_OPTIONS, in llama-quantize's order (the order decides which name a numeric id maps to). */
export const FTYPES: readonly Ftype[] = [
  opt('Q1_0', F.MOSTLY_Q1_0, T.Q1_0, ' 1.125 bpw quantization'),
  opt('Q2_0', F.MOSTLY_Q2_0, T.Q2_0, ' 2.25 bpw quantization (group 64)'),
  opt('Q4_0', F.MOSTLY_Q4_0, T.Q4_0, ' 4.34G, +0.4685 ppl @ Llama-3-8B'),
  opt('Q4_1', F.MOSTLY_Q4_1, T.Q4_1, ' 4.78G, +0.4511 ppl @ Llama-3-8B'),
  opt('MXFP4_MOE', F.MOSTLY_MXFP4_MOE, T.MXFP4, ' MXFP4 MoE'),
  opt('Q5_0', F.MOSTLY_Q5_0, T.Q5_0, ' 5.21G, +0.1316 ppl @ Llama-3-8B'),
  opt('Q5_1', F.MOSTLY_Q5_1, T.Q5_1, ' 5.65G, +0.1062 ppl @ Llama-3-8B'),
  opt('IQ2_XXS', F.MOSTLY_IQ2_XXS, T.IQ2_XXS, ' 2.06 bpw quantization'),
  opt('IQ2_XS', F.MOSTLY_IQ2_XS, T.IQ2_XS, ' 2.31 bpw quantization'),
  opt('IQ2_S', F.MOSTLY_IQ2_S, T.IQ2_XS, ' 2.5  bpw quantization'),
  opt('IQ2_M', F.MOSTLY_IQ2_M, T.IQ2_S, ' 2.7  bpw quantization'),
  opt('IQ1_S', F.MOSTLY_IQ1_S, T.IQ1_S, ' 1.56 bpw quantization'),
  opt('IQ1_M', F.MOSTLY_IQ1_M, T.IQ1_M, ' 1.75 bpw quantization'),
  opt('TQ1_0', F.MOSTLY_TQ1_0, T.TQ1_0, ' 1.69 bpw ternarization'),
  opt('TQ2_0', F.MOSTLY_TQ2_0, T.TQ2_0, ' 2.06 bpw ternarization'),
  opt('Q2_K', F.MOSTLY_Q2_K, T.Q2_K, ' 2.96G, +3.5199 ppl @ Llama-3-8B'),
  opt('Q2_K_S', F.MOSTLY_Q2_K_S, T.Q2_K, ' 2.96G, +3.1836 ppl @ Llama-3-8B'),
  opt('IQ3_XXS', F.MOSTLY_IQ3_XXS, T.IQ3_XXS, ' 3.06 bpw quantization'),
  opt('IQ3_S', F.MOSTLY_IQ3_S, T.IQ3_S, ' 3.44 bpw quantization'),
  opt('IQ3_M', F.MOSTLY_IQ3_M, T.IQ3_S, ' 3.66 bpw quantization mix'),
  opt('Q3_K', F.MOSTLY_Q3_K_M, T.Q3_K, 'alias for Q3_K_M', { aliasOf: 'Q3_K_M' }),
  opt('IQ3_XS', F.MOSTLY_IQ3_XS, T.IQ3_S, ' 3.3 bpw quantization'),
  opt('Q3_K_S', F.MOSTLY_Q3_K_S, T.Q3_K, ' 3.41G, +1.6321 ppl @ Llama-3-8B'),
  opt('Q3_K_M', F.MOSTLY_Q3_K_M, T.Q3_K, ' 3.74G, +0.6569 ppl @ Llama-3-8B'),
  opt('Q3_K_L', F.MOSTLY_Q3_K_L, T.Q3_K, ' 4.03G, +0.5562 ppl @ Llama-3-8B'),
  opt('IQ4_NL', F.MOSTLY_IQ4_NL, T.IQ4_NL, ' 4.50 bpw non-linear quantization'),
  opt('IQ4_XS', F.MOSTLY_IQ4_XS, T.IQ4_XS, ' 4.25 bpw non-linear quantization'),
  opt('Q4_K', F.MOSTLY_Q4_K_M, T.Q4_K, 'alias for Q4_K_M', { aliasOf: 'Q4_K_M' }),
  opt('Q4_K_S', F.MOSTLY_Q4_K_S, T.Q4_K, ' 4.37G, +0.2689 ppl @ Llama-3-8B'),
  opt('Q4_K_M', F.MOSTLY_Q4_K_M, T.Q4_K, ' 4.58G, +0.1754 ppl @ Llama-3-8B'),
  opt('Q5_K', F.MOSTLY_Q5_K_M, T.Q5_K, 'alias for Q5_K_M', { aliasOf: 'Q5_K_M' }),
  opt('Q5_K_S', F.MOSTLY_Q5_K_S, T.Q5_K, ' 5.21G, +0.1049 ppl @ Llama-3-8B'),
  opt('Q5_K_M', F.MOSTLY_Q5_K_M, T.Q5_K, ' 5.33G, +0.0569 ppl @ Llama-3-8B'),
  opt('Q6_K', F.MOSTLY_Q6_K, T.Q6_K, ' 6.14G, +0.0217 ppl @ Llama-3-8B'),
  opt('Q8_0', F.MOSTLY_Q8_0, T.Q8_0, ' 7.96G, +0.0026 ppl @ Llama-3-8B'),
  opt('F16', F.MOSTLY_F16, T.F16, '14.00G, +0.0020 ppl @ Mistral-7B'),
  opt('BF16', F.MOSTLY_BF16, T.BF16, '14.00G, -0.0050 ppl @ Mistral-7B'),
  opt('F32', F.ALL_F32, T.F32, '26.00G              @ 7B'),
  // After F32, so that the id 0 names F32.
  opt('COPY', F.ALL_F32, T.F32, 'only copy tensors, no quantizing', { onlyCopy: true }),
];

/**
 * The default tensor type of an ftype id (llama_ftype_get_default_type), or undefined where the
 * library has none. NVFP4 has a default type but no QUANT_OPTIONS entry.
 */
export function ftypeDefaultType(id: number): number | undefined {
  if (id === F.MOSTLY_NVFP4) return T.NVFP4;
  return FTYPES.find((f) => f.id === id && !f.onlyCopy)?.defaultType;
}

/** The canonical (non-alias) entry for an ftype id, for display. */
export function ftypeById(id: number): Ftype | undefined {
  return FTYPES.find((f) => f.id === id && f.aliasOf === undefined && !f.onlyCopy);
}

/** std::stoi: leading white space, a sign, digits; trailing text ignored; undefined on failure/overflow. */
function stoi(s: string): number | undefined {
  const m = /^[\t\n\v\f\r ]*([+-]?\d+)/.exec(s);
  if (!m) return undefined;
  const n = Number(m[1]);
  if (n < -2147483648 || n > 2147483647) return undefined;
  return n;
}

/**
 * Looks an ftype up as llama-quantize does: by name, case-insensitively (first match in table order),
 * then as a number that is the id of some entry (the first entry with that id, so 12 gives `Q3_K`).
 */
export function findFtype(nameOrId: string | number): Ftype | undefined {
  if (typeof nameOrId === 'number') return Number.isInteger(nameOrId) ? FTYPES.find((f) => f.id === nameOrId) : undefined;
  const upper = nameOrId.toUpperCase();
  const byName = FTYPES.find((f) => f.name === upper);
  if (byName) return byName;
  const id = stoi(nameOrId);
  return id === undefined ? undefined : FTYPES.find((f) => f.id === id);
}

/** findFtype, throwing an error that lists the accepted names. */
export function parseFtype(nameOrId: string | number): Ftype {
  const f = findFtype(nameOrId);
  if (f) return f;
  throw quantfitError('quant.unknownFtype', { name: nameOrId, types: FTYPES.map((x) => x.name).join(', ') });
}

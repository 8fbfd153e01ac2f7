// The ggml tensor type table of the reference llama.cpp (commit 0ad4a86): id, name, block size and
// bytes per block, read from libggml-base's own ggml_type_name/ggml_blck_size/ggml_type_size.
// Data, not a switch: every size computation in the project goes through this table.

export interface GgmlTypeInfo {
  readonly id: number;
  /** ggml's own lower-case name (`q4_K`, `iq2_xxs`); the display name is upper-cased. */
  readonly name: string;
  readonly blockSize: number;
  readonly typeSize: number;
  readonly quantized: boolean;
  /** ggml refuses to quantize these without an importance matrix (ggml_quantize_requires_imatrix). */
  readonly requiresImatrix: boolean;
}

export interface RemovedGgmlType {
  readonly id: number;
  readonly removed: string;
}

export const GgmlType = {
  F32: 0, F16: 1, Q4_0: 2, Q4_1: 3, Q5_0: 6, Q5_1: 7, Q8_0: 8, Q8_1: 9,
  Q2_K: 10, Q3_K: 11, Q4_K: 12, Q5_K: 13, Q6_K: 14, Q8_K: 15,
  IQ2_XXS: 16, IQ2_XS: 17, IQ3_XXS: 18, IQ1_S: 19, IQ4_NL: 20, IQ3_S: 21, IQ2_S: 22, IQ4_XS: 23,
  I8: 24, I16: 25, I32: 26, I64: 27, F64: 28, IQ1_M: 29, BF16: 30,
  TQ1_0: 34, TQ2_0: 35, MXFP4: 39, NVFP4: 40, Q1_0: 41, Q2_0: 42,
} as const;
export type GgmlTypeId = (typeof GgmlType)[keyof typeof GgmlType];

/** One past the largest id the reference build knows (GGML_TYPE_COUNT). */
export const GGML_TYPE_COUNT = 43;

const row = (id: number, name: string, blockSize: number, typeSize: number, quantized: boolean, requiresImatrix = false): GgmlTypeInfo =>
  ({ id, name, blockSize, typeSize, quantized, requiresImatrix });

const TYPES: readonly GgmlTypeInfo[] = [
  row(0, 'f32', 1, 4, false), row(1, 'f16', 1, 2, false),
  row(2, 'q4_0', 32, 18, true), row(3, 'q4_1', 32, 20, true),
  row(6, 'q5_0', 32, 22, true), row(7, 'q5_1', 32, 24, true),
  row(8, 'q8_0', 32, 34, true), row(9, 'q8_1', 32, 36, true),
  row(10, 'q2_K', 256, 84, true), row(11, 'q3_K', 256, 110, true), row(12, 'q4_K', 256, 144, true),
  row(13, 'q5_K', 256, 176, true), row(14, 'q6_K', 256, 210, true), row(15, 'q8_K', 256, 292, true),
  row(16, 'iq2_xxs', 256, 66, true, true), row(17, 'iq2_xs', 256, 74, true, true),
  row(18, 'iq3_xxs', 256, 98, true), row(19, 'iq1_s', 256, 50, true, true),
  row(20, 'iq4_nl', 32, 18, true), row(21, 'iq3_s', 256, 110, true), row(22, 'iq2_s', 256, 82, true),
  row(23, 'iq4_xs', 256, 136, true),
  row(24, 'i8', 1, 1, false), row(25, 'i16', 1, 2, false), row(26, 'i32', 1, 4, false),
  row(27, 'i64', 1, 8, false), row(28, 'f64', 1, 8, false),
  row(29, 'iq1_m', 256, 56, true), row(30, 'bf16', 1, 2, false),
  row(34, 'tq1_0', 256, 54, true), row(35, 'tq2_0', 256, 66, true),
  row(39, 'mxfp4', 32, 17, true), row(40, 'nvfp4', 64, 36, true),
  row(41, 'q1_0', 128, 18, true), row(42, 'q2_0', 64, 18, true),
];

const REMOVED: readonly RemovedGgmlType[] = [
  { id: 4, removed: 'Q4_2 (support removed)' },
  { id: 5, removed: 'Q4_3 (support removed)' },
  { id: 31, removed: 'Q4_0_4_4 (removed, use Q4_0 with runtime repacking)' },
  { id: 32, removed: 'Q4_0_4_8 (removed, use Q4_0 with runtime repacking)' },
  { id: 33, removed: 'Q4_0_8_8 (removed, use Q4_0 with runtime repacking)' },
  { id: 36, removed: 'IQ4_NL_4_4 (removed, use IQ4_NL with runtime repacking)' },
  { id: 37, removed: 'IQ4_NL_4_8 (removed, use IQ4_NL with runtime repacking)' },
  { id: 38, removed: 'IQ4_NL_8_8 (removed, use IQ4_NL with runtime repacking)' },
];

const BY_ID = new Map<number, GgmlTypeInfo>(TYPES.map((t) => [t.id, t]));
const BY_NAME = new Map<string, GgmlTypeInfo>(TYPES.map((t) => [t.name.toLowerCase(), t]));
const REMOVED_BY_ID = new Map<number, RemovedGgmlType>(REMOVED.map((t) => [t.id, t]));

export const ALL_GGML_TYPES: readonly GgmlTypeInfo[] = TYPES;

/** The type with this id, or undefined when the id is unknown or removed. */
export function ggmlTypeInfo(id: number): GgmlTypeInfo | undefined {
  return BY_ID.get(id);
}

/** Why this id cannot appear in a file (removed), or undefined. */
export function removedGgmlType(id: number): RemovedGgmlType | undefined {
  return REMOVED_BY_ID.get(id);
}

/** Case-insensitive lookup by ggml name (`Q4_K`, `q4_k`, `IQ2_XXS`). */
export function ggmlTypeByName(name: string): GgmlTypeInfo | undefined {
  return BY_NAME.get(name.toLowerCase());
}

/** Upper-case display name (`Q4_K`, `F16`). */
export function ggmlTypeName(id: number): string {
  const t = BY_ID.get(id);
  if (t) return t.name.toUpperCase();
  const r = REMOVED_BY_ID.get(id);
  return r ? `removed type ${id}` : `unknown type ${id}`;
}

/** Bytes of one row of `n` elements (ggml_row_size); n must be a multiple of the block size. */
export function rowBytes(id: number, n: number): number {
  const t = BY_ID.get(id);
  if (!t) throw new Error(`rowBytes: ${ggmlTypeName(id)}`);
  return (t.typeSize * n) / t.blockSize;
}

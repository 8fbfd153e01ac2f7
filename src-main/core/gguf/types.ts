// The in-memory shape of a GGUF header: metadata key/values, tensor infos and where the data starts.

/** GGUF metadata value type ids, as stored in the file (gguf.h `enum gguf_type`). */
export const GgufValueType = {
  UINT8: 0, INT8: 1, UINT16: 2, INT16: 3, UINT32: 4, INT32: 5, FLOAT32: 6,
  BOOL: 7, STRING: 8, ARRAY: 9, UINT64: 10, INT64: 11, FLOAT64: 12,
} as const;
export type GgufValueTypeId = (typeof GgufValueType)[keyof typeof GgufValueType];

/** u64/i64 are bigint; every other integer, f32 and f64 is a number. */
export type GgufScalar = number | bigint | boolean | string;
/** An array value; `elementType` may itself be ARRAY (arrays of arrays), then items are GgufArray. */
export interface GgufArray {
  readonly elementType: number;
  readonly items: readonly GgufValue[];
}
export type GgufValue = GgufScalar | GgufArray;

export interface GgufKv {
  readonly key: string;
  readonly type: number;
  readonly value: GgufValue;
}

export interface GgufTensorInfo {
  readonly name: string;
  readonly type: number;
  /** ne[0] first (ne0 = row length), n_dims entries as stored. */
  readonly shape: readonly number[];
  /** Relative to the start of the data section. */
  readonly offset: number;
  /** ggml_nbytes: the tensor's data bytes, without alignment padding. */
  readonly byteSize: number;
}

export interface GgufHeader {
  readonly path: string;
  readonly fileSize: number;
  readonly version: number;
  readonly alignment: number;
  readonly kv: readonly GgufKv[];
  readonly tensors: readonly GgufTensorInfo[];
  /** Absolute file offset of the data section. */
  readonly dataOffset: number;
}

export const GGUF_MAGIC = 'GGUF';
export const GGUF_DEFAULT_ALIGNMENT = 32;
/** Versions this project reads; it always writes GGUF_WRITE_VERSION. */
export const GGUF_SUPPORTED_VERSIONS: readonly number[] = [2, 3];
export const GGUF_WRITE_VERSION = 3;
/** ggml's limit on dimensions per tensor (GGML_MAX_DIMS). */
export const GGML_MAX_DIMS = 4;
/** ggml stores tensor names in char[64] with a terminating NUL (GGML_MAX_NAME). */
export const GGML_MAX_NAME_BYTES = 63;
/** Ollama's decoder refuses longer strings; llama.cpp allows 1 GiB. The stricter limit wins. */
export const GGUF_MAX_STRING_BYTES = 16 * 1024 * 1024;
/** Ollama's decoder refuses longer arrays; llama.cpp allows 1 Gi elements. */
export const GGUF_MAX_ARRAY_ITEMS = 64 * 1024 * 1024;
/**
 * Key/values, tensors and array items of one header together. Each becomes a JS value (8–90 bytes
 * of memory per item of the file), so without a total a crafted header of a few hundred MB could
 * exhaust the heap. Real headers hold about 1.5 million (a 256k vocabulary and its merges).
 */
export const GGUF_MAX_HEADER_ITEMS = 16 * 1024 * 1024;
/** Arrays of arrays are legal GGUF; a depth limit keeps hostile nesting from exhausting the stack. */
export const GGUF_MAX_ARRAY_DEPTH = 8;

interface ValueTypeInfo {
  readonly name: string;
  /** Fixed encoded size in bytes; 0 for STRING and ARRAY (variable). */
  readonly size: number;
  /** The fewest bytes one value of this type takes in a file (for count-vs-file-size checks). */
  readonly minSize: number;
}

/** Indexed by GgufValueType id. */
export const GGUF_VALUE_TYPES: readonly ValueTypeInfo[] = [
  { name: 'u8', size: 1, minSize: 1 },
  { name: 'i8', size: 1, minSize: 1 },
  { name: 'u16', size: 2, minSize: 2 },
  { name: 'i16', size: 2, minSize: 2 },
  { name: 'u32', size: 4, minSize: 4 },
  { name: 'i32', size: 4, minSize: 4 },
  { name: 'f32', size: 4, minSize: 4 },
  { name: 'bool', size: 1, minSize: 1 },
  { name: 'string', size: 0, minSize: 8 },
  { name: 'array', size: 0, minSize: 12 },
  { name: 'u64', size: 8, minSize: 8 },
  { name: 'i64', size: 8, minSize: 8 },
  { name: 'f64', size: 8, minSize: 8 },
];

export function isGgufValueType(t: number): boolean {
  return Number.isInteger(t) && t >= 0 && t < GGUF_VALUE_TYPES.length;
}

export function ggufValueTypeName(t: number): string {
  return isGgufValueType(t) ? GGUF_VALUE_TYPES[t].name : `invalid type ${t}`;
}

export function isGgufArray(v: GgufValue): v is GgufArray {
  return typeof v === 'object' && v !== null;
}

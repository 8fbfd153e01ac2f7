// Typed lookups into a GGUF header's metadata, and small builders for KV lists.

import { GgufValueType, isGgufArray, type GgufArray, type GgufKv, type GgufValue } from './types.ts';

type HasKv = { readonly kv: readonly GgufKv[] };

export function kvEntry(h: HasKv, key: string): GgufKv | undefined {
  return h.kv.find((e) => e.key === key);
}

export function kvGet(h: HasKv, key: string): GgufValue | undefined {
  return kvEntry(h, key)?.value;
}

/** The value when it is a string, else undefined. */
export function kvString(h: HasKv, key: string): string | undefined {
  const v = kvGet(h, key);
  return typeof v === 'string' ? v : undefined;
}

/** The value as a number when it is numeric (bigint converted; undefined if not exactly representable). */
export function kvNumber(h: HasKv, key: string): number | undefined {
  return toNumber(kvGet(h, key));
}

export function toNumber(v: GgufValue | undefined): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') {
    const n = Number(v);
    return Number.isSafeInteger(n) ? n : undefined;
  }
  return undefined;
}

/** The value when it is an array, else undefined. */
export function kvArray(h: HasKv, key: string): GgufArray | undefined {
  const v = kvGet(h, key);
  return v !== undefined && isGgufArray(v) ? v : undefined;
}

/** `general.architecture`, or undefined when absent. */
export function architecture(h: HasKv): string | undefined {
  return kvString(h, 'general.architecture');
}

/** The value of `${architecture}.${suffix}` (e.g. kvArch(h, 'block_count')). */
export function kvArch(h: HasKv, suffix: string): GgufValue | undefined {
  const arch = architecture(h);
  return arch === undefined ? undefined : kvGet(h, `${arch}.${suffix}`);
}

/** A copy of `kv` with `entry` replacing the KV of the same key in place, or appended. */
export function withKv(kv: readonly GgufKv[], entry: GgufKv): GgufKv[] {
  const i = kv.findIndex((e) => e.key === entry.key);
  if (i < 0) return [...kv, entry];
  const out = [...kv];
  out[i] = entry;
  return out;
}

/** A copy of `kv` without `key`. */
export function withoutKv(kv: readonly GgufKv[], key: string): GgufKv[] {
  return kv.filter((e) => e.key !== key);
}

/** Builders for KV entries of each type. */
export const kv = {
  u8: (key: string, value: number): GgufKv => ({ key, type: GgufValueType.UINT8, value }),
  i8: (key: string, value: number): GgufKv => ({ key, type: GgufValueType.INT8, value }),
  u16: (key: string, value: number): GgufKv => ({ key, type: GgufValueType.UINT16, value }),
  i16: (key: string, value: number): GgufKv => ({ key, type: GgufValueType.INT16, value }),
  u32: (key: string, value: number): GgufKv => ({ key, type: GgufValueType.UINT32, value }),
  i32: (key: string, value: number): GgufKv => ({ key, type: GgufValueType.INT32, value }),
  f32: (key: string, value: number): GgufKv => ({ key, type: GgufValueType.FLOAT32, value }),
  f64: (key: string, value: number): GgufKv => ({ key, type: GgufValueType.FLOAT64, value }),
  u64: (key: string, value: bigint): GgufKv => ({ key, type: GgufValueType.UINT64, value }),
  i64: (key: string, value: bigint): GgufKv => ({ key, type: GgufValueType.INT64, value }),
  bool: (key: string, value: boolean): GgufKv => ({ key, type: GgufValueType.BOOL, value }),
  string: (key: string, value: string): GgufKv => ({ key, type: GgufValueType.STRING, value }),
  array: (key: string, elementType: number, items: readonly GgufValue[]): GgufKv =>
    ({ key, type: GgufValueType.ARRAY, value: { elementType, items } }),
};

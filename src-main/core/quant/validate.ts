// ggml_validate_row_data: llama.cpp checks every slab of tensor data it reads (NaN/Inf values, or
// NaN/Inf block scales of quantized types) and every block it writes. We refuse the same inputs.

import type { Message } from '../../../src-shared/message.ts';
import { msg } from '../../../src-shared/messages/index.ts';
import { GgmlType, ggmlTypeInfo, ggmlTypeName } from '../gguf/ggml-types.ts';

const T = GgmlType;

/** Where a block's fp16 scales sit, by type: byte offsets inside one block. */
const FP16_SCALE_OFFSETS: ReadonlyMap<number, readonly number[]> = new Map<number, readonly number[]>([
  [T.Q1_0, [0]], [T.Q2_0, [0]], [T.Q4_0, [0]], [T.Q4_1, [0, 2]], [T.Q5_0, [0]], [T.Q5_1, [0, 2]], [T.Q8_0, [0]],
  [T.Q2_K, [80, 82]], [T.Q3_K, [108]], [T.Q4_K, [0, 2]], [T.Q5_K, [0, 2]], [T.Q6_K, [208]],
  [T.TQ1_0, [52]], [T.TQ2_0, [64]],
  [T.IQ1_S, [0]], [T.IQ2_XXS, [0]], [T.IQ2_XS, [0]], [T.IQ2_S, [0]], [T.IQ3_XXS, [0]], [T.IQ3_S, [0]],
  [T.IQ4_XS, [0]], [T.IQ4_NL, [0]],
]);
/** Types with nothing to check. */
const UNCHECKED: ReadonlySet<number> = new Set<number>([T.I8, T.I16, T.I32, T.I64, T.NVFP4]);

const isBadFp16 = (h: number): boolean => (h & 0x7c00) === 0x7c00;

/**
 * Fast pre-scan of float data (the per-element loops after it give the exact message): the number of
 * leading 32-bit words, in groups of four, in which no value has an all-ones exponent. Adding `carry`
 * to a word masked with `exponents` sets a bit of `tops` only where an exponent field is all ones
 * (fields never carry into each other). Only when the data is 4-byte aligned; else 0.
 */
function firstCleanWords(data: Uint8Array, exponents: number, carry: number, tops: number): number {
  if (data.byteOffset % 4 !== 0) return 0;
  const w = new Uint32Array(data.buffer, data.byteOffset, data.byteLength >> 2);
  const n = w.length - 3;
  let k = 0;
  for (; k < n; k += 4) {
    const hit = ((w[k]! & exponents) + carry) | ((w[k + 1]! & exponents) + carry) | ((w[k + 2]! & exponents) + carry) | ((w[k + 3]! & exponents) + carry);
    if ((hit & tops) !== 0) break;
  }
  return k;
}

/** Undefined when the data is valid, else why not ("NaN value at element 12", "non-finite scale in block 3"). */
export function validateRowData(type: number, data: Uint8Array): Message | undefined {
  const info = ggmlTypeInfo(type);
  if (!info) return msg('quant.data.invalidType', { type });
  if (data.length % info.typeSize !== 0) return msg('quant.data.invalidSize', { size: data.length, type: ggmlTypeName(type) });
  const nb = data.length / info.typeSize;
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  switch (type) {
    case T.F32: {
      for (let i = firstCleanWords(data, 0x7f800000, 0x00800000, 0x80000000); i < nb; i++) {
        const u = dv.getUint32(i * 4, true);
        if ((u & 0x7f800000) === 0x7f800000) return msg((u & 0x7fffff) !== 0 ? 'quant.data.nan' : 'quant.data.infinite', { index: i });
      }
      return undefined;
    }
    case T.F16: {
      for (let i = 2 * firstCleanWords(data, 0x7c007c00, 0x04000400, 0x80008000); i < nb; i++) {
        const h = dv.getUint16(i * 2, true);
        if (isBadFp16(h)) return msg((h & 0x3ff) !== 0 ? 'quant.data.nan' : 'quant.data.infinite', { index: i });
      }
      return undefined;
    }
    case T.BF16: {
      for (let i = 0; i < nb; i++) {
        const h = dv.getUint16(i * 2, true) & 0x7fff;
        if (h >= 0x7f80) return msg(h > 0x7f80 ? 'quant.data.nan' : 'quant.data.infinite', { index: i });
      }
      return undefined;
    }
    case T.F64: {
      for (let i = 0; i < nb; i++) {
        if (!Number.isFinite(dv.getFloat64(i * 8, true))) return msg('quant.data.nonFinite', { index: i });
      }
      return undefined;
    }
    case T.Q8_K: {
      for (let i = 0; i < nb; i++) {
        if (!Number.isFinite(dv.getFloat32(i * info.typeSize, true))) return msg('quant.data.badScale', { block: i });
      }
      return undefined;
    }
    case T.MXFP4: {
      for (let i = 0; i < nb; i++) if (data[i * info.typeSize] === 0xff) return msg('quant.data.badE8M0', { block: i });
      return undefined;
    }
    case T.IQ1_M: {
      // The fp16 scale is spread over the top nibbles of the four u16 scale words (after qs and qh).
      const scalesAt = 256 / 8 + 256 / 16;
      for (let i = 0; i < nb; i++) {
        const b = i * info.typeSize + scalesAt;
        const sc = (k: number) => dv.getUint16(b + 2 * k, true);
        const h = (sc(0) >> 12) | ((sc(1) >> 8) & 0x00f0) | ((sc(2) >> 4) & 0x0f00) | (sc(3) & 0xf000);
        if (isBadFp16(h)) return msg('quant.data.badScale', { block: i });
      }
      return undefined;
    }
  }
  if (UNCHECKED.has(type)) return undefined;
  const offsets = FP16_SCALE_OFFSETS.get(type);
  if (!offsets) return msg('quant.data.cannotValidate', { type: ggmlTypeName(type) });
  // An fp16 is NaN/Inf when its exponent bits (0x7c of the high, second byte) are all set. Every
  // type has one or two scales per block.
  const size = info.typeSize;
  const first = offsets[0]! + 1;
  const second = offsets.length > 1 ? offsets[1]! + 1 : first;
  for (let i = 0, b = 0; i < nb; i++, b += size) {
    if ((data[b + first]! & 0x7c) === 0x7c || (data[b + second]! & 0x7c) === 0x7c) return msg('quant.data.badScale', { block: i });
  }
  return undefined;
}

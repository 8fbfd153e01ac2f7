// FP4 (E2M1) microscaling quants. Values come from kvalues_fp4 = 2 × the E2M1 values, so the scales
// below are half the nominal ones.
//
// MXFP4 {e: u8 (E8M0), qs[16]}, 32 per block, Q4_0 nibble layout; value kv[q]·2^(e−128).
// NVFP4 {d: u8[4] (UE4M3, one per 16), qs[32]}, 64 per block; for sub-block s, qs[8s + j] holds
//   element 16s + j (low nibble) and 16s + j + 8 (high nibble); value kv[q]·ue4m3(d[s])/2.
// ggml_quantize_chunk runs the _ref quantizers for both and ignores the imatrix.

import { registerKernel } from './registry.ts';
import { GgmlType } from '../gguf/ggml-types.ts';
import * as numeric from './numeric.ts';
import { checkQuantizeArgs, checkDequantizeArgs } from './block-args.ts';

// Hot loops use module-local bindings: under tsx (esbuild) an imported name is a getter call on
// every use, which made these kernels 2-4x slower.
const fround = Math.fround;
const { f32Bits, f32FromBits } = numeric;

/** kvalues_fp4 (ggml-common.h): doubled E2M1 values; index 8 is −0 stored as 0. */
export const KVALUES_FP4 = Int8Array.of(0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12);
const KV = KVALUES_FP4;

/** GGML_E8M0_TO_FP32_HALF: 2^(e − 128), with subnormal patterns for e < 2. */
export function e8m0ToFp32Half(e: number): number {
  return f32FromBits(e < 2 ? 0x00200000 << e : (e - 1) << 23);
}

/** ggml_ue4m3_to_fp32: half the UE4M3 value (0 and 0x7F read as 0). */
export function ue4m3ToFp32(u: number): number {
  if (u === 0 || u === 0x7f) return 0;
  const exp = (u >> 3) & 15;
  const man = u & 7;
  const raw = exp === 0 ? man * 2 ** -9 : (1 + man / 8) * 2 ** (exp - 7);
  return raw * 0.5;
}

/**
 * ggml_fp32_to_ue4m3: 0 for x ≤ 0 (and NaN), clamp to 448, subnormals via (int)(x·512 + 0.5f),
 * normals keep 3 mantissa bits rounded half up on bit 19; overflow gives 0x7E.
 */
export function fp32ToUe4m3(x: number): number {
  if (!(x > 0)) return 0;
  if (x > 448) x = 448;
  const bits = f32Bits(x);
  let exp = ((bits >>> 23) & 0xff) - 127 + 7;
  if (exp <= 0) {
    let man = fround(fround(x * 512) + 0.5) | 0;
    if (man > 7) man = 7;
    if (man < 1) return 0;
    return man;
  }
  if (exp >= 15) return 0x7e;
  let man = ((bits >>> 20) & 7) + ((bits >>> 19) & 1);
  if (man > 7) {
    man = 0;
    exp++;
    if (exp >= 15) return 0x7e;
  }
  return (exp << 3) | man;
}

// Candidate products kv[i]·d for the current scale (exact: ≤ 4 significant bits times ≤ 4 bits).
const PROD = new Float64Array(16);

function setScale(d: number): void {
  for (let i = 0; i < 16; i++) PROD[i] = fround(KV[i] * d);
}

/**
 * best_index_mxfp4 for the scale given to setScale: the first index minimizing |kv[i]·d − x| in
 * float32 (strict <). Only one sign can win: for x ≥ 0 a negative entry is never strictly closer than
 * index 0, for x < 0 neither is a positive one (nor index 8, the second zero). Along one sign the
 * errors fall, then rise, so the scan stops at the first strict rise.
 */
function bestIndexFp4(x: number): number {
  let best = 0;
  let bestErr = Math.abs(fround(PROD[0] - x));
  let prev = bestErr;
  const first = x >= 0 ? 1 : 9;
  const last = first + 7;
  for (let i = first; i < last; i++) {
    const err = Math.abs(fround(PROD[i] - x));
    if (err < bestErr) { best = i; bestErr = err; }
    else if (err > prev) break;
    prev = err;
  }
  return best;
}

// MXFP4 shortcut. With d a normal power of two the products kv·d are exact, and near every midpoint
// between neighbouring candidates the float differences kv·d − x are exact too (x shares the
// midpoint's binade, d is a multiple of x's ulp), so ggml's choice is the exact one: the nearest
// value, ties to the smaller magnitude (the earlier index). With u = 2|x|/d (exact in double) and the
// doubled midpoints 1, 3, 5, 7, 10, 14, 20, the magnitude index is the number of midpoints below u.
const MIDPOINTS_BELOW = new Uint8Array(21);
for (let k = 0; k < 21; k++) for (const m of [1, 3, 5, 7, 10, 14, 20]) if (k > m) MIDPOINTS_BELOW[k] = MIDPOINTS_BELOW[k] + 1;

/** best_index_mxfp4(x, d) for d = 2^(e − 128) with 8 ≤ e ≤ 240 (finite x). */
function mxfp4Index(x: number, twoOverD: number): number {
  const k = Math.ceil(Math.abs(x) * twoOverD);
  const c = k < 21 ? MIDPOINTS_BELOW[k] : 7;
  // Negative x takes the negative entries 9..15 (+(cond) avoids a branch on the sign).
  return c | ((+(x < 0) & +(c > 0)) << 3);
}

// ============================================================================================
// MXFP4 (17 bytes per 32)

/** quantize_mxfp4 (ggml-quants.c: quantize_row_mxfp4_ref); no WebAssembly twin. */
function quantizeMXFP4(src: Float32Array, dst: Uint8Array, nrows: number, nPerRow: number, imatrix?: Float32Array): number {
  const nb = checkQuantizeArgs('MXFP4', 32, 17, src, dst, nrows, nPerRow, imatrix);
  for (let ib = 0; ib < nb; ib++) {
    const x = ib * 32;
    const o = ib * 17;
    let amax = 0;
    for (let j = 0; j < 32; j++) {
      const a = Math.abs(src[x + j]);
      if (amax < a) amax = a;
    }
    // (uint8_t)(floorf(log2f(amax)) − 2 + 127); the float→int cast then keeps the low byte.
    // log2f is emulated by rounding the double log2 to float (residual risk: glibc's log2f).
    const e = amax > 0 ? (Math.floor(fround(Math.log2(amax))) + 125) & 0xff : 0;
    const d = e8m0ToFp32Half(e);
    dst[o] = e;
    if (e >= 8 && e <= 240) {
      const twoOverD = 2 / d; // a power of two: exact
      for (let j = 0; j < 16; j++) {
        dst[o + 1 + j] = mxfp4Index(src[x + j], twoOverD) | (mxfp4Index(src[x + 16 + j], twoOverD) << 4);
      }
    } else {
      // Subnormal or huge scales (and ggml's wrapped exponent for subnormal maxima): the plain search.
      setScale(d);
      for (let j = 0; j < 16; j++) {
        dst[o + 1 + j] = bestIndexFp4(src[x + j]) | (bestIndexFp4(src[x + 16 + j]) << 4);
      }
    }
  }
  return nb * 17;
}

/** dequantize_row_mxfp4 (ggml-quants.c); no WebAssembly twin. */
function dequantizeMXFP4(src: Uint8Array, dst: Float32Array, n: number): void {
  const nb = checkDequantizeArgs('MXFP4', 32, 17, src, dst, n);
  for (let ib = 0; ib < nb; ib++) {
    const o = ib * 17;
    const d = e8m0ToFp32Half(src[o]);
    const y = ib * 32;
    for (let j = 0; j < 16; j++) {
      const q = src[o + 1 + j];
      dst[y + j] = KV[q & 15] * d;
      dst[y + 16 + j] = KV[q >> 4] * d;
    }
  }
}

// ============================================================================================
// NVFP4 (36 bytes per 64)

/** quantize_nvfp4 (ggml-quants.c: quantize_row_nvfp4_ref); no WebAssembly twin. */
function quantizeNVFP4(src: Float32Array, dst: Uint8Array, nrows: number, nPerRow: number, imatrix?: Float32Array): number {
  const nb = checkQuantizeArgs('NVFP4', 64, 36, src, dst, nrows, nPerRow, imatrix);
  for (let ib = 0; ib < nb; ib++) {
    const o = ib * 36;
    for (let s = 0; s < 4; s++) {
      const xb = ib * 64 + s * 16;
      let amax = 0;
      for (let j = 0; j < 16; j++) {
        const a = Math.abs(src[xb + j]);
        if (amax < a) amax = a;
      }
      const ue = fp32ToUe4m3(fround(amax / 6));
      dst[o + s] = ue;
      setScale(ue4m3ToFp32(ue));
      for (let j = 0; j < 8; j++) {
        dst[o + 4 + 8 * s + j] = bestIndexFp4(src[xb + j]) | (bestIndexFp4(src[xb + 8 + j]) << 4);
      }
    }
  }
  return nb * 36;
}

/** dequantize_row_nvfp4 (ggml-quants.c); no WebAssembly twin. */
function dequantizeNVFP4(src: Uint8Array, dst: Float32Array, n: number): void {
  const nb = checkDequantizeArgs('NVFP4', 64, 36, src, dst, n);
  for (let ib = 0; ib < nb; ib++) {
    const o = ib * 36;
    for (let s = 0; s < 4; s++) {
      const d = ue4m3ToFp32(src[o + s]);
      const y = ib * 64 + s * 16;
      for (let j = 0; j < 8; j++) {
        const q = src[o + 4 + 8 * s + j];
        dst[y + j] = KV[q & 15] * d;
        dst[y + 8 + j] = KV[q >> 4] * d;
      }
    }
  }
}

registerKernel({ type: GgmlType.MXFP4, quantize: quantizeMXFP4, dequantize: dequantizeMXFP4 });
registerKernel({ type: GgmlType.NVFP4, quantize: quantizeNVFP4, dequantize: dequantizeNVFP4 });

// Legacy block quants: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 (blocks of 32), Q8_1 (dequantize only),
// Q1_0 (128) and Q2_0 (64). Byte layouts are ggml-common.h's block_qX structs, little-endian.
//
// Without an imatrix ggml quantizes the whole chunk as one run of independent blocks
// (quantize_row_X_ref). With an imatrix Q4_0/Q4_1/Q5_0/Q5_1 go row by row (quantize_row_X_impl):
// σ² = Σx²/n_per_row over the whole row, block weights w = qw·sqrt(σ² + x²), then a weighted
// scale search (make_qx_quants / make_qkx3_quants). Q8_0, Q1_0 and Q2_0 ignore the imatrix.
// All float work is binary32 in ggml's order (see numeric.ts).

import { registerKernel } from './registry.ts';
import { GgmlType } from '../gguf/ggml-types.ts';
import * as numeric from './numeric.ts';
import * as scaleSearch from './scale-search.ts';
import { checkQuantizeArgs, checkDequantizeArgs } from './block-args.ts';

// Hot loops use module-local bindings: under tsx (esbuild) an imported name is a getter call on
// every use, which made these kernels 2-4x slower.
const fround = Math.fround;
const { fp32ToFp16, FP16_TO_FP32, getU16, getU32, putU16, putU32, cvtToInt32 } = numeric;
const { makeQxQuants, makeQkx3Quants } = scaleSearch;

const QK = 32;

// Per-call scratch, module scope: kernels run synchronously, one at a time per thread.
const WEIGHT = new Float32Array(QK);
const LU = new Uint8Array(QK);
const MIN_OUT = new Float32Array(1);
const MIN_MAX = new Float64Array(2);

/** σ² of ggml's legacy imatrix path: Σx² over the row (sequential, float32) / n_per_row. */
function rowSigma2(x: Float32Array, off: number, n: number): number {
  let s = 0;
  for (let j = 0; j < n; j++) {
    const v = x[off + j];
    s = fround(s + fround(v * v));
  }
  return fround(s / n);
}

/** WEIGHT[j] = qw[j]·sqrt(σ² + x[j]²) for one block. */
function blockWeights(x: Float32Array, xOff: number, qw: Float32Array, qwOff: number, sigma2: number): void {
  for (let j = 0; j < QK; j++) {
    const v = x[xOff + j];
    WEIGHT[j] = fround(qw[qwOff + j] * fround(Math.sqrt(fround(sigma2 + fround(v * v)))));
  }
}

/** The value of largest magnitude in x[off..off+n) (the first of equal magnitudes), with its sign. */
function signedAbsMax(x: Float32Array, off: number, n: number): number {
  let amax = 0;
  let max = 0;
  for (let j = 0; j < n; j++) {
    const v = x[off + j];
    const a = Math.abs(v);
    if (amax < a) { amax = a; max = v; }
  }
  return max;
}

/** Largest |x| over x[off..off+n) (0 for an all-NaN block, as ggml's comparisons give). */
function absMax(x: Float32Array, off: number, n: number): number {
  let amax = 0;
  for (let j = 0; j < n; j++) {
    const a = Math.abs(x[off + j]);
    if (a > amax) amax = a;
  }
  return amax;
}

/** MIN_MAX[0] = min, MIN_MAX[1] = max over x[off..off+n), from ±FLT_MAX as ggml starts them. */
function minMax(x: Float32Array, off: number, n: number): void {
  let min = 3.4028234663852886e38;
  let max = -3.4028234663852886e38;
  for (let j = 0; j < n; j++) {
    const v = x[off + j];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  MIN_MAX[0] = min;
  MIN_MAX[1] = max;
}

/**
 * The imatrix path of Q4_0, Q4_1, Q5_0 and Q5_1 (quantize_row_qX_impl, one shape in ggml): per row
 * σ², per block the weights, then make_qx_quants over 2^(bits−1) levels each side (no min: Q4_0,
 * Q5_0) or make_qkx3_quants over 2^bits levels (with a min: Q4_1, Q5_1). Low nibbles go to qs,
 * element j and j+16 sharing a byte; with 5 bits the fifth bits go to qh (bit j for element j).
 */
function quantizeWeighted(
  src: Float32Array, dst: Uint8Array, nrows: number, nPerRow: number, imatrix: Float32Array, bits: 4 | 5, withMin: boolean,
): number {
  const scalesBytes = withMin ? 4 : 2;
  const qsAt = scalesBytes + (bits === 5 ? 4 : 0);
  const blockBytes = qsAt + 16;
  const bpr = nPerRow / QK;
  for (let row = 0; row < nrows; row++) {
    const rowOff = row * nPerRow;
    const sigma2 = rowSigma2(src, rowOff, nPerRow);
    for (let b = 0; b < bpr; b++) {
      const x = rowOff + b * QK;
      blockWeights(src, x, imatrix, b * QK, sigma2);
      const o = (row * bpr + b) * blockBytes;
      if (withMin) {
        const d = makeQkx3Quants(QK, (1 << bits) - 1, src, x, WEIGHT, 0, LU, 0, MIN_OUT, 0, fround(-0.9), fround(0.05), 36, false);
        putU16(dst, o, fp32ToFp16(d));
        putU16(dst, o + 2, fp32ToFp16(-MIN_OUT[0]));
      } else {
        putU16(dst, o, fp32ToFp16(makeQxQuants(QK, 1 << (bits - 1), src, x, LU, 0, 1, WEIGHT, 0)));
      }
      if (bits === 5) {
        let qh = 0;
        for (let j = 0; j < 16; j++) {
          const q0 = LU[j];
          const q1 = LU[j + 16];
          dst[o + qsAt + j] = (q0 & 15) | ((q1 & 15) << 4);
          qh |= (((q0 & 16) >> 4) << j) | (((q1 & 16) >> 4) << (j + 16));
        }
        putU32(dst, o + scalesBytes, qh);
      } else {
        for (let j = 0; j < 16; j++) dst[o + qsAt + j] = LU[j] | (LU[j + 16] << 4);
      }
    }
  }
  return nrows * bpr * blockBytes;
}

// ============================================================================================
// Q4_0 {d: f16, qs[16]}: element j < 16 in the low nibble of qs[j], j ≥ 16 in the high nibble of
// qs[j−16]; value (q − 8)·d.

/** quantize_q4_0 (ggml-quants.c: quantize_row_q4_0_ref, or _impl with an imatrix); WebAssembly twin: quantizeQ4_0 in wasm/assembly/index.ts. */
function quantizeQ4_0(src: Float32Array, dst: Uint8Array, nrows: number, nPerRow: number, imatrix?: Float32Array): number {
  const nb = checkQuantizeArgs('Q4_0', QK, 18, src, dst, nrows, nPerRow, imatrix);
  if (!imatrix) {
    for (let ib = 0; ib < nb; ib++) {
      const x = ib * QK;
      const d = fround(signedAbsMax(src, x, QK) / -8);
      const id = d !== 0 ? fround(1 / d) : 0;
      const o = ib * 18;
      putU16(dst, o, fp32ToFp16(d));
      for (let j = 0; j < 16; j++) {
        // (int8_t)(x·id + 8.5f): two float roundings, then truncation.
        let q0 = fround(fround(src[x + j] * id) + 8.5) | 0;
        let q1 = fround(fround(src[x + 16 + j] * id) + 8.5) | 0;
        if (q0 > 15) q0 = 15;
        if (q1 > 15) q1 = 15;
        dst[o + 2 + j] = q0 | (q1 << 4);
      }
    }
    return nb * 18;
  }
  return quantizeWeighted(src, dst, nrows, nPerRow, imatrix, 4, false);
}

/** dequantize_row_q4_0 (ggml-quants.c); no WebAssembly twin. */
function dequantizeQ4_0(src: Uint8Array, dst: Float32Array, n: number): void {
  const nb = checkDequantizeArgs('Q4_0', QK, 18, src, dst, n);
  for (let ib = 0; ib < nb; ib++) {
    const o = ib * 18;
    const d = FP16_TO_FP32[getU16(src, o)];
    const y = ib * QK;
    for (let j = 0; j < 16; j++) {
      const q = src[o + 2 + j];
      dst[y + j] = ((q & 15) - 8) * d;
      dst[y + 16 + j] = ((q >> 4) - 8) * d;
    }
  }
}

// ============================================================================================
// Q4_1 {d: f16, m: f16, qs[16]}: value q·d + m.

/** quantize_q4_1 (ggml-quants.c: quantize_row_q4_1_ref, or _impl with an imatrix); no WebAssembly twin. */
function quantizeQ4_1(src: Float32Array, dst: Uint8Array, nrows: number, nPerRow: number, imatrix?: Float32Array): number {
  const nb = checkQuantizeArgs('Q4_1', QK, 20, src, dst, nrows, nPerRow, imatrix);
  if (!imatrix) {
    for (let ib = 0; ib < nb; ib++) {
      const x = ib * QK;
      minMax(src, x, QK);
      const min = MIN_MAX[0];
      const max = MIN_MAX[1];
      const d = fround(fround(max - min) / 15);
      const id = d !== 0 ? fround(1 / d) : 0;
      const o = ib * 20;
      putU16(dst, o, fp32ToFp16(d));
      putU16(dst, o + 2, fp32ToFp16(min));
      for (let j = 0; j < 16; j++) {
        let q0 = fround(fround(fround(src[x + j] - min) * id) + 0.5) | 0;
        let q1 = fround(fround(fround(src[x + 16 + j] - min) * id) + 0.5) | 0;
        if (q0 > 15) q0 = 15;
        if (q1 > 15) q1 = 15;
        dst[o + 4 + j] = q0 | (q1 << 4);
      }
    }
    return nb * 20;
  }
  return quantizeWeighted(src, dst, nrows, nPerRow, imatrix, 4, true);
}

/** dequantize_row_q4_1 (ggml-quants.c); no WebAssembly twin. */
function dequantizeQ4_1(src: Uint8Array, dst: Float32Array, n: number): void {
  const nb = checkDequantizeArgs('Q4_1', QK, 20, src, dst, n);
  for (let ib = 0; ib < nb; ib++) {
    const o = ib * 20;
    const d = FP16_TO_FP32[getU16(src, o)];
    const m = FP16_TO_FP32[getU16(src, o + 2)];
    const y = ib * QK;
    for (let j = 0; j < 16; j++) {
      const q = src[o + 4 + j];
      dst[y + j] = fround((q & 15) * d) + m;
      dst[y + 16 + j] = fround((q >> 4) * d) + m;
    }
  }
}

// ============================================================================================
// Q5_0 {d: f16, qh: u32, qs[16]}: low nibbles as Q4_0, bit 4 of element j in bit j of qh;
// value (q − 16)·d.

/** quantize_q5_0 (ggml-quants.c: quantize_row_q5_0_ref, or _impl with an imatrix); no WebAssembly twin. */
function quantizeQ5_0(src: Float32Array, dst: Uint8Array, nrows: number, nPerRow: number, imatrix?: Float32Array): number {
  const nb = checkQuantizeArgs('Q5_0', QK, 22, src, dst, nrows, nPerRow, imatrix);
  if (!imatrix) {
    for (let ib = 0; ib < nb; ib++) {
      const x = ib * QK;
      const d = fround(signedAbsMax(src, x, QK) / -16);
      const id = d !== 0 ? fround(1 / d) : 0;
      const o = ib * 22;
      putU16(dst, o, fp32ToFp16(d));
      let qh = 0;
      for (let j = 0; j < 16; j++) {
        let q0 = fround(fround(src[x + j] * id) + 16.5) | 0;
        let q1 = fround(fround(src[x + 16 + j] * id) + 16.5) | 0;
        if (q0 > 31) q0 = 31;
        if (q1 > 31) q1 = 31;
        dst[o + 6 + j] = (q0 & 15) | ((q1 & 15) << 4);
        qh |= ((q0 >> 4) << j) | ((q1 >> 4) << (j + 16));
      }
      putU32(dst, o + 2, qh);
    }
    return nb * 22;
  }
  return quantizeWeighted(src, dst, nrows, nPerRow, imatrix, 5, false);
}

/** dequantize_row_q5_0 (ggml-quants.c); no WebAssembly twin. */
function dequantizeQ5_0(src: Uint8Array, dst: Float32Array, n: number): void {
  const nb = checkDequantizeArgs('Q5_0', QK, 22, src, dst, n);
  for (let ib = 0; ib < nb; ib++) {
    const o = ib * 22;
    const d = FP16_TO_FP32[getU16(src, o)];
    const qh = getU32(src, o + 2);
    const y = ib * QK;
    for (let j = 0; j < 16; j++) {
      const q = src[o + 6 + j];
      const h0 = ((qh >>> j) << 4) & 16;
      const h1 = (qh >>> (j + 12)) & 16;
      dst[y + j] = (((q & 15) | h0) - 16) * d;
      dst[y + 16 + j] = (((q >> 4) | h1) - 16) * d;
    }
  }
}

// ============================================================================================
// Q5_1 {d: f16, m: f16, qh: u32, qs[16]}: value q·d + m.

/** quantize_q5_1 (ggml-quants.c: quantize_row_q5_1_ref, or _impl with an imatrix); no WebAssembly twin. */
function quantizeQ5_1(src: Float32Array, dst: Uint8Array, nrows: number, nPerRow: number, imatrix?: Float32Array): number {
  const nb = checkQuantizeArgs('Q5_1', QK, 24, src, dst, nrows, nPerRow, imatrix);
  if (!imatrix) {
    for (let ib = 0; ib < nb; ib++) {
      const x = ib * QK;
      minMax(src, x, QK);
      const min = MIN_MAX[0];
      const max = MIN_MAX[1];
      const d = fround(fround(max - min) / 31);
      const id = d !== 0 ? fround(1 / d) : 0;
      const o = ib * 24;
      putU16(dst, o, fp32ToFp16(d));
      putU16(dst, o + 2, fp32ToFp16(min));
      let qh = 0;
      for (let j = 0; j < 16; j++) {
        // (uint8_t) cast, no clamp in ggml.
        const q0 = (fround(fround(fround(src[x + j] - min) * id) + 0.5) | 0) & 0xff;
        const q1 = (fround(fround(fround(src[x + 16 + j] - min) * id) + 0.5) | 0) & 0xff;
        dst[o + 8 + j] = (q0 & 15) | ((q1 & 15) << 4);
        qh |= (((q0 & 16) >> 4) << j) | (((q1 & 16) >> 4) << (j + 16));
      }
      putU32(dst, o + 4, qh);
    }
    return nb * 24;
  }
  return quantizeWeighted(src, dst, nrows, nPerRow, imatrix, 5, true);
}

/** dequantize_row_q5_1 (ggml-quants.c); no WebAssembly twin. */
function dequantizeQ5_1(src: Uint8Array, dst: Float32Array, n: number): void {
  const nb = checkDequantizeArgs('Q5_1', QK, 24, src, dst, n);
  for (let ib = 0; ib < nb; ib++) {
    const o = ib * 24;
    const d = FP16_TO_FP32[getU16(src, o)];
    const m = FP16_TO_FP32[getU16(src, o + 2)];
    const qh = getU32(src, o + 4);
    const y = ib * QK;
    for (let j = 0; j < 16; j++) {
      const q = src[o + 8 + j];
      const h0 = ((qh >>> j) << 4) & 16;
      const h1 = (qh >>> (j + 12)) & 16;
      dst[y + j] = fround(((q & 15) | h0) * d) + m;
      dst[y + 16 + j] = fround(((q >> 4) | h1) * d) + m;
    }
  }
}

// ============================================================================================
// Q8_0 {d: f16, qs: int8[32]}: d = amax/127, q = roundf(x/d); value q·d. The imatrix is ignored.

/** quantize_q8_0 (ggml-quants.c: quantize_row_q8_0_ref); WebAssembly twin: quantizeQ8_0 in wasm/assembly/index.ts. */
function quantizeQ8_0(src: Float32Array, dst: Uint8Array, nrows: number, nPerRow: number, imatrix?: Float32Array): number {
  const nb = checkQuantizeArgs('Q8_0', QK, 34, src, dst, nrows, nPerRow, imatrix);
  let x = 0;
  let o = 0;
  for (let ib = 0; ib < nb; ib++, x += QK, o += 34) {
    const amax = absMax(src, x, QK);
    const d = fround(amax / 127);
    const id = d !== 0 ? fround(1 / d) : 0;
    const h = fp32ToFp16(d);
    dst[o] = h & 0xff;
    dst[o + 1] = h >>> 8;
    for (let j = 0; j < QK; j++) {
      const v = fround(src[x + j] * id);
      // roundf (half away from zero) without a sign branch: trunc(2v − trunc(v)); |v| ≤ 127, and
      // for v = ±inf/NaN (id = inf) both this and ggml's cast store 0.
      dst[o + 2 + j] = (2 * v - (v | 0)) | 0;
    }
  }
  return nb * 34;
}

/** dequantize_row_q8_0 (ggml-quants.c); no WebAssembly twin. */
function dequantizeQ8_0(src: Uint8Array, dst: Float32Array, n: number): void {
  const nb = checkDequantizeArgs('Q8_0', QK, 34, src, dst, n);
  for (let ib = 0; ib < nb; ib++) {
    const o = ib * 34;
    const d = FP16_TO_FP32[src[o] | (src[o + 1] << 8)];
    const y = ib * QK;
    for (let j = 0; j < QK; j++) dst[y + j] = ((src[o + 2 + j] << 24) >> 24) * d;
  }
}

// ============================================================================================
// Q8_1 {d: f16, s: f16 (= d·Σq), qs: int8[32]}: an activation format llama-quantize never writes;
// ggml has no to_float for it and ggml_quantize_chunk rejects it, so the kernel registers only
// dequantize (q·d); quantize_row_q8_1_ref is exported for callers that need the block format.

/** quantize_row_q8_1_ref (ggml-quants.c); no WebAssembly twin. */
export function quantizeQ8_1Ref(src: Float32Array, dst: Uint8Array, nrows: number, nPerRow: number): number {
  const nb = checkQuantizeArgs('Q8_1', QK, 36, src, dst, nrows, nPerRow);
  for (let ib = 0; ib < nb; ib++) {
    const x = ib * QK;
    const o = ib * 36;
    const amax = absMax(src, x, QK);
    const d = fround(amax / 127);
    const id = d !== 0 ? fround(1 / d) : 0;
    putU16(dst, o, fp32ToFp16(d));
    let sum = 0;
    for (let j = 0; j < QK; j++) {
      const v = fround(src[x + j] * id);
      const q = (2 * v - (v | 0)) | 0; // roundf, as in Q8_0
      dst[o + 4 + j] = q;
      sum += q;
    }
    putU16(dst, o + 2, fp32ToFp16(fround(sum * d)));
  }
  return nb * 36;
}

/** the inverse of quantize_row_q8_1_ref (ggml has no dequantize_row_q8_1); no WebAssembly twin. */
function dequantizeQ8_1(src: Uint8Array, dst: Float32Array, n: number): void {
  const nb = checkDequantizeArgs('Q8_1', QK, 36, src, dst, n);
  for (let ib = 0; ib < nb; ib++) {
    const o = ib * 36;
    const d = FP16_TO_FP32[getU16(src, o)];
    const y = ib * QK;
    for (let j = 0; j < QK; j++) dst[y + j] = ((src[o + 4 + j] << 24) >> 24) * d;
  }
}

// ============================================================================================
// Q1_0 {d: f16, qs[16]}, 128 per block: d = Σ|x|/128, bit j%8 of qs[j/8] set when x ≥ 0;
// value ±d. The imatrix is ignored (ggml goes row by row then, which gives the same bytes).

const QK1 = 128;

/** quantize_q1_0 (ggml-quants.c: quantize_row_q1_0_ref); no WebAssembly twin. */
function quantizeQ1_0(src: Float32Array, dst: Uint8Array, nrows: number, nPerRow: number, imatrix?: Float32Array): number {
  const nb = checkQuantizeArgs('Q1_0', QK1, 18, src, dst, nrows, nPerRow, imatrix);
  for (let ib = 0; ib < nb; ib++) {
    const x = ib * QK1;
    const o = ib * 18;
    let sum = 0;
    for (let j = 0; j < QK1; j++) sum = fround(sum + Math.abs(src[x + j]));
    putU16(dst, o, fp32ToFp16(fround(sum / QK1)));
    for (let k = 0; k < 16; k++) {
      let bits = 0;
      // +(cond) compiles without a branch; random signs would mispredict an `if` half the time.
      for (let b = 0; b < 8; b++) bits |= +(src[x + 8 * k + b] >= 0) << b;
      dst[o + 2 + k] = bits;
    }
  }
  return nb * 18;
}

/** dequantize_row_q1_0 (ggml-quants.c); no WebAssembly twin. */
function dequantizeQ1_0(src: Uint8Array, dst: Float32Array, n: number): void {
  const nb = checkDequantizeArgs('Q1_0', QK1, 18, src, dst, n);
  for (let ib = 0; ib < nb; ib++) {
    const o = ib * 18;
    const d = FP16_TO_FP32[getU16(src, o)];
    const y = ib * QK1;
    for (let j = 0; j < QK1; j++) dst[y + j] = (src[o + 2 + (j >> 3)] >> (j & 7)) & 1 ? d : -d;
  }
}

// ============================================================================================
// Q2_0 {d: f16, qs[16]}, 64 per block: d = amax, q = clamp(roundf(x/d) + 1, 0, 3) at bits 2·(j%4)
// of qs[j/4]; value (q − 1)·d. The imatrix is ignored.

const QK2 = 64;

/** quantize_q2_0 (ggml-quants.c: quantize_row_q2_0_ref); no WebAssembly twin. */
function quantizeQ2_0(src: Float32Array, dst: Uint8Array, nrows: number, nPerRow: number, imatrix?: Float32Array): number {
  const nb = checkQuantizeArgs('Q2_0', QK2, 18, src, dst, nrows, nPerRow, imatrix);
  for (let ib = 0; ib < nb; ib++) {
    const x = ib * QK2;
    const o = ib * 18;
    const amax = absMax(src, x, QK2);
    const d = amax;
    const id = d > 0 ? fround(1 / d) : 0;
    putU16(dst, o, fp32ToFp16(d));
    for (let k = 0; k < 16; k++) {
      let byte = 0;
      for (let b = 0; b < 4; b++) {
        const v = fround(src[x + 4 * k + b] * id);
        // (int)roundf(v): a subnormal d makes id = inf, and ggml's cast then gives INT_MIN (→ q = 0).
        let q = cvtToInt32(2 * v - Math.trunc(v)) + 1;
        if (q < 0) q = 0;
        if (q > 3) q = 3;
        byte |= q << (2 * b);
      }
      dst[o + 2 + k] = byte;
    }
  }
  return nb * 18;
}

/** dequantize_row_q2_0 (ggml-quants.c); no WebAssembly twin. */
function dequantizeQ2_0(src: Uint8Array, dst: Float32Array, n: number): void {
  const nb = checkDequantizeArgs('Q2_0', QK2, 18, src, dst, n);
  for (let ib = 0; ib < nb; ib++) {
    const o = ib * 18;
    const d = FP16_TO_FP32[getU16(src, o)];
    const y = ib * QK2;
    for (let j = 0; j < QK2; j++) dst[y + j] = (((src[o + 2 + (j >> 2)] >> (2 * (j & 3))) & 3) - 1) * d;
  }
}

registerKernel({ type: GgmlType.Q4_0, quantize: quantizeQ4_0, dequantize: dequantizeQ4_0 });
registerKernel({ type: GgmlType.Q4_1, quantize: quantizeQ4_1, dequantize: dequantizeQ4_1 });
registerKernel({ type: GgmlType.Q5_0, quantize: quantizeQ5_0, dequantize: dequantizeQ5_0 });
registerKernel({ type: GgmlType.Q5_1, quantize: quantizeQ5_1, dequantize: dequantizeQ5_1 });
registerKernel({ type: GgmlType.Q8_0, quantize: quantizeQ8_0, dequantize: dequantizeQ8_0 });
registerKernel({ type: GgmlType.Q8_1, dequantize: dequantizeQ8_1 });
registerKernel({ type: GgmlType.Q1_0, quantize: quantizeQ1_0, dequantize: dequantizeQ1_0 });
registerKernel({ type: GgmlType.Q2_0, quantize: quantizeQ2_0, dequantize: dequantizeQ2_0 });

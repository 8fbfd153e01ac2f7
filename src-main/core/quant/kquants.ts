// K-quants (Q2_K … Q6_K): 256-value super-blocks with 16- or 32-value sub-blocks whose scales are
// themselves quantized. Bit-exact ports of ggml_quantize_chunk for these types (ggml-quants.c):
// without an imatrix the quantize_row_qX_K_ref path over all rows at once, with one the
// quantize_row_qX_K_impl path row by row (the imatrix is one per-column vector reused by every row).
// Every float operation is rounded to binary32 in source order; the requantization pass reads the
// stored fp16 scales back, and keeps the first-pass levels of a sub-block whose scale is zero.
// Layouts: ../shared/spec/llama-quant-facts.md §2.1 (beside the repository).

import { registerKernel } from './registry.ts';
import type { QuantKernel } from './types.ts';
import { GgmlType, ggmlTypeName } from '../gguf/ggml-types.ts';
import { fround as f32, nearestInt as nearestIntImport, fp32ToFp16 as fp32ToFp16Import, FP16_TO_FP32 as FP16_TABLE } from './numeric.ts';
import { makeQxQuants, makeQkx2Quants, makeQkx3Quants, makeQpQuants } from './scale-search.ts';
import { checkQuantizeArgs, checkDequantizeArgs } from './block-args.ts';

// Local bindings: hot loops then call plain functions, whatever module format the loader produces.
const fround = f32;
const nearestInt = nearestIntImport;
const fp32ToFp16 = fp32ToFp16Import;
const FP16_TO_FP32 = FP16_TABLE;
const QK_K = 256;
const GROUP_MAX_EPS = fround(1e-15);

// Module-level scratch (single-threaded): levels, weights, per-sub-block scales/mins.
const L = new Uint8Array(QK_K);
const W = new Float32Array(32);
const SCALES = new Float32Array(16);
const MINS = new Float32Array(16);
const SW = new Float32Array(16);
const LS = new Uint8Array(16);
const LM = new Uint8Array(16);
const LQ3 = new Int8Array(16); // make_q3_quants' signed levels

function writeF16(dst: Uint8Array, o: number, h: number): void {
  dst[o] = h & 0xff;
  dst[o + 1] = h >>> 8;
}

function readF16(src: Uint8Array, o: number): number {
  return FP16_TO_FP32[src[o] | (src[o + 1] << 8)];
}

/** Σx² over the 256 values of a super-block, sequential (sigma² of the imatrix paths). */
function sumSquares(x: Float32Array, xo: number): number {
  let s = 0;
  for (let l = 0; l < QK_K; l++) {
    const v = x[xo + l];
    s = fround(s + fround(v * v));
  }
  return s;
}

/** weight = qw · sqrtf(sigma2 + x²) for n values; returns their sequential sum. */
function imatrixWeights(x: Float32Array, xo: number, qw: Float32Array, qo: number, sigma2: number, n: number): number {
  let sumw = 0;
  for (let l = 0; l < n; l++) {
    const v = x[xo + l];
    const w = fround(qw[qo + l] * fround(Math.sqrt(fround(sigma2 + fround(v * v)))));
    W[l] = w;
    sumw = fround(sumw + w);
  }
  return sumw;
}

/** Packs 2-bit levels L[0..255] into qs as Q2_K and Q3_K store them. */
function pack2Bit(dst: Uint8Array, qo: number): void {
  for (let j = 0; j < QK_K; j += 128) {
    const o = qo + (j >> 2);
    for (let l = 0; l < 32; l++) {
      dst[o + l] = L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6);
    }
  }
}

// ============================================================================ Q2_K
// {scales[16], qs[64], d, dmin}: 16 sub-blocks of 16, 4-bit scale (low) and min (high) nibbles.

const Q2_K_BYTES = 84;

/** Requantize with the stored d/dmin and pack (shared tail of both Q2_K paths). */
function finishQ2_KBlock(x: Float32Array, xo: number, dst: Uint8Array, o: number): void {
  const d = readF16(dst, o + 80);
  const dmin = readF16(dst, o + 82);
  for (let j = 0; j < 16; j++) {
    const sc = dst[o + j];
    const dl = fround(d * (sc & 0xf));
    if (dl === 0) continue;
    const dm = fround(dmin * (sc >> 4));
    const b = xo + 16 * j;
    for (let ii = 0; ii < 16; ii++) {
      const l = nearestInt(fround(fround(x[b + ii] + dm) / dl));
      L[16 * j + ii] = l < 0 ? 0 : l > 3 ? 3 : l;
    }
  }
  pack2Bit(dst, o + 16);
}

/** quantize_row_q2_K_ref (ggml-quants.c); WebAssembly twin: quantizeQ2_KRef in wasm/assembly/kquants.ts. */
function quantizeQ2_KRef(x: Float32Array, dst: Uint8Array, nb: number): void {
  for (let i = 0; i < nb; i++) {
    const xo = i * QK_K;
    const o = i * Q2_K_BYTES;
    let maxScale = 0;
    let maxMin = 0;
    for (let j = 0; j < 16; j++) {
      const b = xo + 16 * j;
      for (let l = 0; l < 16; l++) W[l] = Math.abs(x[b + l]);
      const scale = makeQkx2Quants(16, 3, x, b, W, 0, L, 16 * j, MINS, j, -0.5, fround(0.1), 15, true);
      SCALES[j] = scale;
      if (scale > maxScale) maxScale = scale;
      const min = MINS[j];
      if (min > maxMin) maxMin = min;
    }
    if (maxScale > 0) {
      const iscale = fround(15 / maxScale);
      for (let j = 0; j < 16; j++) dst[o + j] = nearestInt(fround(iscale * SCALES[j]));
      writeF16(dst, o + 80, fp32ToFp16(fround(maxScale / 15)));
    } else {
      for (let j = 0; j < 16; j++) dst[o + j] = 0;
      writeF16(dst, o + 80, 0);
    }
    if (maxMin > 0) {
      const iscale = fround(15 / maxMin);
      for (let j = 0; j < 16; j++) dst[o + j] |= nearestInt(fround(iscale * MINS[j])) << 4;
      writeF16(dst, o + 82, fp32ToFp16(fround(maxMin / 15)));
    } else {
      writeF16(dst, o + 82, 0);
    }
    finishQ2_KBlock(x, xo, dst, o);
  }
}

/** quantize_row_q2_K_impl with quant weights (ggml-quants.c); WebAssembly twin: quantizeQ2_KImatrix in wasm/assembly/kquants.ts. */
function quantizeQ2_KImatrix(x: Float32Array, dst: Uint8Array, nb: number, rowX: number, rowDst: number, qw: Float32Array): void {
  for (let i = 0; i < nb; i++) {
    const xo = rowX + i * QK_K;
    const o = rowDst + i * Q2_K_BYTES;
    const sigma2 = fround(sumSquares(x, xo) / QK_K);
    for (let j = 0; j < 16; j++) {
      const b = xo + 16 * j;
      SW[j] = imatrixWeights(x, b, qw, QK_K * i + 16 * j, sigma2, 16);
      SCALES[j] = makeQkx3Quants(16, 3, x, b, W, 0, L, 16 * j, MINS, j, fround(-0.9), fround(0.05), 36, false);
    }
    const dm = makeQpQuants(16, 15, SCALES, 0, LS, 0, SW, 0);
    const mm = makeQpQuants(16, 15, MINS, 0, LM, 0, SW, 0);
    writeF16(dst, o + 80, fp32ToFp16(dm));
    writeF16(dst, o + 82, fp32ToFp16(mm));
    for (let j = 0; j < 16; j++) dst[o + j] = LS[j] | (LM[j] << 4);
    finishQ2_KBlock(x, xo, dst, o);
  }
}

/** dequantize_row_q2_K (ggml-quants.c); no WebAssembly twin. */
function dequantizeQ2_K(src: Uint8Array, y: Float32Array, nb: number): void {
  for (let i = 0; i < nb; i++) {
    const o = i * Q2_K_BYTES;
    const d = readF16(src, o + 80);
    const min = readF16(src, o + 82);
    let yo = i * QK_K;
    let is = 0;
    for (let n = 0; n < QK_K; n += 128) {
      const q = o + 16 + (n >> 2);
      for (let shift = 0; shift < 8; shift += 2) {
        for (let half = 0; half < 32; half += 16) {
          const sc = src[o + is++];
          const dl = fround(d * (sc & 0xf));
          const ml = fround(min * (sc >> 4));
          for (let l = 0; l < 16; l++) y[yo++] = fround(dl * ((src[q + half + l] >> shift) & 3)) - ml;
        }
      }
    }
  }
}

// ============================================================================ Q3_K
// {hmask[32], qs[64], scales[12], d}: 16 sub-blocks of 16, signed 6-bit scales stored +32.

const Q3_K_BYTES = 110;

/** make_q3_quants(n=16, nmax=4, x, L, do_rmse=true): levels + 4 into L[lOff…], returns the scale. */
function makeQ3Quants(x: Float32Array, xo: number, lOff: number): number {
  const n = 16;
  const nmax = 4;
  let max = 0;
  let amax = 0;
  for (let i = 0; i < n; i++) {
    const v = x[xo + i];
    const av = Math.abs(v);
    if (av > amax) { amax = av; max = v; }
  }
  if (amax < GROUP_MAX_EPS) {
    for (let i = 0; i < n; i++) L[lOff + i] = 0;
    return 0;
  }
  const iscale = fround(-nmax / max);
  let sumlx = 0;
  let suml2 = 0;
  for (let i = 0; i < n; i++) {
    const v = x[xo + i];
    let l = nearestInt(fround(iscale * v));
    l = l < -nmax ? -nmax : l > nmax - 1 ? nmax - 1 : l;
    LQ3[i] = l;
    const w = fround(v * v);
    sumlx = fround(sumlx + fround(fround(w * v) * l));
    suml2 = fround(suml2 + fround(fround(w * l) * l));
  }
  for (let itry = 0; itry < 5; itry++) {
    let nChanged = 0;
    for (let i = 0; i < n; i++) {
      const v = x[xo + i];
      const w = fround(v * v);
      const li = LQ3[i];
      let slx = fround(sumlx - fround(fround(w * v) * li));
      if (slx > 0) {
        let sl2 = fround(suml2 - fround(fround(w * li) * li));
        let newL = nearestInt(fround(fround(v * sl2) / slx));
        newL = newL < -nmax ? -nmax : newL > nmax - 1 ? nmax - 1 : newL;
        if (newL !== li) {
          slx = fround(slx + fround(fround(w * v) * newL));
          sl2 = fround(sl2 + fround(fround(w * newL) * newL));
          if (sl2 > 0 && fround(fround(slx * slx) * suml2) > fround(fround(sumlx * sumlx) * sl2)) {
            LQ3[i] = newL;
            sumlx = slx;
            suml2 = sl2;
            nChanged++;
          }
        }
      }
    }
    if (nChanged === 0) break;
  }
  for (let i = 0; i < n; i++) L[lOff + i] = LQ3[i] + nmax;
  return suml2 > 0 ? fround(sumlx / suml2) : 0;
}

/** Packs the 6-bit value l (0…63) of sub-block j into the 12 Q3_K scale bytes at so (pre-zeroed). */
function packQ3Scale(dst: Uint8Array, so: number, j: number, l: number): void {
  if (j < 8) dst[so + j] = l & 0xf;
  else dst[so + j - 8] |= (l & 0xf) << 4;
  dst[so + 8 + (j & 3)] |= (l >> 4) << (2 * (j >> 2));
}

/** Requantize with the stored d, split off the high bit into hmask and pack (both Q3_K paths). */
function finishQ3_KBlock(x: Float32Array, xo: number, dst: Uint8Array, o: number): void {
  const so = o + 96;
  const dAll = readF16(dst, o + 108);
  for (let j = 0; j < 16; j++) {
    const lo = j < 8 ? dst[so + j] & 0xf : dst[so + j - 8] >> 4;
    const sc = (lo | (((dst[so + 8 + (j & 3)] >> (2 * (j >> 2))) & 3) << 4)) - 32;
    const d = fround(dAll * sc);
    if (d === 0) continue;
    const b = xo + 16 * j;
    for (let ii = 0; ii < 16; ii++) {
      const l = nearestInt(fround(x[b + ii] / d));
      L[16 * j + ii] = (l < -4 ? -4 : l > 3 ? 3 : l) + 4;
    }
  }
  for (let m = 0; m < 32; m++) dst[o + m] = 0;
  for (let j = 0; j < QK_K; j++) {
    if (L[j] > 3) {
      dst[o + (j & 31)] |= 1 << (j >> 5);
      L[j] -= 4;
    }
  }
  pack2Bit(dst, o + 32);
}

/** quantize_row_q3_K_ref (ggml-quants.c); WebAssembly twin: quantizeQ3_KRef in wasm/assembly/kquants.ts. */
function quantizeQ3_KRef(x: Float32Array, dst: Uint8Array, nb: number): void {
  for (let i = 0; i < nb; i++) {
    const xo = i * QK_K;
    const o = i * Q3_K_BYTES;
    const so = o + 96;
    let maxScale = 0;
    let amax = 0;
    for (let j = 0; j < 16; j++) {
      const scale = makeQ3Quants(x, xo + 16 * j, 16 * j);
      SCALES[j] = scale;
      const a = Math.abs(scale);
      if (a > amax) { amax = a; maxScale = scale; }
    }
    for (let k = 0; k < 12; k++) dst[so + k] = 0;
    if (maxScale !== 0) {
      const iscale = fround(-32 / maxScale);
      for (let j = 0; j < 16; j++) {
        let l = (nearestInt(fround(iscale * SCALES[j])) << 24) >> 24; // int8_t l = nearest_int(…)
        l = (l < -32 ? -32 : l > 31 ? 31 : l) + 32;
        packQ3Scale(dst, so, j, l);
      }
      writeF16(dst, o + 108, fp32ToFp16(fround(1 / iscale)));
    } else {
      writeF16(dst, o + 108, 0);
    }
    finishQ3_KBlock(x, xo, dst, o);
  }
}

/** quantize_row_q3_K_impl with quant weights (ggml-quants.c); WebAssembly twin: quantizeQ3_KImatrix in wasm/assembly/kquants.ts. */
function quantizeQ3_KImatrix(x: Float32Array, dst: Uint8Array, nb: number, rowX: number, rowDst: number, qw: Float32Array): void {
  for (let i = 0; i < nb; i++) {
    const xo = rowX + i * QK_K;
    const o = rowDst + i * Q3_K_BYTES;
    const so = o + 96;
    const sigma2 = fround(fround(2 * sumSquares(x, xo)) / QK_K);
    for (let j = 0; j < 16; j++) {
      const b = xo + 16 * j;
      SW[j] = imatrixWeights(x, b, qw, QK_K * i + 16 * j, sigma2, 16);
      SCALES[j] = makeQxQuants(16, 4, x, b, L, 16 * j, 1, W, 0);
    }
    for (let k = 0; k < 12; k++) dst[so + k] = 0;
    const dBlock = makeQxQuants(16, 32, SCALES, 0, LS, 0, 1, SW, 0);
    for (let j = 0; j < 16; j++) packQ3Scale(dst, so, j, LS[j]);
    writeF16(dst, o + 108, fp32ToFp16(dBlock));
    finishQ3_KBlock(x, xo, dst, o);
  }
}

/** dequantize_row_q3_K (ggml-quants.c); no WebAssembly twin. */
function dequantizeQ3_K(src: Uint8Array, y: Float32Array, nb: number): void {
  for (let i = 0; i < nb; i++) {
    const o = i * Q3_K_BYTES;
    const so = o + 96;
    const dAll = readF16(src, o + 108);
    let yo = i * QK_K;
    let is = 0;
    let m = 1;
    for (let n = 0; n < QK_K; n += 128) {
      const q = o + 32 + (n >> 2);
      for (let shift = 0; shift < 8; shift += 2) {
        for (let half = 0; half < 32; half += 16) {
          const j = is++;
          const lo = j < 8 ? src[so + j] & 0xf : src[so + j - 8] >> 4;
          const sc = (lo | (((src[so + 8 + (j & 3)] >> (2 * (j >> 2))) & 3) << 4)) - 32;
          const dl = fround(dAll * sc);
          for (let l = 0; l < 16; l++) {
            const q3 = ((src[q + half + l] >> shift) & 3) - ((src[o + half + l] & m) !== 0 ? 0 : 4);
            y[yo++] = dl * q3;
          }
        }
        m <<= 1;
      }
    }
  }
}

// ============================================================================ Q4_K / Q5_K
// {d, dmin, scales[12], [qh[32] (Q5_K)], qs[128]}: 8 sub-blocks of 32, 6-bit scales and mins packed
// by the k4 scheme (get_scale_min_k4).

const Q4_K_BYTES = 144;
const Q5_K_BYTES = 176;

/** Packs 6-bit scale ls and min lm of sub-block j into the 12 bytes at so (j ascending from 0). */
function packK4(dst: Uint8Array, so: number, j: number, ls: number, lm: number): void {
  if (j < 4) {
    dst[so + j] = ls;
    dst[so + j + 4] = lm;
  } else {
    dst[so + j + 4] = (ls & 0xf) | ((lm & 0xf) << 4);
    dst[so + j - 4] |= (ls >> 4) << 6;
    dst[so + j] |= (lm >> 4) << 6;
  }
}

function k4Scale(s: Uint8Array, so: number, j: number): number {
  return j < 4 ? s[so + j] & 63 : (s[so + j + 4] & 0xf) | ((s[so + j - 4] >> 6) << 4);
}

function k4Min(s: Uint8Array, so: number, j: number): number {
  return j < 4 ? s[so + j + 4] & 63 : (s[so + j + 4] >> 4) | ((s[so + j] >> 6) << 4);
}

/** Requantize the 8 sub-blocks with the stored d/dmin into L (levels 0…nmax). */
function k4Requantize(x: Float32Array, xo: number, dst: Uint8Array, o: number, nmax: number): void {
  const d = readF16(dst, o);
  const dmin = readF16(dst, o + 2);
  for (let j = 0; j < 8; j++) {
    const dl = fround(d * k4Scale(dst, o + 4, j));
    if (dl === 0) continue;
    const dm = fround(dmin * k4Min(dst, o + 4, j));
    const b = xo + 32 * j;
    for (let ii = 0; ii < 32; ii++) {
      const l = nearestInt(fround(fround(x[b + ii] + dm) / dl));
      L[32 * j + ii] = l < 0 ? 0 : l > nmax ? nmax : l;
    }
  }
}

function packQ4_K(dst: Uint8Array, o: number): void {
  let q = o + 16;
  for (let j = 0; j < QK_K; j += 64) {
    for (let l = 0; l < 32; l++) dst[q + l] = L[j + l] | (L[j + l + 32] << 4);
    q += 32;
  }
}

function packQ5_K(dst: Uint8Array, o: number): void {
  const qh = o + 16;
  let ql = o + 48;
  for (let j = 0; j < 32; j++) dst[qh + j] = 0;
  let m1 = 1;
  let m2 = 2;
  for (let n = 0; n < QK_K; n += 64) {
    for (let j = 0; j < 32; j++) {
      let l1 = L[n + j];
      if (l1 > 15) { l1 -= 16; dst[qh + j] |= m1; }
      let l2 = L[n + j + 32];
      if (l2 > 15) { l2 -= 16; dst[qh + j] |= m2; }
      dst[ql + j] = l1 | (l2 << 4);
    }
    m1 <<= 2;
    m2 <<= 2;
    ql += 32;
  }
}

/**
 * What separates Q4_K from Q5_K in ggml's shared scheme: the level range, the block size, the ref
 * path's search range, and the packing of the levels.
 */
interface K4Format {
  readonly nmax: number;
  readonly blockBytes: number;
  readonly refRmin: number;
  readonly refNstep: number;
  readonly packLevels: (dst: Uint8Array, o: number) => void;
}

const Q4_K_FORMAT: K4Format = { nmax: 15, blockBytes: Q4_K_BYTES, refRmin: -1, refNstep: 20, packLevels: packQ4_K };
const Q5_K_FORMAT: K4Format = { nmax: 31, blockBytes: Q5_K_BYTES, refRmin: -0.5, refNstep: 15, packLevels: packQ5_K };

/** The ref path shared by Q4_K and Q5_K: nb super-blocks as one stream. */
function k4RefBlocks(x: Float32Array, dst: Uint8Array, nb: number, format: K4Format): void {
  const { nmax, blockBytes, refRmin: rmin, refNstep: nstep } = format;
  const rdelta = fround(0.1);
  for (let i = 0; i < nb; i++) {
    const xo = i * QK_K;
    const o = i * blockBytes;
    let maxScale = 0;
    let maxMin = 0;
    for (let j = 0; j < 8; j++) {
      const b = xo + 32 * j;
      let sumX2 = 0;
      for (let l = 0; l < 32; l++) {
        const v = x[b + l];
        sumX2 = fround(sumX2 + fround(v * v));
      }
      const avX = fround(Math.sqrt(fround(sumX2 / 32)));
      for (let l = 0; l < 32; l++) W[l] = avX + Math.abs(x[b + l]); // rounded by the Float32Array store
      const scale = makeQkx2Quants(32, nmax, x, b, W, 0, L, 32 * j, MINS, j, rmin, rdelta, nstep, false);
      SCALES[j] = scale;
      if (scale > maxScale) maxScale = scale;
      const min = MINS[j];
      if (min > maxMin) maxMin = min;
    }
    const invScale = maxScale > 0 ? fround(63 / maxScale) : 0;
    const invMin = maxMin > 0 ? fround(63 / maxMin) : 0;
    for (let j = 0; j < 8; j++) {
      // uint8_t ls = nearest_int(…) wraps before MIN(63, ls).
      let ls = nearestInt(fround(invScale * SCALES[j])) & 0xff;
      let lm = nearestInt(fround(invMin * MINS[j])) & 0xff;
      if (ls > 63) ls = 63;
      if (lm > 63) lm = 63;
      packK4(dst, o + 4, j, ls, lm);
    }
    writeF16(dst, o, fp32ToFp16(fround(maxScale / 63)));
    writeF16(dst, o + 2, fp32ToFp16(fround(maxMin / 63)));
    k4Requantize(x, xo, dst, o, nmax);
    format.packLevels(dst, o);
  }
}

/** quantize_row_q4_K_ref (ggml-quants.c); WebAssembly twin: quantizeQ4_KRef in wasm/assembly/kquants.ts. */
function quantizeQ4_KRef(x: Float32Array, dst: Uint8Array, nb: number): void {
  k4RefBlocks(x, dst, nb, Q4_K_FORMAT);
}

/** quantize_row_q5_K_ref (ggml-quants.c); WebAssembly twin: quantizeQ5_KRef in wasm/assembly/kquants.ts. */
function quantizeQ5_KRef(x: Float32Array, dst: Uint8Array, nb: number): void {
  k4RefBlocks(x, dst, nb, Q5_K_FORMAT);
}

/**
 * The first half of the imatrix path shared by Q4_K and Q5_K for super-block i of the row at
 * x[xo]: weighted scale and min searches, their 6-bit levels into LS/LM, d and dmin into the block.
 */
function k4ImatrixScales(x: Float32Array, xo: number, i: number, qw: Float32Array, nmax: number, dst: Uint8Array, o: number): void {
  const rmin = fround(-0.9);
  const rdelta = fround(0.05);
  const sigma2 = fround(fround(2 * sumSquares(x, xo)) / QK_K);
  for (let j = 0; j < 8; j++) {
    const b = xo + 32 * j;
    SW[j] = imatrixWeights(x, b, qw, QK_K * i + 32 * j, sigma2, 32);
    SCALES[j] = makeQkx3Quants(32, nmax, x, b, W, 0, L, 32 * j, MINS, j, rmin, rdelta, 36, false);
  }
  writeF16(dst, o, fp32ToFp16(makeQpQuants(8, 63, SCALES, 0, LS, 0, SW, 0)));
  writeF16(dst, o + 2, fp32ToFp16(makeQpQuants(8, 63, MINS, 0, LM, 0, SW, 0)));
}

/** quantize_row_q4_K_impl with quant weights (ggml-quants.c); WebAssembly twin: quantizeQ4_KImatrix in wasm/assembly/kquants.ts. */
function quantizeQ4_KImatrix(x: Float32Array, dst: Uint8Array, nb: number, rowX: number, rowDst: number, qw: Float32Array): void {
  for (let i = 0; i < nb; i++) {
    const xo = rowX + i * QK_K;
    const o = rowDst + i * Q4_K_BYTES;
    k4ImatrixScales(x, xo, i, qw, 15, dst, o);
    for (let j = 0; j < 8; j++) packK4(dst, o + 4, j, LS[j], LM[j]); // unclamped, as ggml's Q4_K
    k4Requantize(x, xo, dst, o, 15);
    packQ4_K(dst, o);
  }
}

/** quantize_row_q5_K_impl with quant weights (ggml-quants.c); WebAssembly twin: quantizeQ5_KImatrix in wasm/assembly/kquants.ts. */
function quantizeQ5_KImatrix(x: Float32Array, dst: Uint8Array, nb: number, rowX: number, rowDst: number, qw: Float32Array): void {
  for (let i = 0; i < nb; i++) {
    const xo = rowX + i * QK_K;
    const o = rowDst + i * Q5_K_BYTES;
    k4ImatrixScales(x, xo, i, qw, 31, dst, o);
    for (let j = 0; j < 8; j++) packK4(dst, o + 4, j, Math.min(LS[j], 63), Math.min(LM[j], 63)); // only Q5_K clamps
    k4Requantize(x, xo, dst, o, 31);
    packQ5_K(dst, o);
  }
}

/** dequantize_row_q4_K (ggml-quants.c); no WebAssembly twin. */
function dequantizeQ4_K(src: Uint8Array, y: Float32Array, nb: number): void {
  for (let i = 0; i < nb; i++) {
    const o = i * Q4_K_BYTES;
    const d = readF16(src, o);
    const min = readF16(src, o + 2);
    let ql = o + 16;
    let yo = i * QK_K;
    for (let j = 0; j < 8; j += 2) {
      const d1 = fround(d * k4Scale(src, o + 4, j));
      const m1 = fround(min * k4Min(src, o + 4, j));
      const d2 = fround(d * k4Scale(src, o + 4, j + 1));
      const m2 = fround(min * k4Min(src, o + 4, j + 1));
      for (let l = 0; l < 32; l++) y[yo++] = fround(d1 * (src[ql + l] & 0xf)) - m1;
      for (let l = 0; l < 32; l++) y[yo++] = fround(d2 * (src[ql + l] >> 4)) - m2;
      ql += 32;
    }
  }
}

/** dequantize_row_q5_K (ggml-quants.c); no WebAssembly twin. */
function dequantizeQ5_K(src: Uint8Array, y: Float32Array, nb: number): void {
  for (let i = 0; i < nb; i++) {
    const o = i * Q5_K_BYTES;
    const d = readF16(src, o);
    const min = readF16(src, o + 2);
    const qh = o + 16;
    let ql = o + 48;
    let yo = i * QK_K;
    let u1 = 1;
    let u2 = 2;
    for (let j = 0; j < 8; j += 2) {
      const d1 = fround(d * k4Scale(src, o + 4, j));
      const m1 = fround(min * k4Min(src, o + 4, j));
      const d2 = fround(d * k4Scale(src, o + 4, j + 1));
      const m2 = fround(min * k4Min(src, o + 4, j + 1));
      for (let l = 0; l < 32; l++) y[yo++] = fround(d1 * ((src[ql + l] & 0xf) + ((src[qh + l] & u1) !== 0 ? 16 : 0))) - m1;
      for (let l = 0; l < 32; l++) y[yo++] = fround(d2 * ((src[ql + l] >> 4) + ((src[qh + l] & u2) !== 0 ? 16 : 0))) - m2;
      ql += 32;
      u1 <<= 2;
      u2 <<= 2;
    }
  }
}

// ============================================================================ Q6_K
// {ql[128], qh[64], scales:int8[16], d}: 16 sub-blocks of 16, 6-bit levels stored +32.

const Q6_K_BYTES = 210;

/** One Q6_K block from the per-sub-block scales in SCALES and first-pass levels in L. */
function finishQ6_KBlock(x: Float32Array, xo: number, dst: Uint8Array, o: number): void {
  let maxScale = 0;
  let maxAbsScale = 0;
  for (let ib = 0; ib < 16; ib++) {
    const scale = SCALES[ib];
    const a = Math.abs(scale);
    if (a > maxAbsScale) { maxAbsScale = a; maxScale = scale; }
  }
  if (maxAbsScale < GROUP_MAX_EPS) {
    for (let k = 0; k < Q6_K_BYTES; k++) dst[o + k] = 0;
    return;
  }
  const iscale = fround(-128 / maxScale);
  writeF16(dst, o + 208, fp32ToFp16(fround(1 / iscale)));
  for (let ib = 0; ib < 16; ib++) {
    const l = nearestInt(fround(iscale * SCALES[ib]));
    dst[o + 192 + ib] = l > 127 ? 127 : l; // int8 store wraps
  }
  const dAll = readF16(dst, o + 208);
  for (let j = 0; j < 16; j++) {
    const d = fround(dAll * ((dst[o + 192 + j] << 24) >> 24));
    if (d === 0) continue;
    const b = xo + 16 * j;
    for (let ii = 0; ii < 16; ii++) {
      const l = nearestInt(fround(x[b + ii] / d));
      L[16 * j + ii] = (l < -32 ? -32 : l > 31 ? 31 : l) + 32;
    }
  }
  for (let j = 0; j < QK_K; j += 128) {
    const ql = o + (j >> 1);
    const qh = o + 128 + (j >> 2);
    for (let l = 0; l < 32; l++) {
      const a = L[j + l];
      const b = L[j + l + 32];
      const c = L[j + l + 64];
      const e = L[j + l + 96];
      dst[ql + l] = (a & 0xf) | ((c & 0xf) << 4);
      dst[ql + l + 32] = (b & 0xf) | ((e & 0xf) << 4);
      dst[qh + l] = (a >> 4) | ((b >> 4) << 2) | ((c >> 4) << 4) | ((e >> 4) << 6);
    }
  }
}

/**
 * quantize_row_q6_K_impl (ggml-quants.c), which with qw = null is also quantize_row_q6_K_ref;
 * WebAssembly twin: quantizeQ6_KRow in wasm/assembly/kquants.ts.
 */
function quantizeQ6_KRow(x: Float32Array, dst: Uint8Array, nb: number, rowX: number, rowDst: number, qw: Float32Array | null): void {
  for (let i = 0; i < nb; i++) {
    const xo = rowX + i * QK_K;
    for (let ib = 0; ib < 16; ib++) {
      // With an imatrix the raw importances are the weights (no sigma² term).
      SCALES[ib] = makeQxQuants(16, 32, x, xo + 16 * ib, L, 16 * ib, 1, qw, QK_K * i + 16 * ib);
    }
    finishQ6_KBlock(x, xo, dst, rowDst + i * Q6_K_BYTES);
  }
}

/** dequantize_row_q6_K (ggml-quants.c); no WebAssembly twin. */
function dequantizeQ6_K(src: Uint8Array, y: Float32Array, nb: number): void {
  for (let i = 0; i < nb; i++) {
    const o = i * Q6_K_BYTES;
    const d = readF16(src, o + 208);
    for (let n = 0; n < QK_K; n += 128) {
      const ql = o + (n >> 1);
      const qh = o + 128 + (n >> 2);
      const sc = o + 192 + (n >> 4);
      const yo = i * QK_K + n;
      for (let l = 0; l < 32; l++) {
        const is = l >> 4;
        const h = src[qh + l];
        const q1 = ((src[ql + l] & 0xf) | ((h & 3) << 4)) - 32;
        const q2 = ((src[ql + l + 32] & 0xf) | (((h >> 2) & 3) << 4)) - 32;
        const q3 = ((src[ql + l] >> 4) | (((h >> 4) & 3) << 4)) - 32;
        const q4 = ((src[ql + l + 32] >> 4) | (((h >> 6) & 3) << 4)) - 32;
        y[yo + l] = fround(d * ((src[sc + is] << 24) >> 24)) * q1;
        y[yo + l + 32] = fround(d * ((src[sc + is + 2] << 24) >> 24)) * q2;
        y[yo + l + 64] = fround(d * ((src[sc + is + 4] << 24) >> 24)) * q3;
        y[yo + l + 96] = fround(d * ((src[sc + is + 6] << 24) >> 24)) * q4;
      }
    }
  }
}

// ============================================================================ registration

/**
 * A K-quant kernel from its paths: `ref` quantizes nb blocks as one stream (quantize_row_qX_K_ref,
 * no imatrix), `weighted` one row of nb blocks at x[rowX], dst[rowDst] (quantize_row_qX_K_impl; the
 * imatrix is per column, so every row reads it from 0), `dequantize` nb blocks.
 */
function kQuantKernel(
  type: number, blockBytes: number,
  ref: (x: Float32Array, dst: Uint8Array, nb: number) => void,
  weighted: (x: Float32Array, dst: Uint8Array, nb: number, rowX: number, rowDst: number, qw: Float32Array) => void,
  dequantize: (src: Uint8Array, y: Float32Array, nb: number) => void,
): QuantKernel {
  const name = ggmlTypeName(type);
  return {
    type,
    quantize(src, dst, nrows, nPerRow, imatrix) {
      const nb = checkQuantizeArgs(name, QK_K, blockBytes, src, dst, nrows, nPerRow, imatrix);
      if (imatrix === undefined) {
        ref(src, dst, nb);
      } else {
        const rowBlocks = nPerRow / QK_K;
        for (let r = 0; r < nrows; r++) weighted(src, dst, rowBlocks, r * nPerRow, r * rowBlocks * blockBytes, imatrix);
      }
      return nb * blockBytes;
    },
    dequantize(src, dst, n) {
      dequantize(src, dst, checkDequantizeArgs(name, QK_K, blockBytes, src, dst, n));
    },
  };
}

registerKernel(kQuantKernel(GgmlType.Q2_K, Q2_K_BYTES, quantizeQ2_KRef, quantizeQ2_KImatrix, dequantizeQ2_K));
registerKernel(kQuantKernel(GgmlType.Q3_K, Q3_K_BYTES, quantizeQ3_KRef, quantizeQ3_KImatrix, dequantizeQ3_K));
registerKernel(kQuantKernel(GgmlType.Q4_K, Q4_K_BYTES, quantizeQ4_KRef, quantizeQ4_KImatrix, dequantizeQ4_K));
registerKernel(kQuantKernel(GgmlType.Q5_K, Q5_K_BYTES, quantizeQ5_KRef, quantizeQ5_KImatrix, dequantizeQ5_K));
// Q6_K has one path; without an imatrix it reads no row-relative offsets, so all rows go as one stream.
registerKernel(kQuantKernel(GgmlType.Q6_K, Q6_K_BYTES, (x, dst, nb) => quantizeQ6_KRow(x, dst, nb, 0, 0, null), quantizeQ6_KRow, dequantizeQ6_K));

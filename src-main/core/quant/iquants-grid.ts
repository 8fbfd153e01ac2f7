// The grid-based IQ types: IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ1_S, IQ1_M. Each type's
// quantizer (quantize_<type> in ggml-quants.c, the path llama-quantize uses) and its to_float sit
// side by side. Bit-exact rules: every float operation is rounded to binary32 with `f` in the C
// source's evaluation order (no FMA), rounding is nearestInt, and searches keep the first best.

import { quantfitError } from '../errors.ts';
import { GgmlType, ggmlTypeName } from '../gguf/ggml-types.ts';
import { fp16ToFp32, fp32ToFp16, nearestInt } from './numeric.ts';
import { registerKernel } from './registry.ts';
import { makeQpQuants } from './scale-search.ts';
import { IQ1_DELTA, KSIGNS_IQ2XS, gridValues, searchTable, type IqSearchTable } from './iq-grids.ts';

const f = Math.fround;
const QK_K = 256;
const FLT_MAX = 3.4028234663852886e38;
const F0_1 = f(0.1);
const F0_2 = f(0.2);
// GROUP_MAX_EPS* thresholds, as the float constants they are in C.
const EPS = f(1e-15);
const EPS_IQ3_XXS = f(1e-8);
const EPS_IQ2_S = f(1e-8);
const EPS_IQ1_M = f(1e-7);
const EPS_IQ1_S = f(1e-12);

// ------------------------------------------------------------------------------------------------
// Shared pieces

function checkShape(type: number, src: Float32Array, dst: Uint8Array, nrows: number, nPerRow: number, blockBytes: number): number {
  if (nPerRow % QK_K !== 0) {
    throw quantfitError('quant.gridRows', { type: ggmlTypeName(type), block: QK_K, row: nPerRow });
  }
  if (src.length < nrows * nPerRow) throw quantfitError('quant.sourceShort', { type: ggmlTypeName(type), have: src.length, rows: nrows, row: nPerRow });
  const bytes = nrows * (nPerRow / QK_K) * blockBytes;
  if (dst.length < bytes) throw quantfitError('quant.destShort', { type: ggmlTypeName(type), have: dst.length, need: bytes });
  return bytes;
}

function checkImatrix(type: number, nPerRow: number, imatrix: Float32Array | undefined, required: boolean): void {
  if (imatrix === undefined) {
    if (required) throw quantfitError('quant.needsImatrixKernel', { type: ggmlTypeName(type) });
    return;
  }
  if (imatrix.length < nPerRow) {
    throw quantfitError('quant.imatrixRowMismatch', { type: ggmlTypeName(type), have: imatrix.length, row: nPerRow });
  }
}

function checkDequant(type: number, src: Uint8Array, dst: Float32Array, n: number, blockBytes: number): void {
  if (n % QK_K !== 0) throw quantfitError('quant.notWholeBlocks', { type: ggmlTypeName(type), count: n, block: QK_K });
  if (src.length < (n / QK_K) * blockBytes || dst.length < n) {
    throw quantfitError('quant.dequantBuffers', { type: ggmlTypeName(type), count: n });
  }
}

function writeU16(dst: Uint8Array, off: number, v: number): void {
  dst[off] = v & 0xff;
  dst[off + 1] = (v >>> 8) & 0xff;
}

function writeU32(dst: Uint8Array, off: number, v: number): void {
  dst[off] = v & 0xff;
  dst[off + 1] = (v >>> 8) & 0xff;
  dst[off + 2] = (v >>> 16) & 0xff;
  dst[off + 3] = (v >>> 24) & 0xff;
}

function readU16(src: Uint8Array, off: number): number {
  return src[off] | (src[off + 1] << 8);
}

function readU32(src: Uint8Array, off: number): number {
  return (src[off] | (src[off + 1] << 8) | (src[off + 2] << 16) | (src[off + 3] << 24)) >>> 0;
}

/** Σ x² over one 256-block, sequentially in float. */
function sumSquares(x: Float32Array, off: number): number {
  let s = 0;
  for (let i = 0; i < QK_K; i++) s = f(s + f(x[off + i] * x[off + i]));
  return s;
}

/** The imatrix weighting every IQ type uses: qw·√(σ² + x²). */
function imatrixWeights(weight: Float32Array, x: Float32Array, xOff: number, qw: Float32Array, qwOff: number, sigma2: number, n: number): void {
  for (let i = 0; i < n; i++) {
    const xi = x[xOff + i];
    weight[i] = f(qw[qwOff + i] * f(Math.sqrt(f(sigma2 + f(xi * xi)))));
  }
}

/** Weights x² (the no-imatrix IQ3/IQ1_M weighting). */
function squareWeights(weight: Float32Array, x: Float32Array, xOff: number, n: number): void {
  for (let i = 0; i < n; i++) weight[i] = f(x[xOff + i] * x[xOff + i]);
}

/**
 * Split one group of 8 into |x| and sign bits. With `evenParity` (the 7-bit sign types), an odd
 * number of negatives is made even by negating xval of the element with the smallest w·x², whose
 * sign bit is then dropped; the returned byte keeps 7 bits. Otherwise all 8 sign bits are returned.
 */
function splitSigns(x: Float32Array, xOff: number, weight: Float32Array, xval: Float32Array, at: number, evenParity: boolean): number {
  let nflip = 0;
  let s = 0;
  for (let i = 0; i < 8; i++) {
    const v = x[xOff + at + i];
    if (v >= 0) xval[at + i] = v;
    else {
      xval[at + i] = -v;
      nflip++;
      s |= 1 << i;
    }
  }
  if (!evenParity) return s;
  if (nflip % 2) {
    let imin = 0;
    let min = f(f(weight[at] * x[xOff + at]) * x[xOff + at]);
    for (let i = 1; i < 8; i++) {
      const v = x[xOff + at + i];
      const ax = f(f(weight[at + i] * v) * v);
      if (ax < min) {
        min = ax;
        imin = i;
      }
    }
    xval[at + imin] = -xval[at + imin];
    s ^= 1 << imin;
  }
  return s & 127;
}

/** MAX over xval[0..n), as ggml's MAX macro folds it. */
function maxOf(xval: Float32Array, n: number): number {
  let max = xval[0];
  for (let i = 1; i < n; i++) max = max > xval[i] ? max : xval[i];
  return max;
}

/** Level index of the group of `dim` clamped levels starting at L[at]. */
function mapIndex(L: Int8Array, at: number, dim: number, bits: number): number {
  let u = 0;
  for (let i = 0; i < dim; i++) u |= L[at + i] << (bits * i);
  return u;
}

/**
 * iq2_find_best_neighbour / iq3_find_best_neighbour: among the neighbour list of an off-grid point,
 * the entry minimising Σ w·(scale·q − x)² (first best on ties); writes its levels to L[at..].
 */
function bestNeighbour(t: IqSearchTable, listStart: number, xval: Float32Array, waux: Float32Array, at: number, scale: number, L: Int8Array): number {
  const { neighbours, levels, dim } = t;
  const count = neighbours[listStart];
  let best = FLT_MAX;
  let index = -1;
  if (dim === 8) {
    // Grid coordinates take 3 levels here: the 24 possible terms are computed once, then each
    // neighbour's d2 is the same left-to-right float sum of its 8 terms.
    for (let i = 0; i < 8; i++) {
      for (let l = 0; l < 3; l++) {
        const diff = f(f(scale * (2 * l + 1)) - xval[at + i]);
        terms[3 * i + l] = f(f(waux[at + i] * diff) * diff);
      }
    }
    for (let j = 1; j <= count; j++) {
      const entry = neighbours[listStart + j];
      const base = 8 * entry;
      let d2 = 0;
      for (let i = 0; i < 8; i++) d2 = f(d2 + terms[3 * i + levels[base + i]]);
      if (d2 < best) {
        best = d2;
        index = entry;
      }
    }
  } else {
    // 4 coordinates × 8 levels: terms are computed when first needed in this call (neighbours
    // share most of their levels), marked by the call's stamp.
    if (termStamp === 0x7fffffff) {
      termStamp = 0;
      termStamps.fill(0);
    }
    const stamp = ++termStamp;
    for (let j = 1; j <= count; j++) {
      const entry = neighbours[listStart + j];
      const base = 4 * entry;
      let d2 = 0;
      for (let i = 0; i < 4; i++) {
        const l = levels[base + i];
        const slot = 8 * i + l;
        if (termStamps[slot] !== stamp) {
          const diff = f(f(scale * (2 * l + 1)) - xval[at + i]);
          terms[slot] = f(f(waux[at + i] * diff) * diff);
          termStamps[slot] = stamp;
        }
        d2 = f(d2 + terms[slot]);
      }
      if (d2 < best) {
        best = d2;
        index = entry;
      }
    }
  }
  if (index < 0) throw new Error('IQ quantizer: no neighbour is closer than FLT_MAX');
  const base = dim * index;
  for (let i = 0; i < dim; i++) L[at + i] = levels[base + i];
  return index;
}

/** Snap the group at L[at..] to the grid: the map entry, or the best neighbour at `scale`. */
function snap(t: IqSearchTable, L: Int8Array, at: number, xval: Float32Array, waux: Float32Array, scale: number): number {
  const u = mapIndex(L, at, t.dim, t.bits);
  const g = t.map[u];
  return g >= 0 ? g : bestNeighbour(t, -g - 1, xval, waux, at, scale, L);
}

/** Clamped levels of xval[at..at+dim) at inverse scale id: clamp(nearest_int(0.5·(id·x − 1)), 0, maxLevel). */
function levelsAt(L: Int8Array, at: number, dim: number, xval: Float32Array, id: number, maxLevel: number): void {
  for (let i = 0; i < dim; i++) {
    const l = nearestInt(f(0.5 * f(f(id * xval[at + i]) - 1)));
    L[at + i] = l < 0 ? 0 : l > maxLevel ? maxLevel : l;
  }
}

/** The on-grid entry of the group at L[at..]; an off-grid group here is a bug, as ggml's "Oops". */
function onGridEntry(t: IqSearchTable, L: Int8Array, at: number): number {
  const g = t.map[mapIndex(L, at, t.dim, t.bits)];
  if (g < 0) throw new Error('IQ quantizer: final point is not on the grid');
  return g;
}

/** 4-bit block scale from a sub-block scale: clamp(nearest_int(0.5·(id·scale − 1)), 0, max). */
function scaleNibble(id: number, scale: number, max: number): number {
  const l = nearestInt(f(0.5 * f(f(id * scale) - 1)));
  return l < 0 ? 0 : l > max ? max : l;
}

/** Σ w·x·q and Σ w·q² with q = 2L+1 over n values; returns the pair through `sums`. */
function weightedSums(weight: Float32Array, xval: Float32Array, L: Int8Array, n: number, sums: Float64Array): void {
  let sumqx = 0;
  let sumq2 = 0;
  for (let i = 0; i < n; i++) {
    const w = weight[i];
    const q = 2 * L[i] + 1;
    sumqx = f(sumqx + f(f(w * xval[i]) * q));
    sumq2 = f(sumq2 + f(f(w * q) * q));
  }
  sums[0] = sumqx;
  sums[1] = sumq2;
}

// Scratch shared by the quantizers (single-threaded; no allocation per block).
const weight = new Float32Array(32);
const waux = new Float32Array(32);
const xval = new Float32Array(32);
const L = new Int8Array(32);
const Laux = new Int8Array(32);
const qpL = new Uint8Array(32);
const scales = new Float32Array(16);
const blockSigns = new Uint8Array(8);
const onGrid = new Uint8Array(8);
const onGridAux = new Uint8Array(8);
const sums = new Float64Array(2);
const terms = new Float64Array(32);
const termStamps = new Int32Array(32);
let termStamp = 0;

/**
 * The trial-scale search shared by IQ2_XS, IQ2_S, IQ3_XXS and IQ3_S: for id = (base + is·step)/max,
 * snap every group, and keep the L with the best Σwxq²/Σwq². Returns the best scale; L and onGrid
 * hold the winner. `onGridStart` is what onGrid starts as (IQ3_S starts it false).
 */
function trialSearch(
  t: IqSearchTable, n: number, max: number, maxLevel: number, base: number, step: number, isFrom: number, isTo: number,
  onGridStart: boolean,
): number {
  const dim = t.dim;
  const groups = n / dim;
  let best = 0;
  let scale = f(max / base);
  onGrid.fill(onGridStart ? 1 : 0, 0, groups);
  for (let is = isFrom; is <= isTo; is++) {
    const id = f(f(base + f(is * step)) / max);
    const thisScale = f(1 / id);
    for (let k = 0; k < groups; k++) {
      levelsAt(Laux, dim * k, dim, xval, id, maxLevel);
      const g = t.map[mapIndex(Laux, dim * k, dim, t.bits)];
      onGridAux[k] = 1;
      if (g < 0) {
        onGridAux[k] = 0;
        bestNeighbour(t, -g - 1, xval, waux, dim * k, thisScale, Laux);
      }
    }
    weightedSums(weight, xval, Laux, n, sums);
    const sumqx = sums[0];
    const sumq2 = sums[1];
    if (sumq2 > 0 && f(sumqx * sumqx) > f(best * sumq2)) {
      scale = f(sumqx / sumq2);
      best = f(scale * sumqx);
      for (let i = 0; i < n; i++) L[i] = Laux[i];
      for (let k = 0; k < groups; k++) onGrid[k] = onGridAux[k];
    }
  }
  return scale;
}

/**
 * The start of every grid sub-block search (IQ2, IQ3), once `weight` holds the n weights: waux = √w,
 * |x| into xval with the sign bits of each group of 8 in blockSigns (see splitSigns). Returns
 * max |x| (as ggml's MAX folds it).
 */
function signsAndMax(src: Float32Array, xb: number, n: number, evenParity: boolean): number {
  for (let i = 0; i < n; i++) waux[i] = f(Math.sqrt(weight[i]));
  for (let k = 0; k < n / 8; k++) blockSigns[k] = splitSigns(src, xb, weight, xval, 8 * k, evenParity);
  return maxOf(xval, n);
}

/** Whether the trial search left any of its first `groups` groups off the grid. */
function anyOffGrid(groups: number): boolean {
  for (let k = 0; k < groups; k++) if (!onGrid[k]) return true;
  return false;
}

/**
 * After the trial search: snap the groups again at the final scale (all of them, or only those the
 * search left off the grid) into L, then refit the scale by weighted least squares. Returns it.
 */
function resnap(t: IqSearchTable, n: number, scale: number, maxLevel: number, offGridOnly: boolean): number {
  const dim = t.dim;
  const id = f(1 / scale);
  for (let k = 0; k < n / dim; k++) {
    if (offGridOnly && onGrid[k]) continue;
    levelsAt(L, dim * k, dim, xval, id, maxLevel);
    snap(t, L, dim * k, xval, waux, scale);
  }
  weightedSums(weight, xval, L, n, sums);
  return sums[1] > 0 ? f(sums[0] / sums[1]) : scale;
}

/** Flip the sign bits of the first `count` groups (a negative scale made positive). */
function flipSigns(count: number, mask: number): void {
  for (let k = 0; k < count; k++) blockSigns[k] = ~blockSigns[k] & mask;
}

/** 4-bit sub-block scales, two per byte (even sub-block low), from `count` entries of `scales`. */
/**
 * The super-block scale of the 2- and 3-bit grid types: d = max/31, stored as fp16 after the type's
 * fudge factor (1 for IQ2_XXS/IQ2_XS); returns 1/d (from the unfudged d) for the block scales.
 */
function writeSuperScale(dst: Uint8Array, out: number, maxScale: number, fudge: number): number {
  const d = f(maxScale / 31);
  writeU16(dst, out, fp32ToFp16(fudge === 1 ? d : f(d * f(fudge))));
  return f(1 / d);
}

function writeScaleNibbles(dst: Uint8Array, at: number, id: number, count: number): void {
  for (let ib = 0; ib < count; ib += 2) {
    dst[at + ib / 2] = scaleNibble(id, scales[ib], 15) | (scaleNibble(id, scales[ib + 1], 15) << 4);
  }
}

// ------------------------------------------------------------------------------------------------
// IQ2_XXS  {d:f16, qs:u16[32]} = 66 bytes; per 32: u32 of four 8-bit grid indices, u32 of four
// 7-bit sign indices + 4-bit scale.

const IQ2_XXS_BYTES = 66;
const q2xxs = new Uint32Array(16);

/** quantize_iq2_xxs (ggml-quants.c); no WebAssembly twin. */
function quantizeIQ2_XXS(src: Float32Array, dst: Uint8Array, nrows: number, nPerRow: number, imatrix?: Float32Array): number {
  const bytes = checkShape(GgmlType.IQ2_XXS, src, dst, nrows, nPerRow, IQ2_XXS_BYTES);
  checkImatrix(GgmlType.IQ2_XXS, nPerRow, imatrix, true);
  const qw = imatrix as Float32Array;
  const t = searchTable('iq2xxs');
  const kMaxQ = 3;
  const nbl = nPerRow / QK_K;
  for (let row = 0; row < nrows; row++) {
    for (let ibl = 0; ibl < nbl; ibl++) {
      const xbl = row * nPerRow + QK_K * ibl;
      const out = (row * nbl + ibl) * IQ2_XXS_BYTES;
      q2xxs.fill(0);
      let maxScale = 0;
      const sigma2 = f(sumSquares(src, xbl) / QK_K);
      for (let ib = 0; ib < 8; ib++) {
        const xb = xbl + 32 * ib;
        imatrixWeights(weight, src, xb, qw, QK_K * ibl + 32 * ib, sigma2, 32);
        const max = signsAndMax(src, xb, 32, true);
        if (max < EPS) {
          scales[ib] = 0;
          continue;
        }
        let scale = makeQpQuants(32, kMaxQ + 1, xval, 0, qpL, 0, weight, 0);
        const effMax = f(scale * kMaxQ);
        if (effMax <= 0) {
          scales[ib] = 0;
          continue;
        }
        for (let i = 0; i < 32; i++) L[i] = qpL[i] << 24 >> 24;
        let best = 0;
        for (let is = -6; is <= 6; is++) {
          const id = f(f(5 + f(is * F0_1)) / effMax);
          const thisScale = f(1 / id);
          for (let k = 0; k < 4; k++) {
            levelsAt(Laux, 8 * k, 8, xval, id, kMaxQ - 1);
            snap(t, Laux, 8 * k, xval, waux, thisScale);
          }
          weightedSums(weight, xval, Laux, 32, sums);
          const sumqx = sums[0];
          const sumq2 = sums[1];
          if (sumq2 > 0 && f(sumqx * sumqx) > f(best * sumq2)) {
            scale = f(sumqx / sumq2);
            best = f(scale * sumqx);
            L.set(Laux);
          }
        }
        if (scale > 0) scale = resnap(t, 32, scale, kMaxQ - 1, false);
        if (scale < 0) {
          scale = -scale;
          flipSigns(4, 127);
        }
        for (let k = 0; k < 4; k++) {
          const g = onGridEntry(t, L, 8 * k);
          q2xxs[2 * ib] |= g << (8 * k);
          q2xxs[2 * ib + 1] |= blockSigns[k] << (7 * k);
        }
        scales[ib] = scale;
        maxScale = maxScale > scale ? maxScale : scale;
      }
      dst.fill(0, out, out + IQ2_XXS_BYTES);
      if (!maxScale) continue;
      const id = writeSuperScale(dst, out, maxScale, 1);
      for (let ib = 0; ib < 8; ib++) q2xxs[2 * ib + 1] |= scaleNibble(id, scales[ib], 15) << 28;
      for (let i = 0; i < 16; i++) writeU32(dst, out + 2 + 4 * i, q2xxs[i]);
    }
  }
  return bytes;
}

/** dequantize_row_iq2_xxs (ggml-quants.c); no WebAssembly twin. */
function dequantizeIQ2_XXS(src: Uint8Array, dst: Float32Array, n: number): void {
  checkDequant(GgmlType.IQ2_XXS, src, dst, n, IQ2_XXS_BYTES);
  const grid = gridValues('iq2xxs');
  let y = 0;
  for (let b = 0; b < n / QK_K; b++) {
    const base = b * IQ2_XXS_BYTES;
    const d = fp16ToFp32(readU16(src, base));
    for (let ib = 0; ib < 8; ib++) {
      const at = base + 2 + 8 * ib;
      const aux1 = readU32(src, at + 4);
      const db = f(f(d * f(0.5 + (aux1 >>> 28))) * 0.25);
      for (let l = 0; l < 4; l++) {
        const g = 8 * src[at + l];
        const signs = KSIGNS_IQ2XS[(aux1 >>> (7 * l)) & 127];
        for (let j = 0; j < 8; j++) {
          const v = f(db * grid[g + j]);
          dst[y++] = signs & (1 << j) ? -v : v;
        }
      }
    }
  }
}

// ------------------------------------------------------------------------------------------------
// IQ2_XS  {d:f16, qs:u16[32], scales[8]} = 74 bytes; each u16 = 9-bit grid index | 7-bit sign index << 9.

const IQ2_XS_BYTES = 74;

/** quantize_iq2_xs (ggml-quants.c); WebAssembly twin: quantizeIQ2_XS in wasm/assembly/index.ts. */
function quantizeIQ2_XS(src: Float32Array, dst: Uint8Array, nrows: number, nPerRow: number, imatrix?: Float32Array): number {
  const bytes = checkShape(GgmlType.IQ2_XS, src, dst, nrows, nPerRow, IQ2_XS_BYTES);
  checkImatrix(GgmlType.IQ2_XS, nPerRow, imatrix, true);
  const qw = imatrix as Float32Array;
  const t = searchTable('iq2xs');
  const kMaxQ = 3;
  const nbl = nPerRow / QK_K;
  for (let row = 0; row < nrows; row++) {
    for (let ibl = 0; ibl < nbl; ibl++) {
      const xbl = row * nPerRow + QK_K * ibl;
      const out = (row * nbl + ibl) * IQ2_XS_BYTES;
      dst.fill(0, out, out + IQ2_XS_BYTES);
      let maxScale = 0;
      const sigma2 = f(sumSquares(src, xbl) / QK_K);
      for (let ib = 0; ib < 16; ib++) {
        const xb = xbl + 16 * ib;
        imatrixWeights(weight, src, xb, qw, QK_K * ibl + 16 * ib, sigma2, 16);
        const max = signsAndMax(src, xb, 16, true);
        L.fill(0, 0, 16);
        if (max < EPS) {
          scales[ib] = 0;
          continue;
        }
        let scale = trialSearch(t, 16, max, kMaxQ - 1, 5, F0_1, -9, 9, true);
        if (anyOffGrid(2) && scale > 0) scale = resnap(t, 16, scale, kMaxQ - 1, true);
        if (scale < 0) {
          scale = -scale;
          flipSigns(2, 127);
        }
        for (let k = 0; k < 2; k++) writeU16(dst, out + 2 + 2 * (2 * ib + k), onGridEntry(t, L, 8 * k) | (blockSigns[k] << 9));
        scales[ib] = scale;
        maxScale = maxScale > scale ? maxScale : scale;
      }
      if (!maxScale) {
        dst.fill(0, out + 2, out + 66);
        continue;
      }
      const id = writeSuperScale(dst, out, maxScale, 1);
      writeScaleNibbles(dst, out + 66, id, 16);
    }
  }
  return bytes;
}

/** dequantize_row_iq2_xs (ggml-quants.c); no WebAssembly twin. */
function dequantizeIQ2_XS(src: Uint8Array, dst: Float32Array, n: number): void {
  checkDequant(GgmlType.IQ2_XS, src, dst, n, IQ2_XS_BYTES);
  const grid = gridValues('iq2xs');
  let y = 0;
  for (let b = 0; b < n / QK_K; b++) {
    const base = b * IQ2_XS_BYTES;
    const d = fp16ToFp32(readU16(src, base));
    for (let ib = 0; ib < 8; ib++) {
      const sc = src[base + 66 + ib];
      const db0 = f(f(d * f(0.5 + (sc & 0xf))) * 0.25);
      const db1 = f(f(d * f(0.5 + (sc >> 4))) * 0.25);
      for (let l = 0; l < 4; l++) {
        const q = readU16(src, base + 2 + 2 * (4 * ib + l));
        const g = 8 * (q & 511);
        const signs = KSIGNS_IQ2XS[q >> 9];
        const db = l < 2 ? db0 : db1;
        for (let j = 0; j < 8; j++) {
          const v = f(db * grid[g + j]);
          dst[y++] = signs & (1 << j) ? -v : v;
        }
      }
    }
  }
}

// ------------------------------------------------------------------------------------------------
// IQ2_S  {d:f16, qs[64] (32 grid low bytes, 32 sign bytes), qh[8], scales[8]} = 82 bytes.

const IQ2_S_BYTES = 82;

/** quantize_iq2_s (ggml-quants.c); no WebAssembly twin. */
function quantizeIQ2_S(src: Float32Array, dst: Uint8Array, nrows: number, nPerRow: number, imatrix?: Float32Array): number {
  const bytes = checkShape(GgmlType.IQ2_S, src, dst, nrows, nPerRow, IQ2_S_BYTES);
  checkImatrix(GgmlType.IQ2_S, nPerRow, imatrix, false);
  const t = searchTable('iq2s');
  const kMaxQ = 3;
  const nbl = nPerRow / QK_K;
  for (let row = 0; row < nrows; row++) {
    for (let ibl = 0; ibl < nbl; ibl++) {
      const xbl = row * nPerRow + QK_K * ibl;
      const out = (row * nbl + ibl) * IQ2_S_BYTES;
      dst.fill(0, out, out + IQ2_S_BYTES);
      let maxScale = 0;
      const sigma2 = f(f(2 * sumSquares(src, xbl)) / QK_K);
      for (let ib = 0; ib < 16; ib++) {
        const xb = xbl + 16 * ib;
        if (imatrix) imatrixWeights(weight, src, xb, imatrix, QK_K * ibl + 16 * ib, sigma2, 16);
        else for (let i = 0; i < 16; i++) weight[i] = f(f(0.25 * sigma2) + f(src[xb + i] * src[xb + i]));
        const max = signsAndMax(src, xb, 16, false);
        L.fill(0, 0, 16);
        if (max < EPS_IQ2_S) {
          scales[ib] = 0;
          continue;
        }
        let scale = trialSearch(t, 16, max, kMaxQ - 1, 5, F0_1, -9, 9, true);
        if (anyOffGrid(2) && scale > 0) scale = resnap(t, 16, scale, kMaxQ - 1, true);
        if (scale < 0) {
          scale = -scale;
          flipSigns(2, 0xff);
        }
        for (let k = 0; k < 2; k++) {
          const g = onGridEntry(t, L, 8 * k);
          const i8 = 2 * ib + k;
          dst[out + 2 + i8] = g & 255;
          dst[out + 66 + (i8 >> 2)] |= (g >> 8) << (2 * (i8 % 4));
          dst[out + 2 + 32 + i8] = blockSigns[k];
        }
        scales[ib] = scale;
        maxScale = maxScale > scale ? maxScale : scale;
      }
      if (!maxScale) continue;
      const id = writeSuperScale(dst, out, maxScale, 0.9875);
      writeScaleNibbles(dst, out + 74, id, 16);
    }
  }
  return bytes;
}

/** dequantize_row_iq2_s (ggml-quants.c); no WebAssembly twin. */
function dequantizeIQ2_S(src: Uint8Array, dst: Float32Array, n: number): void {
  checkDequant(GgmlType.IQ2_S, src, dst, n, IQ2_S_BYTES);
  const grid = gridValues('iq2s');
  let y = 0;
  for (let b = 0; b < n / QK_K; b++) {
    const base = b * IQ2_S_BYTES;
    const d = fp16ToFp32(readU16(src, base));
    for (let ib = 0; ib < 8; ib++) {
      const sc = src[base + 74 + ib];
      const qh = src[base + 66 + ib];
      const db0 = f(f(d * f(0.5 + (sc & 0xf))) * 0.25);
      const db1 = f(f(d * f(0.5 + (sc >> 4))) * 0.25);
      for (let l = 0; l < 4; l++) {
        const g = 8 * (src[base + 2 + 4 * ib + l] | ((qh << (8 - 2 * l)) & 0x300));
        const signs = src[base + 34 + 4 * ib + l];
        const db = l < 2 ? db0 : db1;
        for (let j = 0; j < 8; j++) {
          const v = f(db * grid[g + j]);
          dst[y++] = signs & (1 << j) ? -v : v;
        }
      }
    }
  }
}

// ------------------------------------------------------------------------------------------------
// IQ3_XXS  {d:f16, qs[64] grid indices (groups of 4), u32[8] = four 7-bit sign indices + 4-bit scale} = 98 bytes.

const IQ3_XXS_BYTES = 98;
const q3SignsScales = new Uint32Array(8);

/** quantize_iq3_xxs (ggml-quants.c); no WebAssembly twin. */
function quantizeIQ3_XXS(src: Float32Array, dst: Uint8Array, nrows: number, nPerRow: number, imatrix?: Float32Array): number {
  const bytes = checkShape(GgmlType.IQ3_XXS, src, dst, nrows, nPerRow, IQ3_XXS_BYTES);
  checkImatrix(GgmlType.IQ3_XXS, nPerRow, imatrix, false);
  const t = searchTable('iq3xxs');
  const kMaxQ = 8;
  const nbl = nPerRow / QK_K;
  for (let row = 0; row < nrows; row++) {
    for (let ibl = 0; ibl < nbl; ibl++) {
      const xbl = row * nPerRow + QK_K * ibl;
      const out = (row * nbl + ibl) * IQ3_XXS_BYTES;
      dst.fill(0, out, out + IQ3_XXS_BYTES);
      q3SignsScales.fill(0);
      let maxScale = 0;
      const sigma2 = f(f(2 * sumSquares(src, xbl)) / QK_K);
      for (let ib = 0; ib < 8; ib++) {
        const xb = xbl + 32 * ib;
        if (imatrix) imatrixWeights(weight, src, xb, imatrix, QK_K * ibl + 32 * ib, sigma2, 32);
        else squareWeights(weight, src, xb, 32);
        const max = signsAndMax(src, xb, 32, true);
        L.fill(0, 0, 32);
        if (max < EPS_IQ3_XXS) {
          scales[ib] = 0;
          continue;
        }
        let scale = trialSearch(t, 32, max, kMaxQ - 1, 15, F0_2, -15, 15, true);
        if (anyOffGrid(8) && scale > 0) scale = resnap(t, 32, scale, kMaxQ - 1, true);
        if (scale < 0) {
          scale = -scale;
          flipSigns(4, 127);
        }
        for (let k = 0; k < 8; k++) dst[out + 2 + 8 * ib + k] = onGridEntry(t, L, 4 * k);
        q3SignsScales[ib] = (blockSigns[0] | (blockSigns[1] << 7) | (blockSigns[2] << 14) | (blockSigns[3] << 21)) >>> 0;
        scales[ib] = scale;
        maxScale = maxScale > scale ? maxScale : scale;
      }
      if (!maxScale) {
        dst.fill(0, out, out + IQ3_XXS_BYTES);
        continue;
      }
      const id = writeSuperScale(dst, out, maxScale, 1.0125);
      for (let ib = 0; ib < 8; ib++) {
        writeU32(dst, out + 66 + 4 * ib, (q3SignsScales[ib] | (scaleNibble(id, scales[ib], 15) << 28)) >>> 0);
      }
    }
  }
  return bytes;
}

/** dequantize_row_iq3_xxs (ggml-quants.c); no WebAssembly twin. */
function dequantizeIQ3_XXS(src: Uint8Array, dst: Float32Array, n: number): void {
  checkDequant(GgmlType.IQ3_XXS, src, dst, n, IQ3_XXS_BYTES);
  const grid = gridValues('iq3xxs');
  let y = 0;
  for (let b = 0; b < n / QK_K; b++) {
    const base = b * IQ3_XXS_BYTES;
    const d = fp16ToFp32(readU16(src, base));
    for (let ib = 0; ib < 8; ib++) {
      const aux = readU32(src, base + 66 + 4 * ib);
      const db = f(f(d * f(0.5 + (aux >>> 28))) * 0.5);
      for (let l = 0; l < 4; l++) {
        const signs = KSIGNS_IQ2XS[(aux >>> (7 * l)) & 127];
        const g1 = 4 * src[base + 2 + 8 * ib + 2 * l];
        const g2 = 4 * src[base + 2 + 8 * ib + 2 * l + 1];
        for (let j = 0; j < 4; j++) {
          const v = f(db * grid[g1 + j]);
          dst[y + j] = signs & (1 << j) ? -v : v;
          const w = f(db * grid[g2 + j]);
          dst[y + j + 4] = signs & (1 << (j + 4)) ? -w : w;
        }
        y += 8;
      }
    }
  }
}

// ------------------------------------------------------------------------------------------------
// IQ3_S  {d:f16, qs[64], qh[8], signs[32], scales[4]} = 110 bytes; 9-bit grid indices (groups of 4),
// 8 explicit sign bits per 8, scale nibbles per pair of 32-blocks.

const IQ3_S_BYTES = 110;

/** quantize_iq3_s (ggml-quants.c); no WebAssembly twin. */
function quantizeIQ3_S(src: Float32Array, dst: Uint8Array, nrows: number, nPerRow: number, imatrix?: Float32Array): number {
  const bytes = checkShape(GgmlType.IQ3_S, src, dst, nrows, nPerRow, IQ3_S_BYTES);
  checkImatrix(GgmlType.IQ3_S, nPerRow, imatrix, false);
  const t = searchTable('iq3s');
  const kMaxQ = 8;
  const nbl = nPerRow / QK_K;
  for (let row = 0; row < nrows; row++) {
    for (let ibl = 0; ibl < nbl; ibl++) {
      const xbl = row * nPerRow + QK_K * ibl;
      const out = (row * nbl + ibl) * IQ3_S_BYTES;
      dst.fill(0, out, out + IQ3_S_BYTES);
      // ggml advances its qs/signs write positions only for sub-blocks it quantizes: after an
      // all-zero sub-block, later sub-blocks land one slot early (qh stays indexed by sub-block).
      let qsAt = out + 2;
      let signsAt = out + 74;
      let maxScale = 0;
      const sigma2 = f(f(2 * sumSquares(src, xbl)) / QK_K);
      for (let ib = 0; ib < 8; ib++) {
        const xb = xbl + 32 * ib;
        if (imatrix) imatrixWeights(weight, src, xb, imatrix, QK_K * ibl + 32 * ib, sigma2, 32);
        else squareWeights(weight, src, xb, 32);
        const max = signsAndMax(src, xb, 32, false);
        L.fill(0, 0, 32);
        if (!max) {
          scales[ib] = 0;
          continue;
        }
        let scale = trialSearch(t, 32, max, kMaxQ - 1, 15, F0_2, -9, 9, false);
        // Unlike IQ3_XXS, every group is re-snapped at the final scale.
        if (anyOffGrid(8) && scale > 0) scale = resnap(t, 32, scale, kMaxQ - 1, false);
        if (scale < 0) {
          scale = -scale;
          flipSigns(4, 0xff);
        }
        for (let k = 0; k < 8; k++) {
          const g = onGridEntry(t, L, 4 * k);
          dst[qsAt + k] = g & 255;
          dst[out + 66 + ib] |= (g >> 8) << k;
        }
        qsAt += 8;
        for (let k = 0; k < 4; k++) dst[signsAt + k] = blockSigns[k];
        signsAt += 4;
        scales[ib] = scale;
        maxScale = maxScale > scale ? maxScale : scale;
      }
      if (!maxScale) continue;
      const id = writeSuperScale(dst, out, maxScale, 1.033);
      writeScaleNibbles(dst, out + 106, id, 8);
    }
  }
  return bytes;
}

/** dequantize_row_iq3_s (ggml-quants.c); no WebAssembly twin. */
function dequantizeIQ3_S(src: Uint8Array, dst: Float32Array, n: number): void {
  checkDequant(GgmlType.IQ3_S, src, dst, n, IQ3_S_BYTES);
  const grid = gridValues('iq3s');
  let y = 0;
  for (let b = 0; b < n / QK_K; b++) {
    const base = b * IQ3_S_BYTES;
    const d = fp16ToFp32(readU16(src, base));
    for (let ib = 0; ib < 8; ib++) {
      const sc = src[base + 106 + (ib >> 1)];
      const db = f(d * (1 + 2 * (ib % 2 === 0 ? sc & 0xf : sc >> 4)));
      const qh = src[base + 66 + ib];
      for (let l = 0; l < 4; l++) {
        const q = base + 2 + 8 * ib + 2 * l;
        const g1 = 4 * (src[q] | ((qh << (8 - 2 * l)) & 256));
        const g2 = 4 * (src[q + 1] | ((qh << (7 - 2 * l)) & 256));
        const signs = src[base + 74 + 4 * ib + l];
        for (let j = 0; j < 4; j++) {
          const v = f(db * grid[g1 + j]);
          dst[y + j] = signs & (1 << j) ? -v : v;
          const w = f(db * grid[g2 + j]);
          dst[y + j + 4] = signs & (1 << (j + 4)) ? -w : w;
        }
        y += 8;
      }
    }
  }
}

// ------------------------------------------------------------------------------------------------
// IQ1 shared: the {-1, 0, +1} ± δ values and the exact split search over the sorted block.

const XP = Float32Array.from([-1 + IQ1_DELTA, IQ1_DELTA, 1 + IQ1_DELTA]);
const XM = Float32Array.from([-1 - IQ1_DELTA, -IQ1_DELTA, 1 - IQ1_DELTA]);
const order = new Int32Array(32);
const iq1Index = new Uint16Array(4);

/**
 * Indices of x[off..off+n) sorted by value, ties in index order: glibc's qsort (a merge sort at
 * these sizes) is stable, and its comparator sees only the value (−0 equals +0).
 */
function stableOrder(x: Float32Array, off: number, n: number): void {
  for (let j = 0; j < n; j++) {
    const v = x[off + j];
    let k = j;
    while (k > 0 && x[off + order[k - 1]] > v) {
      order[k] = order[k - 1];
      k--;
    }
    order[k] = j;
  }
}

/**
 * iq1_find_best_neighbour2: the neighbour minimising Σ w·(scale·xg[level] − x)². Its fallback (no
 * neighbour below FLT_MAX) scans the whole grid reading x past the group, as ggml does; that reads
 * further into the source rows (`src`, from `xAt`).
 */
function iq1BestNeighbour(
  t: IqSearchTable, listStart: number, src: Float32Array, xAt: number, w: Float32Array, wAt: number, scale: number, xg: Float32Array, Lout: Int8Array, lAt: number,
): number {
  const { neighbours, levels } = t;
  const count = neighbours[listStart];
  let best = FLT_MAX;
  let index = -1;
  // Per coordinate, the term of each of the 3 levels; a neighbour's d2 sums its 8 terms in order.
  for (let i = 0; i < 8; i++) {
    for (let l = 0; l < 3; l++) {
      const diff = f(f(scale * xg[l]) - src[xAt + i]);
      terms[3 * i + l] = f(f(w[wAt + i] * diff) * diff);
    }
  }
  for (let j = 1; j <= count; j++) {
    const entry = neighbours[listStart + j];
    const base = 8 * entry;
    let d2 = 0;
    for (let i = 0; i < 8; i++) d2 = f(d2 + terms[3 * i + levels[base + i]]);
    if (d2 < best) {
      best = d2;
      index = entry;
    }
  }
  if (index < 0) {
    const ngrid = levels.length / 8;
    if (xAt + ngrid > src.length) throw new Error('IQ1 quantizer: grid fallback would read past the source');
    for (let i = 0; i < ngrid; i++) {
      let d2 = 0;
      for (let j = 0; j < 8; j++) {
        const q = xg[levels[8 * i + j]];
        const diff = f(f(scale * q) - src[xAt + i]);
        d2 = f(d2 + f(f(w[wAt + j] * diff) * diff));
      }
      if (d2 < best) {
        best = d2;
        index = i;
      }
    }
  }
  if (index < 0) throw new Error('IQ1 quantizer: no grid point found');
  for (let i = 0; i < 8; i++) Lout[lAt + i] = levels[8 * index + i];
  return index;
}

/** max |x| over x[off..off+n), folded from the first element as ggml's MAX does. */
function absMaxFrom(x: Float32Array, off: number, n: number): number {
  let max = Math.abs(x[off]);
  for (let i = 1; i < n; i++) {
    const a = Math.abs(x[off + i]);
    max = max > a ? max : a;
  }
  return max;
}

/**
 * Levels of the best split of the sorted block: 0 below i1, 1 up to i2, 2 from there (in `order`'s
 * ranks), mirrored (2 − l) for a negative scale.
 */
function splitLevels(n: number, i1: number, i2: number, mirror: boolean): void {
  for (let j = 0; j < i1; j++) L[order[j]] = 0;
  for (let j = i1; j < i2; j++) L[order[j]] = 1;
  for (let j = i2; j < n; j++) L[order[j]] = 2;
  if (mirror) for (let j = 0; j < n; j++) L[j] = 2 - L[j];
}

/**
 * The least-squares scale of the chosen grid points (iq1Index) over `groups` groups of 8 from
 * x[xb], the first half of the groups on the values `xxLow`, the rest on `xxHigh`; `scale` when the
 * fit is not positive.
 */
function iq1Refit(
  t: IqSearchTable, x: Float32Array, xb: number, groups: number, xxLow: Float32Array, xxHigh: Float32Array, scale: number,
): number {
  let sumqx = 0;
  let sumq2 = 0;
  for (let k = 0; k < groups; k++) {
    const xx = 2 * k < groups ? xxLow : xxHigh;
    const base = 8 * iq1Index[k];
    for (let j = 0; j < 8; j++) {
      const w = weight[8 * k + j];
      const q = xx[t.levels[base + j]];
      sumqx = f(sumqx + f(f(w * q) * x[xb + 8 * k + j]));
      sumq2 = f(sumq2 + f(f(w * q) * q));
    }
  }
  return sumqx > 0 && sumq2 > 0 ? f(sumqx / sumq2) : scale;
}

// ------------------------------------------------------------------------------------------------
// IQ1_S  {d:f16, qs[32], qh:u16[8]} = 50 bytes; qh: 3 high index bits per group, 3-bit scale at 12,
// δ sign at bit 15.

const IQ1_S_BYTES = 50;
const sumx = new Float32Array(33);
const sumw = new Float32Array(33);
const shifts = new Int8Array(16);
const qxLowP = new Float64Array(33);
const qxLowM = new Float64Array(33);
const q2LowP = new Float64Array(33);
const q2LowM = new Float64Array(33);
const qxHighP = new Float64Array(33);
const qxHighM = new Float64Array(33);
const q2HighP = new Float64Array(33);
const q2HighM = new Float64Array(33);

/** quantize_iq1_s (ggml-quants.c); no WebAssembly twin. */
function quantizeIQ1_S(src: Float32Array, dst: Uint8Array, nrows: number, nPerRow: number, imatrix?: Float32Array): number {
  const bytes = checkShape(GgmlType.IQ1_S, src, dst, nrows, nPerRow, IQ1_S_BYTES);
  checkImatrix(GgmlType.IQ1_S, nPerRow, imatrix, true);
  const qw = imatrix as Float32Array;
  const t = searchTable('iq1s');
  const bs = 32;
  const nbl = nPerRow / QK_K;
  for (let row = 0; row < nrows; row++) {
    for (let ibl = 0; ibl < nbl; ibl++) {
      const xbl = row * nPerRow + QK_K * ibl;
      const out = (row * nbl + ibl) * IQ1_S_BYTES;
      dst.fill(0, out, out + IQ1_S_BYTES);
      let maxScale = 0;
      const sigma2 = f(f(2 * sumSquares(src, xbl)) / QK_K);
      for (let ib = 0; ib < 8; ib++) {
        const xb = xbl + bs * ib;
        imatrixWeights(weight, src, xb, qw, QK_K * ibl + bs * ib, sigma2, bs);
        const max = absMaxFrom(src, xb, bs);
        if (max < EPS_IQ1_S) {
          scales[ib] = 0;
          shifts[ib] = 1;
          continue;
        }
        stableOrder(src, xb, bs);
        sumx[0] = 0;
        sumw[0] = 0;
        for (let j = 0; j < bs; j++) {
          const i = order[j];
          sumx[j + 1] = f(sumx[j] + f(weight[i] * src[xb + i]));
          sumw[j + 1] = f(sumw[j] + weight[i]);
        }
        let bestScore = -FLT_MAX;
        let scale = max;
        let besti1 = -1;
        let besti2 = -1;
        let bestShift = 0;
        // The terms of the three groups that depend on one split point only, hoisted; each sum
        // below still adds the same three float terms in ggml's order.
        const sxN = sumx[bs];
        const swN = sumw[bs];
        for (let i = 0; i <= bs; i++) {
          const sx1 = f(sumx[i] - sumx[0]);
          const sw1 = f(sumw[i] - sumw[0]);
          const sx3 = f(sxN - sumx[i]);
          const sw3 = f(swN - sumw[i]);
          qxLowP[i] = f(sx1 * XP[0]);
          qxLowM[i] = f(sx1 * XM[0]);
          q2LowP[i] = f(f(sw1 * XP[0]) * XP[0]);
          q2LowM[i] = f(f(sw1 * XM[0]) * XM[0]);
          qxHighP[i] = f(sx3 * XP[2]);
          qxHighM[i] = f(sx3 * XM[2]);
          q2HighP[i] = f(f(sw3 * XP[2]) * XP[2]);
          q2HighM[i] = f(f(sw3 * XM[2]) * XM[2]);
        }
        for (let i1 = 0; i1 <= bs; i1++) {
          for (let i2 = i1; i2 <= bs; i2++) {
            const sx2 = f(sumx[i2] - sumx[i1]);
            const sw2 = f(sumw[i2] - sumw[i1]);
            let sumqx = f(f(qxLowP[i1] + f(sx2 * XP[1])) + qxHighP[i2]);
            let sumq2 = f(f(q2LowP[i1] + f(f(sw2 * XP[1]) * XP[1])) + q2HighP[i2]);
            if (sumq2 > 0 && f(sumqx * sumqx) > f(bestScore * sumq2)) {
              scale = f(sumqx / sumq2);
              bestScore = f(scale * sumqx);
              besti1 = i1;
              besti2 = i2;
              bestShift = 1;
            }
            sumqx = f(f(qxLowM[i1] + f(sx2 * XM[1])) + qxHighM[i2]);
            sumq2 = f(f(q2LowM[i1] + f(f(sw2 * XM[1]) * XM[1])) + q2HighM[i2]);
            if (sumq2 > 0 && f(sumqx * sumqx) > f(bestScore * sumq2)) {
              scale = f(sumqx / sumq2);
              bestScore = f(scale * sumqx);
              besti1 = i1;
              besti2 = i2;
              bestShift = -1;
            }
          }
        }
        if (besti1 < 0 || besti2 < 0 || bestShift === 0) {
          scales[ib] = 0;
          shifts[ib] = 1;
          continue;
        }
        splitLevels(bs, besti1, besti2, scale < 0);
        if (scale < 0) {
          scale = -scale;
          bestShift = -bestShift;
        }
        let allOnGrid = true;
        const xx = bestShift === 1 ? XP : XM;
        for (let k = 0; k < 4; k++) {
          const u = mapIndex(L, 8 * k, 8, 2);
          let g = t.map[u];
          if (g < 0) {
            allOnGrid = false;
            g = iq1BestNeighbour(t, -g - 1, src, xb + 8 * k, weight, 8 * k, scale, xx, L, 8 * k);
          }
          iq1Index[k] = g;
        }
        if (!allOnGrid) scale = iq1Refit(t, src, xb, 4, xx, xx, scale);
        let h = 0;
        for (let k = 0; k < 4; k++) {
          dst[out + 2 + 4 * ib + k] = iq1Index[k] & 255;
          h |= (iq1Index[k] >> 8) << (3 * k);
        }
        writeU16(dst, out + 34 + 2 * ib, h);
        scales[ib] = scale;
        shifts[ib] = bestShift;
        maxScale = maxScale > scale ? maxScale : scale;
      }
      if (!maxScale) continue;
      const d = f(maxScale / 15);
      writeU16(dst, out, fp32ToFp16(f(d * f(1.125))));
      const id = f(1 / d);
      for (let ib = 0; ib < 8; ib++) {
        let l = scaleNibble(id, scales[ib], 7);
        if (shifts[ib] === -1) l |= 8;
        const at = out + 34 + 2 * ib;
        writeU16(dst, at, readU16(dst, at) | (l << 12));
      }
    }
  }
  return bytes;
}

/** dequantize_row_iq1_s (ggml-quants.c); no WebAssembly twin. */
function dequantizeIQ1_S(src: Uint8Array, dst: Float32Array, n: number): void {
  checkDequant(GgmlType.IQ1_S, src, dst, n, IQ1_S_BYTES);
  const grid = gridValues('iq1s');
  let y = 0;
  for (let b = 0; b < n / QK_K; b++) {
    const base = b * IQ1_S_BYTES;
    const d = fp16ToFp32(readU16(src, base));
    for (let ib = 0; ib < 8; ib++) {
      const qh = readU16(src, base + 34 + 2 * ib);
      const dl = f(d * (2 * ((qh >> 12) & 7) + 1));
      const delta = qh & 0x8000 ? -IQ1_DELTA : IQ1_DELTA;
      for (let l = 0; l < 4; l++) {
        const g = 8 * (src[base + 2 + 4 * ib + l] | (((qh >> (3 * l)) & 7) << 8));
        for (let j = 0; j < 8; j++) dst[y++] = f(dl * f(grid[g + j] + delta));
      }
    }
  }
}

// ------------------------------------------------------------------------------------------------
// IQ1_M  {qs[32], qh[16], scales[8]} = 56 bytes; per 16: two 11-bit indices, per-8 δ sign in qh,
// 3-bit scales in the four u16 scale words, whose top nibbles hold the fp16 super-block scale.

const IQ1_M_BYTES = 56;
const IQ1M_SHIFT_MASKS = [0x00, 0x80, 0x08, 0x88];
const px0 = new Float32Array(17);
const px1 = new Float32Array(17);
const pw0 = new Float32Array(17);
const pw1 = new Float32Array(17);
const iq1mScaleWords = new Uint16Array(4);
const P2 = XP[2];
const M2 = XM[2];
const CP1 = f(f(XP[0] * XP[0]) - f(XP[1] * XP[1]));
const CP2 = f(f(XP[1] * XP[1]) - f(XP[2] * XP[2]));
const CM1 = f(f(XM[0] * XM[0]) - f(XM[1] * XM[1]));
const CM2 = f(f(XM[1] * XM[1]) - f(XM[2] * XM[2]));

/** x_p or x_m for half k (0 or 1) of a 16-block with shift combination `shift` (0: ++, 1: +−, 2: −+, 3: −−). */
function iq1mValues(shift: number, k: number): Float32Array {
  return (k === 0 ? shift < 2 : shift % 2 === 0) ? XP : XM;
}

/** quantize_iq1_m (ggml-quants.c); no WebAssembly twin. */
function quantizeIQ1_M(src: Float32Array, dst: Uint8Array, nrows: number, nPerRow: number, imatrix?: Float32Array): number {
  const bytes = checkShape(GgmlType.IQ1_M, src, dst, nrows, nPerRow, IQ1_M_BYTES);
  checkImatrix(GgmlType.IQ1_M, nPerRow, imatrix, false);
  const t = searchTable('iq1s');
  const bs = 16;
  const nbl = nPerRow / QK_K;
  for (let row = 0; row < nrows; row++) {
    for (let ibl = 0; ibl < nbl; ibl++) {
      const xbl = row * nPerRow + QK_K * ibl;
      const out = (row * nbl + ibl) * IQ1_M_BYTES;
      dst.fill(0, out, out + IQ1_M_BYTES);
      let maxScale = 0;
      const sigma2 = f(f(2 * sumSquares(src, xbl)) / QK_K);
      for (let ib = 0; ib < 16; ib++) {
        const xb = xbl + bs * ib;
        if (imatrix) imatrixWeights(weight, src, xb, imatrix, QK_K * ibl + bs * ib, sigma2, bs);
        else squareWeights(weight, src, xb, bs);
        const max = absMaxFrom(src, xb, bs);
        if (max < EPS_IQ1_M) {
          scales[ib] = 0;
          shifts[ib] = 0;
          continue;
        }
        stableOrder(src, xb, bs);
        // Prefix sums per half of the block: each half of 8 has its own δ sign.
        px0[0] = px1[0] = pw0[0] = pw1[0] = 0;
        for (let j = 0; j < bs; j++) {
          const i = order[j];
          const wx = f(weight[i] * src[xb + i]);
          if (i < bs / 2) {
            px0[j + 1] = f(px0[j] + wx);
            px1[j + 1] = px1[j];
            pw0[j + 1] = f(pw0[j] + weight[i]);
            pw1[j + 1] = pw1[j];
          } else {
            px1[j + 1] = f(px1[j] + wx);
            px0[j + 1] = px0[j];
            pw1[j + 1] = f(pw1[j] + weight[i]);
            pw0[j + 1] = pw0[j];
          }
        }
        const tx0p = f(px0[bs] * P2);
        const tx0m = f(px0[bs] * M2);
        const tx1p = f(px1[bs] * P2);
        const tx1m = f(px1[bs] * M2);
        const tw0p = f(f(pw0[bs] * P2) * P2);
        const tw0m = f(f(pw0[bs] * M2) * M2);
        const tw1p = f(f(pw1[bs] * P2) * P2);
        const tw1m = f(f(pw1[bs] * M2) * M2);
        let bestScore = -FLT_MAX;
        let scale = max;
        let besti1 = -1;
        let besti2 = -1;
        let bestK = -1;
        for (let i1 = 0; i1 <= bs; i1++) {
          for (let i2 = i1; i2 <= bs; i2++) {
            const sx0 = f(px0[i1] + px0[i2]);
            const sx1 = f(px1[i1] + px1[i2]);
            const qxp0 = f(tx0p - sx0);
            const qxm0 = f(tx0m - sx0);
            const qxp1 = f(tx1p - sx1);
            const qxm1 = f(tx1m - sx1);
            const q2p0 = f(f(tw0p + f(pw0[i1] * CP1)) + f(pw0[i2] * CP2));
            const q2m0 = f(f(tw0m + f(pw0[i1] * CM1)) + f(pw0[i2] * CM2));
            const q2p1 = f(f(tw1p + f(pw1[i1] * CP1)) + f(pw1[i2] * CP2));
            const q2m1 = f(f(tw1m + f(pw1[i1] * CM1)) + f(pw1[i2] * CM2));
            // The four sign combinations, in ggml's order k = 0..3 (++, +−, −+, −−).
            for (let k = 0; k < 4; k++) {
              const sumqx = f((k < 2 ? qxp0 : qxm0) + (k % 2 === 0 ? qxp1 : qxm1));
              const sumq2 = f((k < 2 ? q2p0 : q2m0) + (k % 2 === 0 ? q2p1 : q2m1));
              if (sumq2 > 0 && f(sumqx * sumqx) > f(bestScore * sumq2)) {
                scale = f(sumqx / sumq2);
                bestScore = f(scale * sumqx);
                besti1 = i1;
                besti2 = i2;
                bestK = k;
              }
            }
          }
        }
        if (besti1 < 0 || besti2 < 0 || bestK < 0) {
          scales[ib] = 0;
          shifts[ib] = 0;
          continue;
        }
        splitLevels(bs, besti1, besti2, scale < 0);
        if (scale < 0) {
          scale = -scale;
          bestK = 3 - bestK;
        }
        let allOnGrid = true;
        for (let k = 0; k < 2; k++) {
          const xx = iq1mValues(bestK, k);
          let g = t.map[mapIndex(L, 8 * k, 8, 2)];
          if (g < 0) {
            allOnGrid = false;
            g = iq1BestNeighbour(t, -g - 1, src, xb + 8 * k, weight, 8 * k, scale, xx, L, 8 * k);
          }
          iq1Index[k] = g;
        }
        if (!allOnGrid) scale = iq1Refit(t, src, xb, 2, iq1mValues(bestK, 0), iq1mValues(bestK, 1), scale);
        dst[out + 2 * ib] = iq1Index[0] & 255;
        dst[out + 2 * ib + 1] = iq1Index[1] & 255;
        dst[out + 32 + ib] = (iq1Index[0] >> 8) | ((iq1Index[1] >> 8) << 4);
        scales[ib] = scale;
        shifts[ib] = bestK;
        maxScale = maxScale > scale ? maxScale : scale;
      }
      if (!maxScale) continue;

      // Final super-block scale: refit d over all 256 values with the chosen grid points and
      // 3-bit sub-block scales.
      iq1mScaleWords.fill(0);
      let d = f(maxScale / 15);
      const id = f(1 / d);
      let sumqx = 0;
      let sumq2 = 0;
      for (let ib = 0; ib < 16; ib++) {
        const l = scaleNibble(id, scales[ib], 7);
        iq1mScaleWords[ib >> 2] |= l << (3 * (ib % 4));
        dst[out + 32 + ib] |= IQ1M_SHIFT_MASKS[shifts[ib]];
        const xb = xbl + bs * ib;
        if (imatrix) imatrixWeights(weight, src, xb, imatrix, QK_K * ibl + bs * ib, sigma2, bs);
        else squareWeights(weight, src, xb, bs);
        const qh = dst[out + 32 + ib];
        for (let k = 0; k < 2; k++) {
          const xx = iq1mValues(shifts[ib], k);
          const base = 8 * (dst[out + 2 * ib + k] + ((qh << (8 - 4 * k)) & 0x700));
          for (let j = 0; j < 8; j++) {
            const w = weight[8 * k + j];
            const q = f(xx[t.levels[base + j]] * (2 * l + 1));
            sumqx = f(sumqx + f(f(w * q) * src[xb + 8 * k + j]));
            sumq2 = f(sumq2 + f(f(w * q) * q));
          }
        }
      }
      if (sumq2 > 0) d = f(sumqx / sumq2);
      const h = fp32ToFp16(f(d * f(1.1125)));
      iq1mScaleWords[0] |= (h & 0x000f) << 12;
      iq1mScaleWords[1] |= (h & 0x00f0) << 8;
      iq1mScaleWords[2] |= (h & 0x0f00) << 4;
      iq1mScaleWords[3] |= h & 0xf000;
      for (let i = 0; i < 4; i++) writeU16(dst, out + 48 + 2 * i, iq1mScaleWords[i]);
    }
  }
  return bytes;
}

/** dequantize_row_iq1_m (ggml-quants.c); no WebAssembly twin. */
function dequantizeIQ1_M(src: Uint8Array, dst: Float32Array, n: number): void {
  checkDequant(GgmlType.IQ1_M, src, dst, n, IQ1_M_BYTES);
  const grid = gridValues('iq1s');
  let y = 0;
  for (let b = 0; b < n / QK_K; b++) {
    const base = b * IQ1_M_BYTES;
    const sc0 = readU16(src, base + 48);
    const sc1 = readU16(src, base + 50);
    const sc2 = readU16(src, base + 52);
    const sc3 = readU16(src, base + 54);
    const d = fp16ToFp32((sc0 >> 12) | ((sc1 >> 8) & 0x00f0) | ((sc2 >> 4) & 0x0f00) | (sc3 & 0xf000));
    for (let ib = 0; ib < 8; ib++) {
      const sc = readU16(src, base + 48 + 2 * (ib >> 1));
      const shift = 6 * (ib % 2);
      const dl1 = f(d * (2 * ((sc >> shift) & 7) + 1));
      const dl2 = f(d * (2 * ((sc >> (shift + 3)) & 7) + 1));
      const qh0 = src[base + 32 + 2 * ib];
      const qh1 = src[base + 32 + 2 * ib + 1];
      const qs = base + 4 * ib;
      for (let l = 0; l < 4; l++) {
        const qh = l < 2 ? qh0 : qh1;
        const high = l % 2 === 0 ? (qh << 8) & 0x700 : (qh << 4) & 0x700;
        const g = 8 * (src[qs + l] | high);
        const negative = l % 2 === 0 ? qh & 0x08 : qh & 0x80;
        const delta = negative ? -IQ1_DELTA : IQ1_DELTA;
        const dl = l < 2 ? dl1 : dl2;
        for (let j = 0; j < 8; j++) dst[y++] = f(dl * f(grid[g + j] + delta));
      }
    }
  }
}

// ------------------------------------------------------------------------------------------------

registerKernel({ type: GgmlType.IQ2_XXS, quantize: quantizeIQ2_XXS, dequantize: dequantizeIQ2_XXS });
registerKernel({ type: GgmlType.IQ2_XS, quantize: quantizeIQ2_XS, dequantize: dequantizeIQ2_XS });
registerKernel({ type: GgmlType.IQ2_S, quantize: quantizeIQ2_S, dequantize: dequantizeIQ2_S });
registerKernel({ type: GgmlType.IQ3_XXS, quantize: quantizeIQ3_XXS, dequantize: dequantizeIQ3_XXS });
registerKernel({ type: GgmlType.IQ3_S, quantize: quantizeIQ3_S, dequantize: dequantizeIQ3_S });
registerKernel({ type: GgmlType.IQ1_S, quantize: quantizeIQ1_S, dequantize: dequantizeIQ1_S });
registerKernel({ type: GgmlType.IQ1_M, quantize: quantizeIQ1_M, dequantize: dequantizeIQ1_M });

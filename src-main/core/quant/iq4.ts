// Non-linear 4-bit quants: IQ4_NL (blocks of 32: {d: f16, qs[16]}) and IQ4_XS (super-blocks of 256:
// {d: f16, scales_h: u16, scales_l[4], qs[128]}, a 6-bit scale per 32). Each 4-bit index selects a
// value of kvalues_iq4nl. Both follow ggml's quantize_iq4_nl / quantize_iq4_xs, which is what
// llama-quantize runs: quantize_row_iq4_nl_impl with ntry = 7, with or without an imatrix (not the
// _ref functions, which use ntry = −1 for IQ4_NL).

import { registerKernel } from './registry.ts';
import { GgmlType } from '../gguf/ggml-types.ts';
import * as numeric from './numeric.ts';
import { checkQuantizeArgs, checkDequantizeArgs } from './block-args.ts';

// Hot loops use module-local bindings: under tsx (esbuild) an imported name is a getter call on
// every use, which made these kernels 2-4x slower.
const fround = Math.fround;
const { fp32ToFp16, FP16_TO_FP32, getU16, putU16, nearestInt, GROUP_MAX_EPS } = numeric;

/** kvalues_iq4nl (ggml-common.h). */
export const KVALUES_IQ4NL = Int8Array.of(-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113);

// best_index_int8 over kvalues_iq4nl as a table lookup. ggml picks the upper entry when
// x − v[j] ≥ v[j+1] − x; near every midpoint those float differences are exact (the midpoints are
// half-integers with |m| ≥ 4.5, and x shares their binade or a coarser one), so the choice is
// "x ≥ (v[j] + v[j+1])/2", i.e. floor(2x) ≥ v[j] + v[j+1]. The tables are indexed by
// t = floor(2x) + 256 ∈ [0, 512); 2x + 256 is exact enough in double for `| 0` to give that floor
// wherever it matters (x is a float32, and 0 is not a threshold). Checked against the binary search
// in test/quant/iq4.test.ts.
const INDEX_BY_T = new Uint8Array(512);
const VALUE_BY_T = new Float64Array(512);
for (let t = 0; t < 512; t++) {
  let c = 0;
  for (let j = 0; j < 15; j++) if (t - 256 >= KVALUES_IQ4NL[j] + KVALUES_IQ4NL[j + 1]) c++;
  INDEX_BY_T[t] = c;
  VALUE_BY_T[t] = KVALUES_IQ4NL[c];
}

/** best_index_int8(16, kvalues_iq4nl, x); NaN gives 15 as in ggml's search. */
export function iq4Index(x: number): number {
  const t = 2 * x + 256;
  return t <= 0 ? 0 : t < 512 ? INDEX_BY_T[t | 0] : 15;
}

const KV = KVALUES_IQ4NL;
const NTRY = 7;

// Scratch for one super-block (module scope: kernels run synchronously). The block's values and
// weights are copied to float64 arrays once, since the scale search reads them 16 times.
const XB = new Float64Array(32);
const WB = new Float64Array(32);
const SUMS = new Float64Array(2);
const SCALES = new Float32Array(8);
const L = new Uint8Array(256);

/** Σ w·q·x and Σ w·q² (float32, in order) over XB/WB with q = kvalues[best index of id·x]. */
function trialSums(id: number): void {
  let sumqx = 0;
  let sumq2 = 0;
  for (let j = 0; j < 32; j++) {
    const v = XB[j];
    const t = 2 * fround(id * v) + 256;
    const q = t <= 0 ? -127 : t < 512 ? VALUE_BY_T[t | 0] : 113;
    const wq = fround(WB[j] * q);
    sumqx = fround(sumqx + fround(wq * v));
    sumq2 = fround(sumq2 + fround(wq * q));
  }
  SUMS[0] = sumqx;
  SUMS[1] = sumq2;
}

/**
 * quantize_row_iq4_nl_impl(sbs, 32, …, ntry = 7) for the super-block x[xOff..xOff+sbs), written at
 * dst[o]. sbs = 32 gives an IQ4_NL block, 256 an IQ4_XS block. qw is the imatrix slice or null.
 */
function quantizeSuperBlock(x: Float32Array, xOff: number, sbs: number, qw: Float32Array | null, qwOff: number, dst: Uint8Array, o: number): void {
  let sigma2 = 0;
  for (let j = 0; j < sbs; j++) {
    const v = x[xOff + j];
    sigma2 = fround(sigma2 + fround(v * v));
  }
  sigma2 = fround(sigma2 * (2 / sbs)); // 2.f/sbs is exact for 32 and 256

  const nblk = sbs >> 5;
  let maxScale = 0;
  let amaxScale = 0;
  for (let ib = 0; ib < nblk; ib++) {
    const xb = xOff + ib * 32;
    let amax = 0;
    let max = 0;
    if (qw !== null) {
      const qb = qwOff + ib * 32;
      for (let j = 0; j < 32; j++) {
        const v = x[xb + j];
        XB[j] = v;
        WB[j] = fround(qw[qb + j] * fround(Math.sqrt(fround(sigma2 + fround(v * v)))));
        const a = Math.abs(v);
        if (a > amax) { amax = a; max = v; }
      }
    } else {
      for (let j = 0; j < 32; j++) {
        const v = x[xb + j];
        XB[j] = v;
        WB[j] = fround(v * v);
        const a = Math.abs(v);
        if (a > amax) { amax = a; max = v; }
      }
    }
    if (amax < GROUP_MAX_EPS) {
      SCALES[ib] = 0;
      continue;
    }
    // First guess d = −max/values[0] (ntry > 0), refined by the weighted least-squares fit.
    trialSums(fround(1 / fround(-max / -127)));
    let d = SUMS[1] > 0 ? fround(SUMS[0] / SUMS[1]) : 0;
    let best = fround(d * SUMS[0]);
    for (let itry = -NTRY; itry <= NTRY; itry++) {
      trialSums(fround((itry - 127) / max));
      const sumqx = SUMS[0];
      const sumq2 = SUMS[1];
      if (sumq2 > 0 && fround(sumqx * sumqx) > fround(best * sumq2)) {
        d = fround(sumqx / sumq2);
        best = fround(d * sumqx);
      }
    }
    SCALES[ib] = d;
    const ad = Math.abs(d);
    if (ad > amaxScale) { amaxScale = ad; maxScale = d; }
  }

  let qsOff: number;
  if (nblk > 1) {
    // IQ4_XS: one fp16 super-scale, 6-bit block scales (l + 32), then requantize with d·l.
    const d = fround(-maxScale / 32);
    putU16(dst, o, fp32ToFp16(d));
    const id = d !== 0 ? fround(1 / d) : 0;
    let scalesH = 0;
    for (let ib = 0; ib < nblk; ib++) {
      let l = nearestInt(fround(id * SCALES[ib]));
      l = l < -32 ? -32 : l > 31 ? 31 : l;
      const dl = fround(d * l);
      const idl = dl !== 0 ? fround(1 / dl) : 0;
      const xb = xOff + ib * 32;
      const lb = ib * 32;
      for (let j = 0; j < 32; j++) L[lb + j] = iq4Index(fround(idl * x[xb + j]));
      l += 32;
      if ((ib & 1) === 0) dst[o + 4 + (ib >> 1)] = l & 15;
      else dst[o + 4 + (ib >> 1)] |= (l & 15) << 4;
      scalesH |= (l >> 4) << (2 * ib);
    }
    putU16(dst, o + 2, scalesH);
    qsOff = o + 8;
  } else {
    // IQ4_NL: the block scale is stored as is and the block requantized with it.
    const s = SCALES[0];
    putU16(dst, o, fp32ToFp16(s));
    const id = s !== 0 ? fround(1 / s) : 0;
    for (let j = 0; j < 32; j++) L[j] = iq4Index(fround(id * x[xOff + j]));
    qsOff = o + 2;
  }
  for (let i = 0; i < nblk; i++) {
    for (let j = 0; j < 16; j++) dst[qsOff + 16 * i + j] = L[32 * i + j] | (L[32 * i + 16 + j] << 4);
  }
}

function quantizeRows(
  name: string, sbs: number, blockBytes: number,
  src: Float32Array, dst: Uint8Array, nrows: number, nPerRow: number, imatrix?: Float32Array,
): number {
  checkQuantizeArgs(name, sbs, blockBytes, src, dst, nrows, nPerRow, imatrix);
  const nblock = nPerRow / sbs;
  const qw = imatrix ?? null;
  let o = 0;
  for (let row = 0; row < nrows; row++) {
    const rowOff = row * nPerRow;
    for (let ibl = 0; ibl < nblock; ibl++, o += blockBytes) {
      quantizeSuperBlock(src, rowOff + ibl * sbs, sbs, qw, ibl * sbs, dst, o);
    }
  }
  return o;
}

/** One 32-value IQ4 block: dst[y + j] = d·kvalues[q], low nibbles of the 16 bytes at src[q0] first. */
function dequantizeBlock(src: Uint8Array, q0: number, d: number, dst: Float32Array, y: number): void {
  for (let j = 0; j < 16; j++) {
    const q = src[q0 + j];
    dst[y + j] = d * KV[q & 15];
    dst[y + 16 + j] = d * KV[q >> 4];
  }
}

// ============================================================================================
// IQ4_NL: value d·kvalues[q], nibbles in the Q4_0 layout.

/** quantize_iq4_nl (ggml-quants.c); WebAssembly twin: quantizeIQ4_NL in wasm/assembly/index.ts. */
function quantizeIQ4_NL(src: Float32Array, dst: Uint8Array, nrows: number, nPerRow: number, imatrix?: Float32Array): number {
  return quantizeRows('IQ4_NL', 32, 18, src, dst, nrows, nPerRow, imatrix);
}

/** dequantize_row_iq4_nl (ggml-quants.c); no WebAssembly twin. */
function dequantizeIQ4_NL(src: Uint8Array, dst: Float32Array, n: number): void {
  const nb = checkDequantizeArgs('IQ4_NL', 32, 18, src, dst, n);
  for (let ib = 0; ib < nb; ib++) {
    const o = ib * 18;
    dequantizeBlock(src, o + 2, FP16_TO_FP32[getU16(src, o)], dst, ib * 32);
  }
}

// ============================================================================================
// IQ4_XS: block ib's scale ls = (scales_l nibble) | (2 bits of scales_h) << 4; value
// (d·(ls − 32))·kvalues[q].

/** quantize_iq4_xs (ggml-quants.c); WebAssembly twin: quantizeIQ4_XS in wasm/assembly/index.ts. */
function quantizeIQ4_XS(src: Float32Array, dst: Uint8Array, nrows: number, nPerRow: number, imatrix?: Float32Array): number {
  return quantizeRows('IQ4_XS', 256, 136, src, dst, nrows, nPerRow, imatrix);
}

/** dequantize_row_iq4_xs (ggml-quants.c); no WebAssembly twin. */
function dequantizeIQ4_XS(src: Uint8Array, dst: Float32Array, n: number): void {
  const nb = checkDequantizeArgs('IQ4_XS', 256, 136, src, dst, n);
  for (let i = 0; i < nb; i++) {
    const o = i * 136;
    const d = FP16_TO_FP32[getU16(src, o)];
    const scalesH = getU16(src, o + 2);
    for (let ib = 0; ib < 8; ib++) {
      const ls = ((src[o + 4 + (ib >> 1)] >> (4 * (ib & 1))) & 15) | (((scalesH >> (2 * ib)) & 3) << 4);
      dequantizeBlock(src, o + 8 + 16 * ib, fround(d * (ls - 32)), dst, i * 256 + ib * 32);
    }
  }
}

registerKernel({ type: GgmlType.IQ4_NL, quantize: quantizeIQ4_NL, dequantize: dequantizeIQ4_NL });
registerKernel({ type: GgmlType.IQ4_XS, quantize: quantizeIQ4_XS, dequantize: dequantizeIQ4_XS });

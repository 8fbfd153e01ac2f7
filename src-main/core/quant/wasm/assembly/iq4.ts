// IQ4_NL and IQ4_XS (ggml-quants.c: quantize_row_iq4_nl_impl with ntry = 7, which is what
// quantize_iq4_nl / quantize_iq4_xs run, with or without an imatrix). The block scale searches run
// four blocks side by side.

import { GROUP_MAX_EPS, nearestInt, storeF16, gather4, sumSquares } from './common';
import { XT, WT, RES } from './search';

// kvalues_iq4nl as bytes (for a swizzle lookup) and the 15 midpoints between neighbours.
// best_index_int8 picks the upper neighbour when x − v[j] ≥ v[j+1] − x; near a midpoint (a
// half-integer of magnitude ≥ 4.5) both float differences are exact, so the index is the number of
// midpoints ≤ x (and 15 for NaN, as ggml's binary search ends there).
const KV_BYTES: usize = memory.data<i8>([-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113]);
const MID: usize = memory.data<f32>([-115.5, -93.5, -74, -57, -42, -28.5, -16, -4.5, 7, 19, 31.5, 45.5, 61, 79, 101]);
const ZERO_ROW: usize = memory.data(32 * 4, 16);
const SCALES: usize = memory.data(8 * 4, 16);
const L: usize = memory.data(256, 16);
const SUMS: usize = memory.data(32, 16);

// @ts-ignore: decorator
@inline function indexV(al: v128): v128 {
  let idx = i32x4.splat(0);
  for (let j = 0; j < 15; j++) idx = i32x4.sub(idx, f32x4.ge(al, v128.load32_splat(MID + (<usize>j << 2))));
  return v128.bitselect(i32x4.splat(15), idx, f32x4.ne(al, al));
}

/** kvalues_iq4nl[idx] as float lanes. */
// @ts-ignore: decorator
@inline function valueV(idx: v128): v128 {
  const b = i8x16.swizzle(v128.load(KV_BYTES), idx);
  return f32x4.convert_i32x4_s(i32x4.shr_s(i32x4.shl(b, 24), 24));
}

function trialSums(id: v128): void {
  let sumqx = f32x4.splat(0);
  let sumq2 = f32x4.splat(0);
  for (let j = 0; j < 32; j++) {
    const x = v128.load(XT + (<usize>j << 4));
    const w = v128.load(WT + (<usize>j << 4));
    const q = valueV(indexV(f32x4.mul(id, x)));
    const wq = f32x4.mul(w, q);
    sumqx = f32x4.add(sumqx, f32x4.mul(wq, x));
    sumq2 = f32x4.add(sumq2, f32x4.mul(wq, q));
  }
  v128.store(SUMS, sumqx);
  v128.store(SUMS + 16, sumq2);
}

/** The block-scale search of quantize_row_iq4_nl_impl on four gathered blocks: d to RES[0..3]. */
function search4(): void {
  const zero = f32x4.splat(0);
  let amax = zero;
  let max = zero;
  for (let j = 0; j < 32; j++) {
    const x = v128.load(XT + (<usize>j << 4));
    const ax = f32x4.abs(x);
    const gt = f32x4.gt(ax, amax);
    amax = v128.bitselect(ax, amax, gt);
    max = v128.bitselect(x, max, gt);
  }
  const live = f32x4.ge(amax, f32x4.splat(GROUP_MAX_EPS));
  const d0 = f32x4.div(f32x4.neg(max), f32x4.splat(-127));
  trialSums(f32x4.div(f32x4.splat(1), d0));
  let sumqx = v128.load(SUMS);
  let sumq2 = v128.load(SUMS + 16);
  let d = v128.bitselect(f32x4.div(sumqx, sumq2), zero, f32x4.gt(sumq2, zero));
  let best = f32x4.mul(d, sumqx);
  for (let itry = -7; itry <= 7; itry++) {
    trialSums(f32x4.div(f32x4.splat(<f32>(itry - 127)), max));
    sumqx = v128.load(SUMS);
    sumq2 = v128.load(SUMS + 16);
    const accept = v128.and(f32x4.gt(sumq2, zero), f32x4.gt(f32x4.mul(sumqx, sumqx), f32x4.mul(best, sumq2)));
    const nd = f32x4.div(sumqx, sumq2);
    d = v128.bitselect(nd, d, accept);
    best = v128.bitselect(f32x4.mul(nd, sumqx), best, accept);
  }
  v128.store(RES, v128.and(d, live));
}

/** L[o … o+32) = best index of id·x for one block of 32. */
function indexBlock(x: usize, id: f32, lo: usize): void {
  const vid = f32x4.splat(id);
  for (let j = 0; j < 32; j += 16) {
    const a = indexV(f32x4.mul(vid, v128.load(x + (<usize>j << 2))));
    const b = indexV(f32x4.mul(vid, v128.load(x + (<usize>j << 2) + 16)));
    const c = indexV(f32x4.mul(vid, v128.load(x + (<usize>j << 2) + 32)));
    const e = indexV(f32x4.mul(vid, v128.load(x + (<usize>j << 2) + 48)));
    v128.store(lo + j, i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_u(a, b), i16x8.narrow_i32x4_u(c, e)));
  }
}

function packQ4(q: usize, nblk: i32): void {
  for (let i = 0; i < nblk; i++) {
    for (let j = 0; j < 16; j++) store<u8>(q + 16 * i + j, load<u8>(L + 32 * i + j) | (load<u8>(L + 32 * i + 16 + j) << 4));
  }
}

/** Weights of four gathered blocks: qw·sqrtf(σ² + x²) (WT holds qw) or x². */
function weights4(sigma2: v128, weighted: bool): void {
  for (let j = 0; j < 32; j++) {
    const v = v128.load(XT + (<usize>j << 4));
    const x2 = f32x4.mul(v, v);
    v128.store(WT + (<usize>j << 4), weighted ? f32x4.mul(v128.load(WT + (<usize>j << 4)), f32x4.sqrt(f32x4.add(sigma2, x2))) : x2);
  }
}

/**
 * quantize_iq4_xs's row (quantize_row_iq4_nl_impl per super-block): IQ4_XS {d: f16, scales_h: u16,
 * scales_l[4], qs[128]} for one row of nb super-blocks; TypeScript twin: quantizeIQ4_XS in core/quant/iq4.ts.
 */
export function quantizeIQ4_XSRow(x: usize, y: usize, nb: i32, qw: usize): void {
  for (let ibl = 0; ibl < nb; ibl++) {
    let sigma2: f32 = sumSquares(x, 256);
    sigma2 *= <f32>2 / <f32>256;
    for (let g = 0; g < 8; g += 4) {
      const b = x + (<usize>(32 * g) << 2);
      gather4(XT, b, b + 128, b + 256, b + 384, 32);
      if (qw != 0) {
        const q = qw + (<usize>(256 * ibl + 32 * g) << 2);
        gather4(WT, q, q + 128, q + 256, q + 384, 32);
      }
      weights4(f32x4.splat(sigma2), qw != 0);
      search4();
      v128.store(SCALES + (<usize>g << 2), v128.load(RES));
    }
    let maxScale: f32 = 0;
    let amaxScale: f32 = 0;
    for (let ib = 0; ib < 8; ib++) {
      const s = load<f32>(SCALES + (<usize>ib << 2));
      const a = Mathf.abs(s);
      if (a > amaxScale) { amaxScale = a; maxScale = s; }
    }
    const d: f32 = -maxScale / <f32>32;
    storeF16(y, d);
    const id: f32 = d != 0 ? <f32>1 / d : 0;
    let scalesH: u32 = 0;
    for (let ib = 0; ib < 8; ib++) {
      let l = nearestInt(id * load<f32>(SCALES + (<usize>ib << 2)));
      l = l < -32 ? -32 : l > 31 ? 31 : l;
      const dl: f32 = d * <f32>l;
      const idl: f32 = dl != 0 ? <f32>1 / dl : 0;
      indexBlock(x + (<usize>(32 * ib) << 2), idl, L + 32 * ib);
      l += 32;
      const lLow = <u32>l & 0xf;
      const lHigh = <u32>l >> 4;
      if ((ib & 1) == 0) store<u8>(y + 4 + (ib >> 1), <u8>lLow);
      else store<u8>(y + 4 + (ib >> 1), load<u8>(y + 4 + (ib >> 1)) | <u8>(lLow << 4));
      scalesH |= lHigh << (2 * <u32>ib);
    }
    store<u16>(y + 2, <u16>scalesH);
    packQ4(y + 8, 8);
    x += 256 << 2;
    y += 136;
  }
}

/**
 * quantize_iq4_nl's row (quantize_row_iq4_nl_impl per block): IQ4_NL {d: f16, qs[16]} for one row
 * of nb blocks, four at a time; TypeScript twin: quantizeIQ4_NL in core/quant/iq4.ts.
 */
export function quantizeIQ4_NLRow(x: usize, y: usize, nb: i32, qw: usize): void {
  for (let ib = 0; ib < nb; ib += 4) {
    const k = nb - ib < 4 ? nb - ib : 4;
    const xb = x + (<usize>ib << 7);
    gather4(XT, xb, k > 1 ? xb + 128 : ZERO_ROW, k > 2 ? xb + 256 : ZERO_ROW, k > 3 ? xb + 384 : ZERO_ROW, 32);
    if (qw != 0) {
      const qb = qw + (<usize>ib << 7);
      gather4(WT, qb, k > 1 ? qb + 128 : ZERO_ROW, k > 2 ? qb + 256 : ZERO_ROW, k > 3 ? qb + 384 : ZERO_ROW, 32);
    }
    // σ² per block: Σx² in order, times 2/32
    let s2 = f32x4.splat(0);
    for (let j = 0; j < 32; j++) {
      const v = v128.load(XT + (<usize>j << 4));
      s2 = f32x4.add(s2, f32x4.mul(v, v));
    }
    weights4(f32x4.mul(s2, f32x4.splat(<f32>2 / <f32>32)), qw != 0);
    search4();
    for (let t = 0; t < k; t++) {
      const o = y + <usize>((ib + t) * 18);
      const s = load<f32>(RES + (<usize>t << 2));
      storeF16(o, s);
      const id: f32 = s != 0 ? <f32>1 / s : 0;
      indexBlock(xb + (<usize>(32 * t) << 2), id, L);
      packQ4(o + 2, 1);
    }
  }
}


// Q8_0 and Q4_0 (ggml-quants.c: quantize_row_q8_0_ref, quantize_row_q4_0_ref / _impl).

import { nearestIntV, clampV, cvtToInt32, storeF16, gather4, scatter4Bytes, sumSquares } from './common';
import { XT, WT, LV, RES, qxSearch4 } from './search';

const ZERO_ROW: usize = memory.data(32 * 4, 16); // padding source for a partial group of 4 blocks
const LQ: usize = memory.data(4 * 32, 16);

/** roundf on four lanes: truncate, then step away from zero when the fraction is ≥ 0.5 (exact). */
// @ts-ignore: decorator
@inline function roundAwayV(v: v128): v128 {
  const t = f32x4.trunc(v);
  const frac = f32x4.abs(f32x4.sub(v, t));
  const step = v128.and(f32x4.ge(frac, f32x4.splat(0.5)), v128.or(v128.and(v, i32x4.splat(0x80000000)), f32x4.splat(1)));
  return f32x4.add(t, step);
}

/** quantize_row_q8_0_ref: Q8_0 {d: f16, qs: int8[32]} for nb blocks; TypeScript twin: quantizeQ8_0 in core/quant/legacy.ts. */
export function quantizeQ8_0Ref(x: usize, y: usize, nb: i32): void {
  for (let i = 0; i < nb; i++) {
    const v0 = v128.load(x);
    const v1 = v128.load(x, 16);
    const v2 = v128.load(x, 32);
    const v3 = v128.load(x, 48);
    const v4 = v128.load(x, 64);
    const v5 = v128.load(x, 80);
    const v6 = v128.load(x, 96);
    const v7 = v128.load(x, 112);
    // amax = MAX(amax, fabsf(v)) is order-independent for finite values
    let m = f32x4.max(f32x4.max(f32x4.abs(v0), f32x4.abs(v1)), f32x4.max(f32x4.abs(v2), f32x4.abs(v3)));
    m = f32x4.max(m, f32x4.max(f32x4.max(f32x4.abs(v4), f32x4.abs(v5)), f32x4.max(f32x4.abs(v6), f32x4.abs(v7))));
    const amax = Mathf.max(Mathf.max(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1)), Mathf.max(f32x4.extract_lane(m, 2), f32x4.extract_lane(m, 3)));
    const d: f32 = amax / <f32>127;
    const id: f32 = d != 0 ? <f32>1 / d : 0;
    storeF16(y, d);
    if (id > 3.4028234663852886e38) {
      // 1/d overflowed: x·id is ±inf or NaN everywhere, which ggml's float→int8 cast stores as 0
      memory.fill(y + 2, 0, 32);
    } else {
      const vid = f32x4.splat(id);
      const a = i16x8.narrow_i32x4_s(
        i32x4.trunc_sat_f32x4_s(roundAwayV(f32x4.mul(v0, vid))), i32x4.trunc_sat_f32x4_s(roundAwayV(f32x4.mul(v1, vid))));
      const b = i16x8.narrow_i32x4_s(
        i32x4.trunc_sat_f32x4_s(roundAwayV(f32x4.mul(v2, vid))), i32x4.trunc_sat_f32x4_s(roundAwayV(f32x4.mul(v3, vid))));
      const c = i16x8.narrow_i32x4_s(
        i32x4.trunc_sat_f32x4_s(roundAwayV(f32x4.mul(v4, vid))), i32x4.trunc_sat_f32x4_s(roundAwayV(f32x4.mul(v5, vid))));
      const e = i16x8.narrow_i32x4_s(
        i32x4.trunc_sat_f32x4_s(roundAwayV(f32x4.mul(v6, vid))), i32x4.trunc_sat_f32x4_s(roundAwayV(f32x4.mul(v7, vid))));
      v128.store(y + 2, i8x16.narrow_i16x8_s(a, b));
      v128.store(y + 18, i8x16.narrow_i16x8_s(c, e));
    }
    x += 128;
    y += 34;
  }
}

/** quantize_row_q4_0_ref for nb blocks; TypeScript twin: quantizeQ4_0 in core/quant/legacy.ts. */
export function quantizeQ4_0Ref(x: usize, y: usize, nb: i32): void {
  for (let i = 0; i < nb; i++) {
    // max = the first value of largest magnitude (ggml keeps the first on ties), 0 for an all-zero block
    let m = f32x4.max(f32x4.max(f32x4.abs(v128.load(x)), f32x4.abs(v128.load(x, 16))), f32x4.max(f32x4.abs(v128.load(x, 32)), f32x4.abs(v128.load(x, 48))));
    m = f32x4.max(m, f32x4.max(f32x4.max(f32x4.abs(v128.load(x, 64)), f32x4.abs(v128.load(x, 80))), f32x4.max(f32x4.abs(v128.load(x, 96)), f32x4.abs(v128.load(x, 112)))));
    const amax = Mathf.max(Mathf.max(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1)), Mathf.max(f32x4.extract_lane(m, 2), f32x4.extract_lane(m, 3)));
    let max: f32 = 0;
    if (amax > 0) {
      const va = f32x4.splat(amax);
      for (let j = 0; j < 32; j += 4) {
        const hits = i32x4.bitmask(f32x4.eq(f32x4.abs(v128.load(x + (<usize>j << 2))), va));
        if (hits != 0) {
          max = load<f32>(x + (<usize>(j + ctz(hits)) << 2));
          break;
        }
      }
    }
    const d: f32 = max / <f32>-8;
    const id: f32 = d != 0 ? <f32>1 / d : 0;
    storeF16(y, d);
    if (Mathf.abs(id) <= 3.4028234663852886e38) {
      // x·id is within ±8 here, so x·id + 8.5 truncates like the C cast
      const vid = f32x4.splat(id);
      const half = f32x4.splat(8.5);
      const top = i32x4.splat(15);
      const q0 = nibbles(x, vid, half, top);
      const q1 = nibbles(x + 16, vid, half, top);
      const q2 = nibbles(x + 32, vid, half, top);
      const q3 = nibbles(x + 48, vid, half, top);
      v128.store(y + 2, i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_u(q0, q1), i16x8.narrow_i32x4_u(q2, q3)));
    } else {
      for (let j = 0; j < 16; j++) {
        let q0 = <i32><i8>cvtToInt32(load<f32>(x + (<usize>j << 2)) * id + <f32>8.5);
        let q1 = <i32><i8>cvtToInt32(load<f32>(x + (<usize>(j + 16) << 2)) * id + <f32>8.5);
        if (q0 > 15) q0 = 15;
        if (q1 > 15) q1 = 15;
        store<u8>(y + 2 + j, <u8>q0 | <u8>(q1 << 4));
      }
    }
    x += 128;
    y += 18;
  }
}

/** Four packed bytes: element j (at p) in the low nibble, element j + 16 in the high one. */
// @ts-ignore: decorator
@inline function nibbles(p: usize, vid: v128, half: v128, top: v128): v128 {
  const lo = i32x4.min_s(i32x4.trunc_sat_f32x4_s(f32x4.add(f32x4.mul(v128.load(p), vid), half)), top);
  const hi = i32x4.min_s(i32x4.trunc_sat_f32x4_s(f32x4.add(f32x4.mul(v128.load(p, 64), vid), half)), top);
  return v128.or(lo, i32x4.shl(hi, 4));
}

/** quantize_row_q4_0_impl with quant weights: one row, four blocks at a time; TypeScript twin: quantizeQ4_0 in core/quant/legacy.ts. */
export function quantizeQ4_0Imatrix(x: usize, y: usize, nPerRow: i32, qw: usize): void {
  const nb = nPerRow >> 5;
  const sigma2: f32 = sumSquares(x, nPerRow) / <f32>nPerRow;
  const vs2 = f32x4.splat(sigma2);
  for (let ib = 0; ib < nb; ib += 4) {
    const k = nb - ib < 4 ? nb - ib : 4;
    const xb = x + (<usize>ib << 7);
    const qb = qw + (<usize>ib << 7);
    gather4(XT, xb, k > 1 ? xb + 128 : ZERO_ROW, k > 2 ? xb + 256 : ZERO_ROW, k > 3 ? xb + 384 : ZERO_ROW, 32);
    gather4(WT, qb, k > 1 ? qb + 128 : ZERO_ROW, k > 2 ? qb + 256 : ZERO_ROW, k > 3 ? qb + 384 : ZERO_ROW, 32);
    for (let j = 0; j < 32; j++) {
      const v = v128.load(XT + (<usize>j << 4));
      v128.store(WT + (<usize>j << 4), f32x4.mul(v128.load(WT + (<usize>j << 4)), f32x4.sqrt(f32x4.add(vs2, f32x4.mul(v, v)))));
    }
    qxSearch4(32, 8, true);
    scatter4Bytes(LV, LQ, LQ + 32, LQ + 64, LQ + 96, 32);
    for (let t = 0; t < k; t++) {
      const o = y + <usize>((ib + t) * 18);
      storeF16(o, load<f32>(RES + (<usize>t << 2)));
      const lq = LQ + <usize>(32 * t);
      for (let j = 0; j < 16; j++) store<u8>(o + 2 + j, load<u8>(lq + j) | (load<u8>(lq + j + 16) << 4));
    }
  }
}

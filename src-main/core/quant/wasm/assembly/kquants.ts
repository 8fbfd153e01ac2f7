// Q2_K … Q6_K (ggml-quants.c: quantize_row_q{2,3,4,5,6}_K_ref and _impl). The sub-block scale
// searches run four sub-blocks side by side (search.ts); everything else is ggml's scalar order.
// Without an imatrix ggml runs the _ref path over all rows as one stream of super-blocks, which
// gives the same bytes as going row by row, so both paths are driven per row here.

import { QK_K, GROUP_MAX_EPS, nearestInt, nearestIntV, clampV, storeF16, loadF16, gather4, scatter4Bytes, sumSquares } from './common';
import { XT, WT, LV, RES, qkxSearch4, qxSearch4, q3Search4, makeQpQuants } from './search';

const L: usize = memory.data(QK_K, 16); // levels of one super-block
const SCALES: usize = memory.data(16 * 4, 16);
const MINS: usize = memory.data(16 * 4, 16);
const SW: usize = memory.data(16 * 4, 16);
const LS: usize = memory.data(16, 16);
const LM: usize = memory.data(16, 16);
const ZERO_ROW: usize = memory.data(16 * 4, 16); // padding lanes of a one-group search

// ============================================================================ Q2_K / Q3_K

/** Packs 2-bit levels L[0..255] into the 64 bytes at q, as Q2_K and Q3_K store them. */
function pack2Bit(q: usize): void {
  for (let j = 0; j < QK_K; j += 128) {
    const o = q + (j >> 2);
    for (let l = 0; l < 32; l++) {
      store<u8>(o + l, load<u8>(L + j + l) | (load<u8>(L + j + l + 32) << 2) | (load<u8>(L + j + l + 64) << 4) | (load<u8>(L + j + l + 96) << 6));
    }
  }
}

/** Requantize 16 values at x with levels clamp(nearest_int((x + dm)/d), lo, hi) + off into L + o. */
function requant16(x: usize, o: usize, d: f32, dm: f32, lo: i32, hi: i32, off: i32): void {
  const vd = f32x4.splat(d);
  const vm = f32x4.splat(dm);
  const a = clampV(nearestIntV(f32x4.div(f32x4.add(v128.load(x), vm), vd)), lo, hi);
  const b = clampV(nearestIntV(f32x4.div(f32x4.add(v128.load(x, 16), vm), vd)), lo, hi);
  const c = clampV(nearestIntV(f32x4.div(f32x4.add(v128.load(x, 32), vm), vd)), lo, hi);
  const e = clampV(nearestIntV(f32x4.div(f32x4.add(v128.load(x, 48), vm), vd)), lo, hi);
  const k = i16x8.splat(<i16>off);
  v128.store(L + o, i8x16.narrow_i16x8_u(i16x8.add(i16x8.narrow_i32x4_s(a, b), k), i16x8.add(i16x8.narrow_i32x4_s(c, e), k)));
}

/** Q2_K tail: requantize with the stored d/dmin and pack. */
function finishQ2_KBlock(x: usize, y: usize): void {
  const d = loadF16(y + 80);
  const dmin = loadF16(y + 82);
  for (let j = 0; j < 16; j++) {
    const sc = <u32>load<u8>(y + j);
    const dl: f32 = d * <f32>(sc & 0xf);
    if (dl == 0) continue;
    // x + dm with dm = dmin·(sc >> 4): ggml adds the scaled min (it is stored negated)
    requant16(x + (<usize>(16 * j) << 2), <usize>(16 * j), dl, dmin * <f32>(sc >> 4), 0, 3, 0);
  }
  pack2Bit(y + 16);
}

/** quantize_row_q2_K_ref for nb super-blocks; TypeScript twin: quantizeQ2_KRef in core/quant/kquants.ts. */
export function quantizeQ2_KRef(x: usize, y: usize, nb: i32): void {
  for (let i = 0; i < nb; i++) {
    for (let g = 0; g < 16; g += 4) {
      const b = x + (<usize>(16 * g) << 2);
      gather4(XT, b, b + 64, b + 128, b + 192, 16);
      for (let l = 0; l < 16; l++) v128.store(WT + (<usize>l << 4), f32x4.abs(v128.load(XT + (<usize>l << 4))));
      qkxSearch4(16, 3, <f32>-0.5, <f32>0.1, 15, false, true);
      v128.store(SCALES + (<usize>g << 2), v128.load(RES));
      v128.store(MINS + (<usize>g << 2), v128.load(RES + 16));
      scatterLevels(g, 16);
    }
    let maxScale: f32 = 0;
    let maxMin: f32 = 0;
    for (let j = 0; j < 16; j++) {
      const scale = load<f32>(SCALES + (<usize>j << 2));
      if (scale > maxScale) maxScale = scale;
      const min = load<f32>(MINS + (<usize>j << 2));
      if (min > maxMin) maxMin = min;
    }
    if (maxScale > 0) {
      const iscale: f32 = <f32>15 / maxScale;
      for (let j = 0; j < 16; j++) store<u8>(y + j, <u8>nearestInt(iscale * load<f32>(SCALES + (<usize>j << 2))));
      storeF16(y + 80, maxScale / <f32>15);
    } else {
      memory.fill(y, 0, 16);
      store<u16>(y + 80, 0);
    }
    if (maxMin > 0) {
      const iscale: f32 = <f32>15 / maxMin;
      for (let j = 0; j < 16; j++) store<u8>(y + j, load<u8>(y + j) | <u8>(nearestInt(iscale * load<f32>(MINS + (<usize>j << 2))) << 4));
      storeF16(y + 82, maxMin / <f32>15);
    } else {
      store<u16>(y + 82, 0);
    }
    finishQ2_KBlock(x, y);
    x += <usize>QK_K << 2;
    y += 84;
  }
}

/** quantize_row_q2_K_impl with quant weights (one row of nb super-blocks); TypeScript twin: quantizeQ2_KImatrix in core/quant/kquants.ts. */
export function quantizeQ2_KImatrix(x: usize, y: usize, nb: i32, qw: usize): void {
  for (let i = 0; i < nb; i++) {
    const vs2 = f32x4.splat(sumSquares(x, QK_K) / <f32>QK_K);
    for (let g = 0; g < 16; g += 4) {
      const b = x + (<usize>(16 * g) << 2);
      const q = qw + (<usize>(QK_K * i + 16 * g) << 2);
      gather4(XT, b, b + 64, b + 128, b + 192, 16);
      gather4(WT, q, q + 64, q + 128, q + 192, 16);
      let sumw = f32x4.splat(0);
      for (let l = 0; l < 16; l++) {
        const v = v128.load(XT + (<usize>l << 4));
        const w = f32x4.mul(v128.load(WT + (<usize>l << 4)), f32x4.sqrt(f32x4.add(vs2, f32x4.mul(v, v))));
        v128.store(WT + (<usize>l << 4), w);
        sumw = f32x4.add(sumw, w);
      }
      v128.store(SW + (<usize>g << 2), sumw);
      qkxSearch4(16, 3, <f32>-0.9, <f32>0.05, 36, true);
      v128.store(SCALES + (<usize>g << 2), v128.load(RES));
      v128.store(MINS + (<usize>g << 2), v128.load(RES + 16));
      scatterLevels(g, 16);
    }
    storeF16(y + 80, makeQpQuants(16, 15, SCALES, LS, SW));
    storeF16(y + 82, makeQpQuants(16, 15, MINS, LM, SW));
    for (let j = 0; j < 16; j++) store<u8>(y + j, load<u8>(LS + j) | (load<u8>(LM + j) << 4));
    finishQ2_KBlock(x, y);
    x += <usize>QK_K << 2;
    y += 84;
  }
}

/** Packs the 6-bit value l of sub-block j into the 12 Q3_K scale bytes at s (zeroed first). */
function packQ3Scale(s: usize, j: i32, l: u32): void {
  if (j < 8) store<u8>(s + j, <u8>(l & 0xf));
  else store<u8>(s + j - 8, load<u8>(s + j - 8) | <u8>((l & 0xf) << 4));
  store<u8>(s + 8 + (j & 3), load<u8>(s + 8 + (j & 3)) | <u8>((l >> 4) << (2 * (j >> 2))));
}

/** Q3_K tail: requantize with the stored d, split the high bit into hmask, pack. */
function finishQ3_KBlock(x: usize, y: usize): void {
  const s = y + 96;
  const dAll = loadF16(y + 108);
  for (let j = 0; j < 16; j++) {
    const lo = j < 8 ? <i32>load<u8>(s + j) & 0xf : <i32>load<u8>(s + j - 8) >> 4;
    const sc = (lo | (((<i32>load<u8>(s + 8 + (j & 3)) >> (2 * (j >> 2))) & 3) << 4)) - 32;
    const d: f32 = dAll * <f32>sc;
    if (d == 0) continue;
    requant16(x + (<usize>(16 * j) << 2), <usize>(16 * j), d, 0, -4, 3, 4);
  }
  memory.fill(y, 0, 32);
  for (let j = 0; j < QK_K; j++) {
    const l = load<u8>(L + j);
    if (l > 3) {
      store<u8>(y + (j & 31), load<u8>(y + (j & 31)) | <u8>(<i32>1 << (j >> 5)));
      store<u8>(L + j, l - 4);
    }
  }
  pack2Bit(y + 32);
}

/** quantize_row_q3_K_ref for nb super-blocks; TypeScript twin: quantizeQ3_KRef in core/quant/kquants.ts. */
export function quantizeQ3_KRef(x: usize, y: usize, nb: i32): void {
  for (let i = 0; i < nb; i++) {
    for (let g = 0; g < 16; g += 4) {
      const b = x + (<usize>(16 * g) << 2);
      gather4(XT, b, b + 64, b + 128, b + 192, 16);
      q3Search4(16, 4);
      v128.store(SCALES + (<usize>g << 2), v128.load(RES));
      scatterLevels(g, 16);
    }
    let maxScale: f32 = 0;
    let amax: f32 = 0;
    for (let j = 0; j < 16; j++) {
      const scale = load<f32>(SCALES + (<usize>j << 2));
      const a = Mathf.abs(scale);
      if (a > amax) { amax = a; maxScale = scale; }
    }
    memory.fill(y + 96, 0, 12);
    if (maxScale != 0) {
      const iscale: f32 = <f32>-32 / maxScale;
      for (let j = 0; j < 16; j++) {
        let l = <i32><i8>nearestInt(iscale * load<f32>(SCALES + (<usize>j << 2))); // int8_t l = nearest_int(…)
        l = (l < -32 ? -32 : l > 31 ? 31 : l) + 32;
        packQ3Scale(y + 96, j, <u32>l);
      }
      storeF16(y + 108, <f32>1 / iscale);
    } else {
      store<u16>(y + 108, 0);
    }
    finishQ3_KBlock(x, y);
    x += <usize>QK_K << 2;
    y += 110;
  }
}

/** quantize_row_q3_K_impl with quant weights (one row of nb super-blocks); TypeScript twin: quantizeQ3_KImatrix in core/quant/kquants.ts. */
export function quantizeQ3_KImatrix(x: usize, y: usize, nb: i32, qw: usize): void {
  for (let i = 0; i < nb; i++) {
    const vs2 = f32x4.splat(<f32>2 * sumSquares(x, QK_K) / <f32>QK_K);
    for (let g = 0; g < 16; g += 4) {
      const b = x + (<usize>(16 * g) << 2);
      const q = qw + (<usize>(QK_K * i + 16 * g) << 2);
      gather4(XT, b, b + 64, b + 128, b + 192, 16);
      gather4(WT, q, q + 64, q + 128, q + 192, 16);
      let sumw = f32x4.splat(0);
      for (let l = 0; l < 16; l++) {
        const v = v128.load(XT + (<usize>l << 4));
        const w = f32x4.mul(v128.load(WT + (<usize>l << 4)), f32x4.sqrt(f32x4.add(vs2, f32x4.mul(v, v))));
        v128.store(WT + (<usize>l << 4), w);
        sumw = f32x4.add(sumw, w);
      }
      v128.store(SW + (<usize>g << 2), sumw);
      qxSearch4(16, 4, true);
      v128.store(SCALES + (<usize>g << 2), v128.load(RES));
      scatterLevels(g, 16);
    }
    // The 16 sub-block scales: one make_qx_quants(16, 32, scales, Ls, 1, sw), in lane 0.
    gather4(XT, SCALES, ZERO_ROW, ZERO_ROW, ZERO_ROW, 16);
    gather4(WT, SW, ZERO_ROW, ZERO_ROW, ZERO_ROW, 16);
    qxSearch4(16, 32, true);
    memory.fill(y + 96, 0, 12);
    for (let j = 0; j < 16; j++) packQ3Scale(y + 96, j, <u32>i32x4.extract_lane(v128.load(LV + (<usize>j << 4)), 0));
    storeF16(y + 108, f32x4.extract_lane(v128.load(RES), 0));
    finishQ3_KBlock(x, y);
    x += <usize>QK_K << 2;
    y += 110;
  }
}

// ============================================================================ Q4_K / Q5_K

/** Packs 6-bit scale ls and min lm of sub-block j into the 12 bytes at s (j ascending from 0). */
function packK4(s: usize, j: i32, ls: u32, lm: u32): void {
  if (j < 4) {
    store<u8>(s + j, <u8>ls);
    store<u8>(s + j + 4, <u8>lm);
  } else {
    store<u8>(s + j + 4, <u8>((ls & 0xf) | ((lm & 0xf) << 4)));
    store<u8>(s + j - 4, load<u8>(s + j - 4) | <u8>((ls >> 4) << 6));
    store<u8>(s + j, load<u8>(s + j) | <u8>((lm >> 4) << 6));
  }
}

// @ts-ignore: decorator
@inline function k4Scale(s: usize, j: i32): u32 {
  return j < 4 ? <u32>load<u8>(s + j) & 63 : (<u32>load<u8>(s + j + 4) & 0xf) | ((<u32>load<u8>(s + j - 4) >> 6) << 4);
}

// @ts-ignore: decorator
@inline function k4Min(s: usize, j: i32): u32 {
  return j < 4 ? <u32>load<u8>(s + j + 4) & 63 : (<u32>load<u8>(s + j + 4) >> 4) | ((<u32>load<u8>(s + j) >> 6) << 4);
}

/** Levels of sub-blocks g·4 … g·4+3 from the search into L. */
function scatterLevels(first: i32, size: i32): void {
  const b = L + <usize>(first * size);
  scatter4Bytes(LV, b, b + size, b + 2 * size, b + 3 * size, size);
}

/** Requantize the 8 sub-blocks with the stored d/dmin into L (levels 0…nmax). */
function k4Requantize(x: usize, y: usize, nmax: i32): void {
  const d = loadF16(y);
  const dmin = loadF16(y + 2);
  for (let j = 0; j < 8; j++) {
    const dl: f32 = d * <f32>k4Scale(y + 4, j);
    if (dl == 0) continue;
    const dm: f32 = dmin * <f32>k4Min(y + 4, j);
    const vdl = f32x4.splat(dl);
    const vdm = f32x4.splat(dm);
    const xb = x + (<usize>(32 * j) << 2);
    const lb = L + <usize>(32 * j);
    for (let ii = 0; ii < 32; ii += 8) {
      const a = clampV(nearestIntV(f32x4.div(f32x4.add(v128.load(xb + (<usize>ii << 2)), vdm), vdl)), 0, nmax);
      const b = clampV(nearestIntV(f32x4.div(f32x4.add(v128.load(xb + (<usize>ii << 2) + 16), vdm), vdl)), 0, nmax);
      v128.store64_lane(lb + ii, i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_u(a, b), i16x8.splat(0)), 0);
    }
  }
}

/** Q4_K's qs: levels 0…15 of L, two sub-blocks per 32 bytes. */
function packQ4_K(y: usize): void {
  let q = y + 16;
  for (let j = 0; j < QK_K; j += 64) {
    for (let l = 0; l < 32; l++) store<u8>(q + l, load<u8>(L + j + l) | (load<u8>(L + j + l + 32) << 4));
    q += 32;
  }
}

/** Q5_K's qh and qs: levels 0…31 of L, the fifth bit into qh. */
function packQ5_K(y: usize): void {
  const qh = y + 16;
  let ql = y + 48;
  memory.fill(qh, 0, 32);
  let m1: u8 = 1;
  let m2: u8 = 2;
  for (let n = 0; n < QK_K; n += 64) {
    for (let j = 0; j < 32; j++) {
      let l1 = load<u8>(L + n + j);
      if (l1 > 15) { l1 -= 16; store<u8>(qh + j, load<u8>(qh + j) | m1); }
      let l2 = load<u8>(L + n + j + 32);
      if (l2 > 15) { l2 -= 16; store<u8>(qh + j, load<u8>(qh + j) | m2); }
      store<u8>(ql + j, l1 | (l2 << 4));
    }
    m1 <<= 2;
    m2 <<= 2;
    ql += 32;
  }
}

/**
 * The ref path shared by Q4_K and Q5_K for the super-block at x: scale and min searches, the 6-bit
 * scales and d/dmin into y, the requantized levels into L (the caller packs them).
 */
function k4RefBlock(x: usize, y: usize, nmax: i32, rmin: f32, nstep: i32): void {
  const rdelta: f32 = <f32>0.1;
  for (let g = 0; g < 8; g += 4) {
    const b = x + (<usize>(32 * g) << 2);
    gather4(XT, b, b + 128, b + 256, b + 384, 32);
    // weights = sqrtf(Σx²/32) + |x|, per sub-block
    let sumX2 = f32x4.splat(0);
    for (let l = 0; l < 32; l++) {
      const v = v128.load(XT + (<usize>l << 4));
      sumX2 = f32x4.add(sumX2, f32x4.mul(v, v));
    }
    const avX = f32x4.sqrt(f32x4.div(sumX2, f32x4.splat(32)));
    for (let l = 0; l < 32; l++) {
      v128.store(WT + (<usize>l << 4), f32x4.add(avX, f32x4.abs(v128.load(XT + (<usize>l << 4)))));
    }
    qkxSearch4(32, nmax, rmin, rdelta, nstep, false);
    v128.store(SCALES + (<usize>g << 2), v128.load(RES));
    v128.store(MINS + (<usize>g << 2), v128.load(RES + 16));
    scatterLevels(g, 32);
  }
  let maxScale: f32 = 0;
  let maxMin: f32 = 0;
  for (let j = 0; j < 8; j++) {
    const scale = load<f32>(SCALES + (<usize>j << 2));
    if (scale > maxScale) maxScale = scale;
    const min = load<f32>(MINS + (<usize>j << 2));
    if (min > maxMin) maxMin = min;
  }
  const invScale: f32 = maxScale > 0 ? <f32>63 / maxScale : 0;
  const invMin: f32 = maxMin > 0 ? <f32>63 / maxMin : 0;
  for (let j = 0; j < 8; j++) {
    // uint8_t ls = nearest_int(…) wraps before MIN(63, ls)
    let ls = <u32>nearestInt(invScale * load<f32>(SCALES + (<usize>j << 2))) & 0xff;
    let lm = <u32>nearestInt(invMin * load<f32>(MINS + (<usize>j << 2))) & 0xff;
    if (ls > 63) ls = 63;
    if (lm > 63) lm = 63;
    packK4(y + 4, j, ls, lm);
  }
  storeF16(y, maxScale / <f32>63);
  storeF16(y + 2, maxMin / <f32>63);
  k4Requantize(x, y, nmax);
}

/** quantize_row_q4_K_ref for nb super-blocks; TypeScript twin: quantizeQ4_KRef in core/quant/kquants.ts. */
export function quantizeQ4_KRef(x: usize, y: usize, nb: i32): void {
  for (let i = 0; i < nb; i++) {
    k4RefBlock(x, y, 15, -1.0, 20);
    packQ4_K(y);
    x += <usize>QK_K << 2;
    y += 144;
  }
}

/** quantize_row_q5_K_ref for nb super-blocks; TypeScript twin: quantizeQ5_KRef in core/quant/kquants.ts. */
export function quantizeQ5_KRef(x: usize, y: usize, nb: i32): void {
  for (let i = 0; i < nb; i++) {
    k4RefBlock(x, y, 31, -0.5, 15);
    packQ5_K(y);
    x += <usize>QK_K << 2;
    y += 176;
  }
}

/**
 * The first half of the imatrix path shared by Q4_K and Q5_K for super-block i at x: weighted
 * scale and min searches, their 6-bit levels into LS/LM, d and dmin into y.
 */
function k4ImatrixScales(x: usize, y: usize, i: i32, qw: usize, nmax: i32): void {
  const sigma2: f32 = <f32>2 * sumSquares(x, QK_K) / <f32>QK_K;
  const vs2 = f32x4.splat(sigma2);
  for (let g = 0; g < 8; g += 4) {
    const b = x + (<usize>(32 * g) << 2);
    const q = qw + (<usize>(QK_K * i + 32 * g) << 2);
    gather4(XT, b, b + 128, b + 256, b + 384, 32);
    gather4(WT, q, q + 128, q + 256, q + 384, 32);
    let sumw = f32x4.splat(0);
    for (let l = 0; l < 32; l++) {
      const v = v128.load(XT + (<usize>l << 4));
      const w = f32x4.mul(v128.load(WT + (<usize>l << 4)), f32x4.sqrt(f32x4.add(vs2, f32x4.mul(v, v))));
      v128.store(WT + (<usize>l << 4), w);
      sumw = f32x4.add(sumw, w);
    }
    v128.store(SW + (<usize>g << 2), sumw);
    qkxSearch4(32, nmax, <f32>-0.9, <f32>0.05, 36, true);
    v128.store(SCALES + (<usize>g << 2), v128.load(RES));
    v128.store(MINS + (<usize>g << 2), v128.load(RES + 16));
    scatterLevels(g, 32);
  }
  storeF16(y, makeQpQuants(8, 63, SCALES, LS, SW));
  storeF16(y + 2, makeQpQuants(8, 63, MINS, LM, SW));
}

/** quantize_row_q4_K_impl with quant weights qw (one row of nb super-blocks); TypeScript twin: quantizeQ4_KImatrix in core/quant/kquants.ts. */
export function quantizeQ4_KImatrix(x: usize, y: usize, nb: i32, qw: usize): void {
  for (let i = 0; i < nb; i++) {
    k4ImatrixScales(x, y, i, qw, 15);
    for (let j = 0; j < 8; j++) packK4(y + 4, j, <u32>load<u8>(LS + j), <u32>load<u8>(LM + j)); // unclamped, as ggml's Q4_K
    k4Requantize(x, y, 15);
    packQ4_K(y);
    x += <usize>QK_K << 2;
    y += 144;
  }
}

/** quantize_row_q5_K_impl with quant weights qw (one row of nb super-blocks); TypeScript twin: quantizeQ5_KImatrix in core/quant/kquants.ts. */
export function quantizeQ5_KImatrix(x: usize, y: usize, nb: i32, qw: usize): void {
  for (let i = 0; i < nb; i++) {
    k4ImatrixScales(x, y, i, qw, 31);
    for (let j = 0; j < 8; j++) { // only Q5_K clamps the levels to 63 here
      const ls = <u32>load<u8>(LS + j);
      const lm = <u32>load<u8>(LM + j);
      packK4(y + 4, j, ls > 63 ? 63 : ls, lm > 63 ? 63 : lm);
    }
    k4Requantize(x, y, 31);
    packQ5_K(y);
    x += <usize>QK_K << 2;
    y += 176;
  }
}

// ============================================================================ Q6_K

/**
 * quantize_row_q6_K_impl for nb super-blocks, which with qw = 0 is quantize_row_q6_K_ref; qw
 * advances with the blocks. TypeScript twin: quantizeQ6_KRow in core/quant/kquants.ts.
 */
export function quantizeQ6_KRow(x: usize, y: usize, nb: i32, qw: usize): void {
  for (let i = 0; i < nb; i++) {
    for (let g = 0; g < 16; g += 4) {
      const b = x + (<usize>(16 * g) << 2);
      gather4(XT, b, b + 64, b + 128, b + 192, 16);
      if (qw != 0) {
        const q = qw + (<usize>(QK_K * i + 16 * g) << 2);
        gather4(WT, q, q + 64, q + 128, q + 192, 16);
      }
      qxSearch4(16, 32, qw != 0);
      v128.store(SCALES + (<usize>g << 2), v128.load(RES));
      scatterLevels(g, 16);
    }
    let maxScale: f32 = 0;
    let maxAbsScale: f32 = 0;
    for (let ib = 0; ib < 16; ib++) {
      const scale = load<f32>(SCALES + (<usize>ib << 2));
      const a = Mathf.abs(scale);
      if (a > maxAbsScale) { maxAbsScale = a; maxScale = scale; }
    }
    if (maxAbsScale < GROUP_MAX_EPS) {
      memory.fill(y, 0, 210);
    } else {
      const iscale: f32 = <f32>-128 / maxScale;
      storeF16(y + 208, <f32>1 / iscale);
      for (let ib = 0; ib < 16; ib++) {
        const l = nearestInt(iscale * load<f32>(SCALES + (<usize>ib << 2)));
        store<i8>(y + 192 + ib, <i8>(l > 127 ? 127 : l)); // int8 store wraps
      }
      const dAll = loadF16(y + 208);
      for (let j = 0; j < 16; j++) {
        const d: f32 = dAll * <f32>load<i8>(y + 192 + j);
        if (d == 0) continue;
        const vd = f32x4.splat(d);
        const xb = x + (<usize>(16 * j) << 2);
        const a = clampV(nearestIntV(f32x4.div(v128.load(xb), vd)), -32, 31);
        const b = clampV(nearestIntV(f32x4.div(v128.load(xb + 16), vd)), -32, 31);
        const c = clampV(nearestIntV(f32x4.div(v128.load(xb + 32), vd)), -32, 31);
        const e = clampV(nearestIntV(f32x4.div(v128.load(xb + 48), vd)), -32, 31);
        const off = i16x8.splat(32);
        v128.store(L + <usize>(16 * j), i8x16.narrow_i16x8_u(
          i16x8.add(i16x8.narrow_i32x4_s(a, b), off), i16x8.add(i16x8.narrow_i32x4_s(c, e), off)));
      }
      for (let j = 0; j < QK_K; j += 128) {
        const ql = y + (j >> 1);
        const qh = y + 128 + (j >> 2);
        for (let l = 0; l < 32; l++) {
          const a = <u32>load<u8>(L + j + l);
          const b = <u32>load<u8>(L + j + l + 32);
          const c = <u32>load<u8>(L + j + l + 64);
          const e = <u32>load<u8>(L + j + l + 96);
          store<u8>(ql + l, <u8>((a & 0xf) | ((c & 0xf) << 4)));
          store<u8>(ql + l + 32, <u8>((b & 0xf) | ((e & 0xf) << 4)));
          store<u8>(qh + l, <u8>((a >> 4) | ((b >> 4) << 2) | ((c >> 4) << 4) | ((e >> 4) << 6)));
        }
      }
    }
    x += <usize>QK_K << 2;
    y += 210;
  }
}

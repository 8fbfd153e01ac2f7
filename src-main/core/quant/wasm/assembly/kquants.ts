// Q4_K, Q5_K and Q6_K (ggml-quants.c: quantize_row_q{4,5,6}_K_ref and _impl). The sub-block scale
// searches run four sub-blocks side by side (search.ts); everything else is ggml's scalar order.
// Without an imatrix ggml runs the _ref path over all rows as one stream of super-blocks, which
// gives the same bytes as going row by row, so both paths are driven per row here.

import { QK_K, GROUP_MAX_EPS, nearestInt, nearestIntV, clampV, storeF16, loadF16, gather4, scatter4Bytes, sumSquares } from './common';
import { XT, WT, LV, RES, qkxSearch4, qxSearch4, makeQpQuants } from './search';

const L: usize = memory.data(QK_K, 16); // levels of one super-block
const SCALES: usize = memory.data(16 * 4, 16);
const MINS: usize = memory.data(16 * 4, 16);
const SW: usize = memory.data(16 * 4, 16);
const LS: usize = memory.data(16, 16);
const LM: usize = memory.data(16, 16);

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

/** Requantize the 8 sub-blocks with the stored d/dmin into L, then pack qs (and qh for Q5_K). */
function k4Finish(x: usize, y: usize, nmax: i32, q5: bool): void {
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
  if (!q5) {
    let q = y + 16;
    for (let j = 0; j < QK_K; j += 64) {
      for (let l = 0; l < 32; l++) store<u8>(q + l, load<u8>(L + j + l) | (load<u8>(L + j + l + 32) << 4));
      q += 32;
    }
    return;
  }
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

/** quantize_row_q4_K_ref / q5_K_ref for nb super-blocks. */
export function k4Ref(x: usize, y: usize, nb: i32, q5: bool): void {
  const nmax = q5 ? 31 : 15;
  const rmin: f32 = q5 ? -0.5 : -1.0;
  const rdelta: f32 = <f32>0.1;
  const nstep = q5 ? 15 : 20;
  const blockBytes: usize = q5 ? 176 : 144;
  for (let i = 0; i < nb; i++) {
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
    k4Finish(x, y, nmax, q5);
    x += <usize>QK_K << 2;
    y += blockBytes;
  }
}

/** quantize_row_q4_K_impl / q5_K_impl with quant weights qw (one row of nb super-blocks). */
export function k4Imatrix(x: usize, y: usize, nb: i32, qw: usize, q5: bool): void {
  const nmax = q5 ? 31 : 15;
  const blockBytes: usize = q5 ? 176 : 144;
  for (let i = 0; i < nb; i++) {
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
    const dBlock = makeQpQuants(8, 63, SCALES, LS, SW);
    const mBlock = makeQpQuants(8, 63, MINS, LM, SW);
    for (let j = 0; j < 8; j++) {
      let ls = <u32>load<u8>(LS + j);
      let lm = <u32>load<u8>(LM + j);
      if (q5) { // only the Q5_K variant clamps here
        if (ls > 63) ls = 63;
        if (lm > 63) lm = 63;
      }
      packK4(y + 4, j, ls, lm);
    }
    storeF16(y, dBlock);
    storeF16(y + 2, mBlock);
    k4Finish(x, y, nmax, q5);
    x += <usize>QK_K << 2;
    y += blockBytes;
  }
}

// ============================================================================ Q6_K

/** quantize_row_q6_K_ref (qw = 0) / q6_K_impl for nb super-blocks; qw advances with the blocks. */
export function q6k(x: usize, y: usize, nb: i32, qw: usize): void {
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

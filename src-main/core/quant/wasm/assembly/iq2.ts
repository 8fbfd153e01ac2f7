// IQ2_XS (ggml-quants.c: quantize_row_iq2_xs_impl, which always has quant weights): per 16 values,
// two 8-value groups snapped to the 512-entry E8-lattice grid, 7 sign bits each (the 8th follows
// from even parity), a 4-bit scale. Scalar, in ggml's order. The grid's search tables (levels, map,
// neighbour lists) are built by the TypeScript side exactly as iq2xs_init_impl builds them and
// copied into memory once per instance (setIq2xsTables).

import { QK_K, GROUP_MAX_EPS, nearestInt, storeF16, sumSquares } from './common';

let LEVELS: usize = 0; // u8 [512·8], level 0…2 per coordinate (value 2·level + 1)
let MAP: usize = 0; // i32 [43692]: grid entry, or −(offset + 1) of a neighbour list
let NEIGHBOURS: usize = 0; // u16 lists: count, then entries

export function setIq2xsTables(levels: usize, map: usize, neighbours: usize): void {
  LEVELS = levels;
  MAP = map;
  NEIGHBOURS = neighbours;
}

const WEIGHT: usize = memory.data(16 * 4, 16);
const WAUX: usize = memory.data(16 * 4, 16);
const XVAL: usize = memory.data(16 * 4, 16);
const L: usize = memory.data(16, 16);
const LAUX: usize = memory.data(16, 16);
const SCALES: usize = memory.data(16 * 4, 16);
const Q2: usize = memory.data(32 * 2, 16);
const FLT_MAX: f32 = 3.4028234663852886e38;

// @ts-ignore: decorator
@inline function f(base: usize, i: i32): f32 {
  return load<f32>(base + (<usize>i << 2));
}

const TERMS: usize = memory.data(24 * 4, 16); // waux·(scale·q − x)² for each coordinate and level

/**
 * iq2_find_best_neighbour: the entry of the list minimising Σ waux·(scale·q − x)² (the first on ties);
 * its levels to Lg. A term depends only on the coordinate and its level, so the 24 possible terms are
 * computed once; each neighbour's sum then adds its 8 terms in ggml's order, four neighbours at a
 * time as independent chains.
 */
function bestNeighbour(list: usize, xval: usize, waux: usize, scale: f32, Lg: usize): i32 {
  for (let i = 0; i < 8; i++) {
    const x = f(xval, i);
    const w = f(waux, i);
    for (let l = 0; l < 3; l++) {
      const q = 2 * l + 1;
      const diff: f32 = scale * <f32>q - x;
      store<f32>(TERMS + (<usize>(3 * i + l) << 2), w * diff * diff);
    }
  }
  const count = <i32>load<u16>(list);
  let best = FLT_MAX;
  let index = -1;
  let j = 1;
  for (; j + 3 <= count; j += 4) {
    const e0 = <i32>load<u16>(list + (<usize>j << 1));
    const e1 = <i32>load<u16>(list + (<usize>(j + 1) << 1));
    const e2 = <i32>load<u16>(list + (<usize>(j + 2) << 1));
    const e3 = <i32>load<u16>(list + (<usize>(j + 3) << 1));
    const p0 = LEVELS + <usize>(8 * e0);
    const p1 = LEVELS + <usize>(8 * e1);
    const p2 = LEVELS + <usize>(8 * e2);
    const p3 = LEVELS + <usize>(8 * e3);
    let d0: f32 = 0;
    let d1: f32 = 0;
    let d2: f32 = 0;
    let d3: f32 = 0;
    for (let i = 0; i < 8; i++) {
      const t = TERMS + (<usize>(3 * i) << 2);
      d0 += load<f32>(t + (<usize>load<u8>(p0 + i) << 2));
      d1 += load<f32>(t + (<usize>load<u8>(p1 + i) << 2));
      d2 += load<f32>(t + (<usize>load<u8>(p2 + i) << 2));
      d3 += load<f32>(t + (<usize>load<u8>(p3 + i) << 2));
    }
    if (d0 < best) { best = d0; index = e0; }
    if (d1 < best) { best = d1; index = e1; }
    if (d2 < best) { best = d2; index = e2; }
    if (d3 < best) { best = d3; index = e3; }
  }
  for (; j <= count; j++) {
    const e = <i32>load<u16>(list + (<usize>j << 1));
    const p = LEVELS + <usize>(8 * e);
    let d: f32 = 0;
    for (let i = 0; i < 8; i++) d += load<f32>(TERMS + (<usize>(3 * i) << 2) + (<usize>load<u8>(p + i) << 2));
    if (d < best) { best = d; index = e; }
  }
  const pg = LEVELS + <usize>(8 * index);
  for (let i = 0; i < 8; i++) store<i8>(Lg + i, <i8>load<u8>(pg + i));
  return index;
}

/** Map index of the 8 levels at Lg. */
// @ts-ignore: decorator
@inline function mapIndex(Lg: usize): i32 {
  let u = 0;
  for (let i = 0; i < 8; i++) u |= <i32>load<i8>(Lg + i) << (2 * i);
  return u;
}

/** Levels of 8 values at inverse scale id into Lg; returns whether they are on the grid, else snaps them. */
function levelsOnGrid(k: i32, id: f32, scale: f32, Lg: usize): bool {
  for (let i = 0; i < 8; i++) {
    const l = nearestInt(<f32>0.5 * (id * f(XVAL, 8 * k + i) - 1));
    store<i8>(Lg + i, <i8>(l < 0 ? 0 : l > 2 ? 2 : l));
  }
  const g = load<i32>(MAP + (<usize>mapIndex(Lg) << 2));
  if (g >= 0) return true;
  bestNeighbour(NEIGHBOURS + (<usize>(-g - 1) << 1), XVAL + (<usize>(8 * k) << 2), WAUX + (<usize>(8 * k) << 2), scale, Lg);
  return false;
}

/**
 * quantize_row_iq2_xs_impl: one row of nb IQ2_XS super-blocks {d: f16, qs: u16[32], scales: u8[8]};
 * TypeScript twin: quantizeIQ2_XS in core/quant/iquants-grid.ts.
 */
export function quantizeIQ2_XSRow(x: usize, y: usize, nb: i32, qw: usize): void {
  for (let ibl = 0; ibl < nb; ibl++) {
    memory.fill(y, 0, 74);
    memory.fill(Q2, 0, 64);
    let maxScale: f32 = 0;
    const xbl = x + (<usize>(QK_K * ibl) << 2);
    const sigma2: f32 = sumSquares(xbl, QK_K) / <f32>QK_K;
    for (let ib = 0; ib < 16; ib++) {
      const xb = xbl + (<usize>(16 * ib) << 2);
      const qb = qw + (<usize>(QK_K * ibl + 16 * ib) << 2);
      for (let i = 0; i < 16; i++) {
        const v = f(xb, i);
        store<f32>(WEIGHT + (<usize>i << 2), f(qb, i) * Mathf.sqrt(sigma2 + v * v));
      }
      for (let i = 0; i < 16; i++) store<f32>(WAUX + (<usize>i << 2), Mathf.sqrt(f(WEIGHT, i)));
      let signs0: u32 = 0;
      let signs1: u32 = 0;
      for (let k = 0; k < 2; k++) {
        let nflip = 0;
        let s: u32 = 0;
        for (let i = 0; i < 8; i++) {
          const v = f(xb, 8 * k + i);
          if (v >= 0) store<f32>(XVAL + (<usize>(8 * k + i) << 2), v);
          else {
            store<f32>(XVAL + (<usize>(8 * k + i) << 2), -v);
            nflip++;
            s |= 1 << <u32>i;
          }
        }
        if (nflip % 2 != 0) {
          let imin = 0;
          let min: f32 = f(WEIGHT, 8 * k) * f(xb, 8 * k) * f(xb, 8 * k);
          for (let i = 1; i < 8; i++) {
            const ax: f32 = f(WEIGHT, 8 * k + i) * f(xb, 8 * k + i) * f(xb, 8 * k + i);
            if (ax < min) { min = ax; imin = i; }
          }
          const p = XVAL + (<usize>(8 * k + imin) << 2);
          store<f32>(p, -load<f32>(p));
          s ^= 1 << <u32>imin;
        }
        if (k == 0) signs0 = s & 127;
        else signs1 = s & 127;
      }
      let max = f(XVAL, 0);
      for (let i = 1; i < 16; i++) max = max > f(XVAL, i) ? max : f(XVAL, i);
      memory.fill(L, 0, 16);
      if (max < GROUP_MAX_EPS) {
        store<f32>(SCALES + (<usize>ib << 2), 0);
        continue;
      }
      let best: f32 = 0;
      let scale: f32 = max / <f32>5;
      let onGrid0 = true;
      let onGrid1 = true;
      for (let is = -9; is <= 9; is++) {
        const id: f32 = (<f32>5 + <f32>is * <f32>0.1) / max;
        const thisScale: f32 = <f32>1 / id;
        const aux0 = levelsOnGrid(0, id, thisScale, LAUX);
        const aux1 = levelsOnGrid(1, id, thisScale, LAUX + 8);
        let sumqx: f32 = 0;
        let sumq2: f32 = 0;
        for (let i = 0; i < 16; i++) {
          const w = f(WEIGHT, i);
          const qi = 2 * <i32>load<i8>(LAUX + i) + 1;
          const q = <f32>qi;
          sumqx += w * f(XVAL, i) * q;
          sumq2 += w * q * q;
        }
        if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
          scale = sumqx / sumq2;
          best = scale * sumqx;
          memory.copy(L, LAUX, 16);
          onGrid0 = aux0;
          onGrid1 = aux1;
        }
      }
      if ((!onGrid0 || !onGrid1) && scale > 0) {
        const id: f32 = <f32>1 / scale;
        if (!onGrid0) levelsOnGrid(0, id, scale, L);
        if (!onGrid1) levelsOnGrid(1, id, scale, L + 8);
        let sumqx: f32 = 0;
        let sumq2: f32 = 0;
        for (let i = 0; i < 16; i++) {
          const w = f(WEIGHT, i);
          const qi = 2 * <i32>load<i8>(L + i) + 1;
          const q = <f32>qi;
          sumqx += w * f(XVAL, i) * q;
          sumq2 += w * q * q;
        }
        if (sumq2 > 0) scale = sumqx / sumq2;
      }
      if (scale < 0) {
        scale = -scale;
        signs0 = ~signs0 & 127;
        signs1 = ~signs1 & 127;
      }
      // Both groups are on the grid now (ggml aborts otherwise; the map lookup of a snapped group cannot miss).
      store<u16>(Q2 + (<usize>(2 * ib) << 1), <u16>(load<i32>(MAP + (<usize>mapIndex(L) << 2)) | (signs0 << 9)));
      store<u16>(Q2 + (<usize>(2 * ib + 1) << 1), <u16>(load<i32>(MAP + (<usize>mapIndex(L + 8) << 2)) | (signs1 << 9)));
      store<f32>(SCALES + (<usize>ib << 2), scale);
      maxScale = maxScale > scale ? maxScale : scale;
    }
    if (maxScale != 0) {
      const d: f32 = maxScale / <f32>31;
      storeF16(y, d);
      const id: f32 = <f32>1 / d;
      for (let ib = 0; ib < 16; ib++) {
        let l = nearestInt(<f32>0.5 * (id * f(SCALES, ib) - 1));
        l = l < 0 ? 0 : l > 15 ? 15 : l;
        const p = y + 66 + (ib >> 1);
        if ((ib & 1) == 0) store<u8>(p, <u8>l);
        else store<u8>(p, load<u8>(p) | <u8>(l << 4));
      }
      memory.copy(y + 2, Q2, 64);
    }
    y += 74;
  }
}

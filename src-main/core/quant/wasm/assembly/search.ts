// ggml's per-group scale searches, four independent groups at a time (one per f32x4 lane).
// Inputs are "gathered" rows (see common.gather4): row i holds element i of the four groups.
// Each lane follows ggml's scalar code exactly: sums run in element order, data-dependent branches
// become per-lane masks, and a lane that C would leave alone is kept by a select.

import { GROUP_MAX_EPS, nearestInt, nearestIntV, clampV } from './common';

/** Gathered x (up to 32 rows of v128). */
export const XT: usize = memory.data(32 * 16, 16);
/** Gathered weights. */
export const WT: usize = memory.data(32 * 16, 16);
/** Levels (i32 lanes) of the search result. */
export const LV: usize = memory.data(32 * 16, 16);
/** Levels of the step being tried. */
const LA: usize = memory.data(32 * 16, 16);
/** Per-lane results: scale, and (make_qkx*) the negated min. */
export const RES: usize = memory.data(32, 16);

// @ts-ignore: decorator
@inline function row(base: usize, i: i32): usize {
  return base + (<usize>i << 4);
}

/**
 * make_qkx2_quants (qkx3 = false) / make_qkx3_quants with weights (qkx3 = true) on four groups of
 * n values; the error is Σ w·|diff| when useMad, else Σ w·diff². Levels to LV, scale to RES[0..3],
 * −min to RES[4..7].
 */
export function qkxSearch4(n: i32, nmax: i32, rmin: f32, rdelta: f32, nstep: i32, qkx3: bool, useMad: bool = false): void {
  const zero = f32x4.splat(0);
  let x = v128.load(XT);
  let w = v128.load(WT);
  let vmin = x;
  let vmax = x;
  let sumW = w;
  let sumX = f32x4.mul(w, x);
  for (let i = 1; i < n; i++) {
    x = v128.load(row(XT, i));
    w = v128.load(row(WT, i));
    vmin = v128.bitselect(x, vmin, f32x4.lt(x, vmin));
    vmax = v128.bitselect(x, vmax, f32x4.gt(x, vmax));
    sumW = f32x4.add(sumW, w);
    sumX = f32x4.add(sumX, f32x4.mul(w, x));
  }
  vmin = v128.bitselect(zero, vmin, f32x4.gt(vmin, zero));
  const degenerate = qkx3 ? f32x4.le(vmax, vmin) : f32x4.eq(vmax, vmin);
  const live = v128.not(degenerate);
  const fnmax = f32x4.splat(<f32>nmax);
  let iscale = f32x4.div(fnmax, f32x4.sub(vmax, vmin));
  let scale = f32x4.div(f32x4.splat(1), iscale);
  let bestErr = zero;
  for (let i = 0; i < n; i++) {
    x = v128.load(row(XT, i));
    w = v128.load(row(WT, i));
    const l = clampV(nearestIntV(f32x4.mul(iscale, f32x4.sub(x, vmin))), 0, nmax);
    v128.store(row(LV, i), l);
    let diff = f32x4.sub(f32x4.add(f32x4.mul(scale, f32x4.convert_i32x4_s(l)), vmin), x);
    diff = useMad ? f32x4.abs(diff) : f32x4.mul(diff, diff);
    bestErr = f32x4.add(bestErr, f32x4.mul(w, diff));
  }
  for (let is = 0; is <= nstep; is++) {
    const num: f32 = (rmin + rdelta * <f32>is) + <f32>nmax;
    iscale = f32x4.div(f32x4.splat(num), f32x4.sub(vmax, vmin));
    let sumL = zero;
    let sumL2 = zero;
    let sumXL = zero;
    for (let i = 0; i < n; i++) {
      x = v128.load(row(XT, i));
      w = v128.load(row(WT, i));
      const l = clampV(nearestIntV(f32x4.mul(iscale, f32x4.sub(x, vmin))), 0, nmax);
      v128.store(row(LA, i), l);
      const lf = f32x4.convert_i32x4_s(l);
      const wl = f32x4.mul(w, lf);
      sumL = f32x4.add(sumL, wl);
      sumL2 = f32x4.add(sumL2, f32x4.mul(wl, lf));
      sumXL = f32x4.add(sumXL, f32x4.mul(wl, x));
    }
    const D = f32x4.sub(f32x4.mul(sumW, sumL2), f32x4.mul(sumL, sumL));
    const dpos = v128.and(f32x4.gt(D, zero), live);
    if (!v128.any_true(dpos)) continue;
    let thisScale = f32x4.div(f32x4.sub(f32x4.mul(sumW, sumXL), f32x4.mul(sumX, sumL)), D);
    let thisMin = f32x4.div(f32x4.sub(f32x4.mul(sumL2, sumX), f32x4.mul(sumL, sumXL)), D);
    const minPos = f32x4.gt(thisMin, zero);
    thisScale = v128.bitselect(f32x4.div(sumXL, sumL2), thisScale, minPos);
    thisMin = v128.bitselect(zero, thisMin, minPos);
    let err = zero;
    for (let i = 0; i < n; i++) {
      x = v128.load(row(XT, i));
      w = v128.load(row(WT, i));
      const lf = f32x4.convert_i32x4_s(v128.load(row(LA, i)));
      let diff = f32x4.sub(f32x4.add(f32x4.mul(thisScale, lf), thisMin), x);
      diff = useMad ? f32x4.abs(diff) : f32x4.mul(diff, diff);
      err = f32x4.add(err, f32x4.mul(w, diff));
    }
    const accept = v128.and(dpos, f32x4.lt(err, bestErr));
    if (!v128.any_true(accept)) continue;
    for (let i = 0; i < n; i++) {
      v128.store(row(LV, i), v128.bitselect(v128.load(row(LA, i)), v128.load(row(LV, i)), accept));
    }
    bestErr = v128.bitselect(err, bestErr, accept);
    scale = v128.bitselect(thisScale, scale, accept);
    vmin = v128.bitselect(thisMin, vmin, accept);
  }
  // Degenerate groups: all levels 0, scale 0, the min as clamped.
  for (let i = 0; i < n; i++) v128.store(row(LV, i), v128.and(v128.load(row(LV, i)), live));
  v128.store(RES, v128.and(scale, live));
  v128.store(RES + 16, f32x4.neg(vmin));
}

/**
 * make_qx_quants(n, nmax, x, L, rmse_type = 1, qw) on four groups; `weighted` = the weights in WT
 * (qw), otherwise x². Levels l + nmax to LV (0 for an all-zero group), scale to RES[0..3].
 */
export function qxSearch4(n: i32, nmax: i32, weighted: bool): void {
  const zero = f32x4.splat(0);
  let amax = zero;
  let max = zero;
  for (let i = 0; i < n; i++) {
    const x = v128.load(row(XT, i));
    const ax = f32x4.abs(x);
    const gt = f32x4.gt(ax, amax);
    amax = v128.bitselect(ax, amax, gt);
    max = v128.bitselect(x, max, gt);
    if (!weighted) v128.store(row(WT, i), f32x4.mul(x, x));
  }
  const allZero = f32x4.lt(amax, f32x4.splat(GROUP_MAX_EPS));
  let iscale = f32x4.div(f32x4.splat(<f32>-nmax), max);
  let sumlx = zero;
  let suml2 = zero;
  for (let i = 0; i < n; i++) {
    const x = v128.load(row(XT, i));
    const w = v128.load(row(WT, i));
    const l = clampV(nearestIntV(f32x4.mul(iscale, x)), -nmax, nmax - 1);
    v128.store(row(LV, i), l);
    const lf = f32x4.convert_i32x4_s(l);
    sumlx = f32x4.add(sumlx, f32x4.mul(f32x4.mul(w, x), lf));
    suml2 = f32x4.add(suml2, f32x4.mul(f32x4.mul(w, lf), lf));
  }
  // scale = suml2 ? sumlx/suml2 : 0 (C truthiness: NaN counts as true)
  let scale = v128.bitselect(f32x4.div(sumlx, suml2), zero, f32x4.ne(suml2, zero));
  let best = f32x4.mul(scale, sumlx);
  for (let is = -9; is <= 9; is++) {
    if (is == 0) continue;
    const t: f32 = <f32>nmax + <f32>0.1 * <f32>is;
    iscale = f32x4.div(f32x4.splat(-t), max);
    sumlx = zero;
    suml2 = zero;
    for (let i = 0; i < n; i++) {
      const x = v128.load(row(XT, i));
      const w = v128.load(row(WT, i));
      const l = clampV(nearestIntV(f32x4.mul(iscale, x)), -nmax, nmax - 1);
      v128.store(row(LA, i), l);
      const lf = f32x4.convert_i32x4_s(l);
      sumlx = f32x4.add(sumlx, f32x4.mul(f32x4.mul(w, x), lf));
      suml2 = f32x4.add(suml2, f32x4.mul(f32x4.mul(w, lf), lf));
    }
    const accept = v128.and(f32x4.gt(suml2, zero), f32x4.gt(f32x4.mul(sumlx, sumlx), f32x4.mul(best, suml2)));
    if (!v128.any_true(accept)) continue;
    for (let i = 0; i < n; i++) {
      v128.store(row(LV, i), v128.bitselect(v128.load(row(LA, i)), v128.load(row(LV, i)), accept));
    }
    const newScale = f32x4.div(sumlx, suml2);
    scale = v128.bitselect(newScale, scale, accept);
    best = v128.bitselect(f32x4.mul(newScale, sumlx), best, accept);
  }
  const nonZero = v128.not(allZero);
  const off = i32x4.splat(nmax);
  for (let i = 0; i < n; i++) v128.store(row(LV, i), v128.and(i32x4.add(v128.load(row(LV, i)), off), nonZero));
  v128.store(RES, v128.and(scale, nonZero));
}

/**
 * make_qp_quants(n, nmax, x, L, quant_weights) (scalar; n ≤ 16). L is uint8 as in C: a negative
 * level wraps and the refinement reads it back wrapped.
 */
export function makeQpQuants(n: i32, nmax: i32, x: usize, L: usize, qw: usize): f32 {
  let max: f32 = 0;
  for (let i = 0; i < n; i++) {
    const v = load<f32>(x + (<usize>i << 2));
    max = max > v ? max : v;
  }
  if (max < GROUP_MAX_EPS) {
    for (let i = 0; i < n; i++) store<u8>(L + i, 0);
    return 0;
  }
  let iscale: f32 = <f32>nmax / max;
  for (let i = 0; i < n; i++) store<u8>(L + i, <u8>nearestInt(iscale * load<f32>(x + (<usize>i << 2))));
  const scale: f32 = <f32>1 / iscale;
  let bestMse: f32 = 0;
  for (let i = 0; i < n; i++) {
    const diff: f32 = load<f32>(x + (<usize>i << 2)) - scale * <f32>load<u8>(L + i);
    const w = load<f32>(qw + (<usize>i << 2));
    bestMse += w * diff * diff;
  }
  for (let is = -4; is <= 4; is++) {
    if (is == 0) continue;
    const iscaleIs: f32 = (<f32>0.1 * <f32>is + <f32>nmax) / max;
    const scaleIs: f32 = <f32>1 / iscaleIs;
    let mse: f32 = 0;
    for (let i = 0; i < n; i++) {
      const v = load<f32>(x + (<usize>i << 2));
      let l = nearestInt(iscaleIs * v);
      if (l > nmax) l = nmax;
      const diff: f32 = v - scaleIs * <f32>l;
      const w = load<f32>(qw + (<usize>i << 2));
      mse += w * diff * diff;
    }
    if (mse < bestMse) {
      bestMse = mse;
      iscale = iscaleIs;
    }
  }
  let sumlx: f32 = 0;
  let suml2: f32 = 0;
  for (let i = 0; i < n; i++) {
    const v = load<f32>(x + (<usize>i << 2));
    let l = nearestInt(iscale * v);
    if (l > nmax) l = nmax;
    store<u8>(L + i, <u8>l);
    const w = load<f32>(qw + (<usize>i << 2));
    sumlx += w * v * <f32>l;
    suml2 += w * <f32>l * <f32>l;
  }
  for (let itry = 0; itry < 5; itry++) {
    let nChanged = 0;
    for (let i = 0; i < n; i++) {
      const v = load<f32>(x + (<usize>i << 2));
      const w = load<f32>(qw + (<usize>i << 2));
      const li = <f32>load<u8>(L + i);
      let slx: f32 = sumlx - w * v * li;
      let sl2: f32 = suml2 - w * li * li;
      if (slx > 0 && sl2 > 0) {
        let newL = nearestInt(v * sl2 / slx);
        if (newL > nmax) newL = nmax;
        if (newL != <i32>load<u8>(L + i)) {
          slx += w * v * <f32>newL;
          sl2 += w * <f32>newL * <f32>newL;
          if (slx * slx * suml2 > sumlx * sumlx * sl2) {
            store<u8>(L + i, <u8>newL);
            sumlx = slx;
            suml2 = sl2;
            nChanged++;
          }
        }
      }
    }
    if (nChanged == 0) break;
  }
  return suml2 > 0 ? sumlx / suml2 : 0;
}

/**
 * make_q3_quants(n, nmax, x, L, do_rmse = true) on four groups (weights x²): the first pass, then up
 * to five rounds of one-level-at-a-time refinement. A group whose round changed nothing would change
 * nothing in later rounds either, so rounds continue while any group changes. Levels l + nmax to
 * LV (0 for an all-zero group), scale to RES[0..3].
 */
export function q3Search4(n: i32, nmax: i32): void {
  const zero = f32x4.splat(0);
  let amax = zero;
  let max = zero;
  for (let i = 0; i < n; i++) {
    const x = v128.load(row(XT, i));
    const ax = f32x4.abs(x);
    const gt = f32x4.gt(ax, amax);
    amax = v128.bitselect(ax, amax, gt);
    max = v128.bitselect(x, max, gt);
  }
  const allZero = f32x4.lt(amax, f32x4.splat(GROUP_MAX_EPS));
  const iscale = f32x4.div(f32x4.splat(<f32>-nmax), max);
  let sumlx = zero;
  let suml2 = zero;
  for (let i = 0; i < n; i++) {
    const x = v128.load(row(XT, i));
    const l = clampV(nearestIntV(f32x4.mul(iscale, x)), -nmax, nmax - 1);
    v128.store(row(LV, i), l);
    const w = f32x4.mul(x, x);
    v128.store(row(WT, i), w);
    const lf = f32x4.convert_i32x4_s(l);
    sumlx = f32x4.add(sumlx, f32x4.mul(f32x4.mul(w, x), lf));
    suml2 = f32x4.add(suml2, f32x4.mul(f32x4.mul(w, lf), lf));
  }
  for (let itry = 0; itry < 5; itry++) {
    let changed = i32x4.splat(0);
    for (let i = 0; i < n; i++) {
      const x = v128.load(row(XT, i));
      const w = v128.load(row(WT, i));
      const li = v128.load(row(LV, i));
      const lif = f32x4.convert_i32x4_s(li);
      const wx = f32x4.mul(w, x);
      let slx = f32x4.sub(sumlx, f32x4.mul(wx, lif));
      let sl2 = f32x4.sub(suml2, f32x4.mul(f32x4.mul(w, lif), lif));
      const newL = clampV(nearestIntV(f32x4.div(f32x4.mul(x, sl2), slx)), -nmax, nmax - 1);
      const nf = f32x4.convert_i32x4_s(newL);
      const cand = v128.and(f32x4.gt(slx, zero), v128.not(i32x4.eq(newL, li)));
      if (!v128.any_true(cand)) continue;
      slx = f32x4.add(slx, f32x4.mul(wx, nf));
      sl2 = f32x4.add(sl2, f32x4.mul(f32x4.mul(w, nf), nf));
      const better = f32x4.gt(f32x4.mul(f32x4.mul(slx, slx), suml2), f32x4.mul(f32x4.mul(sumlx, sumlx), sl2));
      const take = v128.and(cand, v128.and(f32x4.gt(sl2, zero), better));
      v128.store(row(LV, i), v128.bitselect(newL, li, take));
      sumlx = v128.bitselect(slx, sumlx, take);
      suml2 = v128.bitselect(sl2, suml2, take);
      changed = v128.or(changed, take);
    }
    if (!v128.any_true(changed)) break;
  }
  const nonZero = v128.not(allZero);
  const off = i32x4.splat(nmax);
  for (let i = 0; i < n; i++) v128.store(row(LV, i), v128.and(i32x4.add(v128.load(row(LV, i)), off), nonZero));
  v128.store(RES, v128.and(v128.bitselect(f32x4.div(sumlx, suml2), zero, f32x4.gt(suml2, zero)), nonZero));
}

// ggml's per-group scale searches (ggml-quants.c: make_qx_quants, make_qkx2_quants, make_qkx3_quants,
// make_qp_quants), shared by the legacy, K and IQ families. Bit-exact ports: every float operation is
// rounded to binary32 in the C source's order, and C truthiness of floats (`if (!d)`, `x ? a : b`) is
// written as an explicit `!== 0` because NaN is truthy in C but falsy in JS.
//
// Arrays are passed with offsets (no subarrays in hot paths). Results beyond the return value go to
// caller-provided typed arrays. Scratch lives at module scope: JS is single-threaded per isolate.

import { fround as f32, nearestInt as nearestIntImport } from './numeric.ts';

// Local bindings: hot loops then call plain functions, whatever module format the loader produces.
const fround = f32;
const nearestInt = nearestIntImport;
const GROUP_MAX_EPS = fround(1e-15);
const TENTH = fround(0.1);

// Scratch, grown on demand (n is 8…32 for every current caller).
let XS = new Float64Array(64); // the group's x values
let WS = new Float64Array(64); // weights
let WX = new Float64Array(64); // fround(w * x), reused by the sums that start with w*x
let XM = new Float64Array(64); // fround(x − min) for the current min
let LA = new Float64Array(64); // Laux: the candidate levels of the current step

function ensureScratch(n: number): void {
  if (n <= XS.length) return;
  const size = Math.max(n, XS.length * 2);
  XS = new Float64Array(size);
  WS = new Float64Array(size);
  WX = new Float64Array(size);
  XM = new Float64Array(size);
  LA = new Float64Array(size);
}

/**
 * make_qx_quants: symmetric levels. Writes L[lOff+i] = l + nmax (0 … 2·nmax−1; all 0 for an all-zero
 * group) and returns the signed scale. Weights: qw[qwOff+i] when qw is given, else by rmseType
 * (1: x², 2: 1, 3: |x|, other: √|x|). rmseType 0 and negative rmseType return early as ggml does.
 */
export function makeQxQuants(
  n: number, nmax: number, x: Float32Array, xOff: number, L: Uint8Array, lOff: number,
  rmseType: number, qw: Float32Array | null, qwOff: number,
): number {
  ensureScratch(n);
  let max = 0;
  let amax = 0;
  for (let i = 0; i < n; i++) {
    const v = x[xOff + i];
    XS[i] = v;
    const av = Math.abs(v);
    if (av > amax) { amax = av; max = v; }
  }
  if (amax < GROUP_MAX_EPS) {
    for (let i = 0; i < n; i++) L[lOff + i] = 0;
    return 0;
  }
  let iscale = fround(-nmax / max);
  if (rmseType === 0) {
    for (let i = 0; i < n; i++) {
      let l = nearestInt(fround(iscale * XS[i]));
      l = l < -nmax ? -nmax : l > nmax - 1 ? nmax - 1 : l;
      L[lOff + i] = nmax + l;
    }
    return fround(1 / iscale);
  }
  let returnEarly = false;
  if (rmseType < 0) { rmseType = -rmseType; returnEarly = true; }
  for (let i = 0; i < n; i++) {
    const v = XS[i];
    const w = qw !== null ? qw[qwOff + i]
      : rmseType === 1 ? fround(v * v)
      : rmseType === 2 ? 1
      : rmseType === 3 ? Math.abs(v)
      : fround(Math.sqrt(Math.abs(v)));
    WS[i] = w;
    WX[i] = fround(w * v);
  }
  let sumlx = 0;
  let suml2 = 0;
  for (let i = 0; i < n; i++) {
    let l = nearestInt(fround(iscale * XS[i]));
    l = l < -nmax ? -nmax : l > nmax - 1 ? nmax - 1 : l;
    LA[i] = l;
    L[lOff + i] = l + nmax;
    sumlx = fround(sumlx + fround(WX[i] * l));
    suml2 = fround(suml2 + fround(fround(WS[i] * l) * l));
  }
  let scale = suml2 !== 0 ? fround(sumlx / suml2) : 0;
  if (returnEarly) return suml2 > 0 ? fround(0.5 * fround(scale + fround(1 / iscale))) : fround(1 / iscale);
  let best = fround(scale * sumlx);
  for (let is = -9; is <= 9; is++) {
    if (is === 0) continue;
    iscale = fround(-fround(nmax + fround(TENTH * is)) / max);
    // A step whose levels equal the previous evaluation's has identical sums, so it cannot change
    // L, scale or best (re-accepting writes back the same values): skip its arithmetic.
    let changed = false;
    for (let i = 0; i < n; i++) {
      let l = nearestInt(fround(iscale * XS[i]));
      l = l < -nmax ? -nmax : l > nmax - 1 ? nmax - 1 : l;
      if (l !== LA[i]) { LA[i] = l; changed = true; }
    }
    if (!changed) continue;
    sumlx = 0;
    suml2 = 0;
    for (let i = 0; i < n; i++) {
      const l = LA[i];
      sumlx = fround(sumlx + fround(WX[i] * l));
      suml2 = fround(suml2 + fround(fround(WS[i] * l) * l));
    }
    if (suml2 > 0 && fround(sumlx * sumlx) > fround(best * suml2)) {
      for (let i = 0; i < n; i++) L[lOff + i] = nmax + LA[i];
      scale = fround(sumlx / suml2);
      best = fround(scale * sumlx);
    }
  }
  return scale;
}

/**
 * make_qkx2_quants (weights required; degenerate when max == min) and make_qkx3_quants (weights
 * null → x²; degenerate when max <= min): asymmetric levels 0…nmax with a min. Writes L[lOff+i],
 * stores the (non-negative) negated min into minOut[minIdx], returns the scale. On each accepted
 * step the running min and scale are replaced, and later steps use the new min.
 */
export function makeQkxQuants(
  qkx3: boolean, n: number, nmax: number, x: Float32Array, xOff: number,
  weights: Float32Array | null, wOff: number, L: Uint8Array, lOff: number,
  minOut: Float32Array, minIdx: number, rmin: number, rdelta: number, nstep: number, useMad: boolean,
): number {
  ensureScratch(n);
  let min = x[xOff];
  let max = min;
  for (let i = 0; i < n; i++) {
    const v = x[xOff + i];
    XS[i] = v;
    WS[i] = weights !== null ? weights[wOff + i] : fround(v * v);
  }
  let sumW = WS[0];
  let sumX = fround(sumW * XS[0]);
  let nonNegW = sumW >= 0;
  for (let i = 1; i < n; i++) {
    const v = XS[i];
    if (v < min) min = v;
    if (v > max) max = v;
    const w = WS[i];
    if (!(w >= 0)) nonNegW = false;
    sumW = fround(sumW + w);
    sumX = fround(sumX + fround(w * v));
  }
  if (min > 0) min = 0;
  if (qkx3 ? max <= min : max === min) {
    for (let i = 0; i < n; i++) L[lOff + i] = 0;
    minOut[minIdx] = -min;
    return 0;
  }
  let range = fround(max - min);
  let iscale = fround(nmax / range);
  let scale = fround(1 / iscale);
  let bestErr = 0;
  for (let i = 0; i < n; i++) {
    const xm = fround(XS[i] - min);
    XM[i] = xm;
    let l = nearestInt(fround(iscale * xm));
    l = l < 0 ? 0 : l > nmax ? nmax : l;
    L[lOff + i] = l;
    let diff = fround(fround(fround(scale * l) + min) - XS[i]);
    diff = useMad ? Math.abs(diff) : fround(diff * diff);
    bestErr = fround(bestErr + fround(WS[i] * diff));
  }
  if (nstep < 1) {
    minOut[minIdx] = -min;
    return scale;
  }
  // With non-negative weights every error term is ≥ 0, so the running float sum never decreases
  // and a step can be rejected as soon as its partial error reaches the best one.
  let havePrev = false;
  for (let is = 0; is <= nstep; is++) {
    iscale = fround(fround(fround(rmin + fround(rdelta * is)) + nmax) / range);
    // The sums, fit and error depend on the levels only (not on min), so a step with the same
    // levels as the previously evaluated one reproduces its outcome exactly: skip it.
    let changed = !havePrev;
    for (let i = 0; i < n; i++) {
      let l = nearestInt(fround(iscale * XM[i]));
      l = l < 0 ? 0 : l > nmax ? nmax : l;
      if (l !== LA[i]) { LA[i] = l; changed = true; }
    }
    if (!changed) continue;
    havePrev = true;
    let sumL = 0;
    let sumL2 = 0;
    let sumXL = 0;
    for (let i = 0; i < n; i++) {
      const l = LA[i];
      const wl = fround(WS[i] * l);
      sumL = fround(sumL + wl);
      sumL2 = fround(sumL2 + fround(wl * l));
      sumXL = fround(sumXL + fround(wl * XS[i]));
    }
    const D = fround(fround(sumW * sumL2) - fround(sumL * sumL));
    if (!(D > 0)) continue;
    let thisScale = fround(fround(fround(sumW * sumXL) - fround(sumX * sumL)) / D);
    let thisMin = fround(fround(fround(sumL2 * sumX) - fround(sumL * sumXL)) / D);
    if (thisMin > 0) {
      thisMin = 0;
      thisScale = fround(sumXL / sumL2);
    }
    let err = 0;
    let i = 0;
    if (useMad) {
      for (; i < n; i++) {
        const diff = Math.abs(fround(fround(fround(thisScale * LA[i]) + thisMin) - XS[i]));
        err = fround(err + fround(WS[i] * diff));
        if (nonNegW && err >= bestErr) break;
      }
    } else {
      for (; i < n; i++) {
        const diff = fround(fround(fround(thisScale * LA[i]) + thisMin) - XS[i]);
        err = fround(err + fround(WS[i] * fround(diff * diff)));
        if (nonNegW && err >= bestErr) break;
      }
    }
    if (i === n && err < bestErr) {
      for (let k = 0; k < n; k++) L[lOff + k] = LA[k];
      bestErr = err;
      scale = thisScale;
      min = thisMin;
      range = fround(max - min);
      for (let k = 0; k < n; k++) XM[k] = fround(XS[k] - min);
    }
  }
  minOut[minIdx] = -min;
  return scale;
}

/** make_qkx2_quants(n, nmax, x, weights, L, &the_min, Laux, rmin, rdelta, nstep, use_mad). */
export function makeQkx2Quants(
  n: number, nmax: number, x: Float32Array, xOff: number, weights: Float32Array, wOff: number,
  L: Uint8Array, lOff: number, minOut: Float32Array, minIdx: number,
  rmin: number, rdelta: number, nstep: number, useMad: boolean,
): number {
  return makeQkxQuants(false, n, nmax, x, xOff, weights, wOff, L, lOff, minOut, minIdx, rmin, rdelta, nstep, useMad);
}

/** make_qkx3_quants(n, nmax, x, weights|NULL, L, &the_min, Laux, rmin, rdelta, nstep, use_mad). */
export function makeQkx3Quants(
  n: number, nmax: number, x: Float32Array, xOff: number, weights: Float32Array | null, wOff: number,
  L: Uint8Array, lOff: number, minOut: Float32Array, minIdx: number,
  rmin: number, rdelta: number, nstep: number, useMad: boolean,
): number {
  return makeQkxQuants(true, n, nmax, x, xOff, weights, wOff, L, lOff, minOut, minIdx, rmin, rdelta, nstep, useMad);
}

/**
 * make_qp_quants: levels 0…nmax for non-negative x (the super-block scales), weighted by
 * qw[qwOff+i]. L is uint8 as in C: a negative level wraps, and the refinement reads it back wrapped.
 */
export function makeQpQuants(
  n: number, nmax: number, x: Float32Array, xOff: number, L: Uint8Array, lOff: number,
  qw: Float32Array, qwOff: number,
): number {
  let max = 0;
  for (let i = 0; i < n; i++) {
    const v = x[xOff + i];
    max = max > v ? max : v;
  }
  if (max < GROUP_MAX_EPS) {
    for (let i = 0; i < n; i++) L[lOff + i] = 0;
    return 0;
  }
  let iscale = fround(nmax / max);
  for (let i = 0; i < n; i++) L[lOff + i] = nearestInt(fround(iscale * x[xOff + i]));
  const scale = fround(1 / iscale);
  let bestMse = 0;
  for (let i = 0; i < n; i++) {
    const diff = fround(x[xOff + i] - fround(scale * L[lOff + i]));
    bestMse = fround(bestMse + fround(fround(qw[qwOff + i] * diff) * diff));
  }
  for (let is = -4; is <= 4; is++) {
    if (is === 0) continue;
    const iscaleIs = fround(fround(fround(TENTH * is) + nmax) / max);
    const scaleIs = fround(1 / iscaleIs);
    let mse = 0;
    for (let i = 0; i < n; i++) {
      const v = x[xOff + i];
      let l = nearestInt(fround(iscaleIs * v));
      if (l > nmax) l = nmax;
      const diff = fround(v - fround(scaleIs * l));
      mse = fround(mse + fround(fround(qw[qwOff + i] * diff) * diff));
    }
    if (mse < bestMse) {
      bestMse = mse;
      iscale = iscaleIs;
    }
  }
  let sumlx = 0;
  let suml2 = 0;
  for (let i = 0; i < n; i++) {
    const v = x[xOff + i];
    let l = nearestInt(fround(iscale * v));
    if (l > nmax) l = nmax;
    L[lOff + i] = l;
    const w = qw[qwOff + i];
    // The sums use the int level; the refinement below reads the stored (uint8) one.
    sumlx = fround(sumlx + fround(fround(w * v) * l));
    suml2 = fround(suml2 + fround(fround(w * l) * l));
  }
  for (let itry = 0; itry < 5; itry++) {
    let nChanged = 0;
    for (let i = 0; i < n; i++) {
      const v = x[xOff + i];
      const w = qw[qwOff + i];
      const li = L[lOff + i];
      let slx = fround(sumlx - fround(fround(w * v) * li));
      let sl2 = fround(suml2 - fround(fround(w * li) * li));
      if (slx > 0 && sl2 > 0) {
        let newL = nearestInt(fround(fround(v * sl2) / slx));
        if (newL > nmax) newL = nmax;
        if (newL !== li) {
          slx = fround(slx + fround(fround(w * v) * newL));
          sl2 = fround(sl2 + fround(fround(w * newL) * newL));
          if (fround(fround(slx * slx) * suml2) > fround(fround(sumlx * sumlx) * sl2)) {
            L[lOff + i] = newL;
            sumlx = slx;
            suml2 = sl2;
            nChanged++;
          }
        }
      }
    }
    if (nChanged === 0) break;
  }
  return suml2 > 0 ? fround(sumlx / suml2) : 0;
}

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
let QX = new Float64Array(64 * 5); // makeQxQuants: interleaved x, weight, w·x
let QXL = new Float64Array(64 * 19); // makeQxQuants: levels of the first pass and 18 steps, a row each
const QX_ISCALE = new Float64Array(18); // makeQxQuants: the steps' iscales
const STEP_CHANGED = new Uint8Array(18); // makeQxQuants: step k's levels differ from step k−1's
const LIVE = new Int32Array(18); // makeQxQuants: rows of the changed steps
const SUMS = new Float64Array(40); // makeQxQuants: their (sumlx, suml2) pairs
let QKX = new Float64Array(64 * 5); // makeQkxQuants: interleaved x, weight, x − min, two level slots

const MAGIC = 12582912; // 1.5 · 2^23

/**
 * nearest_int of a float32 value, as a double: the in-range fast path inline, numeric.ts's bit-exact
 * version for |v| ≥ 2^22 and NaN. Returning a double keeps level arithmetic in float64 registers.
 */
function nearestIntF(v: number): number {
  const t = fround(v + MAGIC);
  return t >= 8388608 && t < 16777216 ? t - MAGIC : nearestInt(v) + 0.0;
}

let capacity = 64;

function ensureScratch(n: number): void {
  if (n <= capacity) return;
  capacity = Math.max(n, capacity * 2);
  QX = new Float64Array(capacity * 5);
  QKX = new Float64Array(capacity * 5);
  QXL = new Float64Array(capacity * 19);
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
  // Interleaved scratch, element i at i·5: x, weight, fround(w·x).
  const S = QX;
  let max = 0;
  let amax = 0;
  for (let i = 0; i < n; i++) {
    const v = x[xOff + i];
    S[5 * i] = v;
    const av = Math.abs(v);
    if (av > amax) { amax = av; max = v; }
  }
  if (amax < GROUP_MAX_EPS) {
    for (let i = 0; i < n; i++) L[lOff + i] = 0;
    return 0;
  }
  const lo = -nmax + 0.0; // clamp bounds as doubles, so level phis stay float64
  const hi = nmax - 1 + 0.0;
  let iscale = fround(-nmax / max);
  if (rmseType === 0) {
    for (let i = 0; i < n; i++) {
      let l = nearestIntF(fround(iscale * S[5 * i]));
      l = l < lo ? lo : l > hi ? hi : l;
      L[lOff + i] = nmax + l;
    }
    return fround(1 / iscale);
  }
  let returnEarly = false;
  if (rmseType < 0) { rmseType = -rmseType; returnEarly = true; }
  for (let i = 0, b = 0; i < n; i++, b += 5) {
    const v = S[b];
    const w = qw !== null ? qw[qwOff + i]
      : rmseType === 1 ? fround(v * v)
      : rmseType === 2 ? 1
      : rmseType === 3 ? Math.abs(v)
      : fround(Math.sqrt(Math.abs(v)));
    S[b + 1] = w;
    S[b + 2] = fround(w * v);
  }
  let sumlx = 0;
  let suml2 = 0;
  for (let i = 0, b = 0; i < n; i++, b += 5) {
    let l = nearestIntF(fround(iscale * S[b]));
    l = l < lo ? lo : l > hi ? hi : l;
    L[lOff + i] = l + nmax;
    sumlx = fround(sumlx + fround(S[b + 2] * l));
    suml2 = fround(suml2 + fround(fround(S[b + 1] * l) * l));
  }
  let scale = suml2 !== 0 ? fround(sumlx / suml2) : 0;
  if (returnEarly) return suml2 > 0 ? fround(0.5 * fround(scale + fround(1 / iscale))) : fround(1 / iscale);
  let best = fround(scale * sumlx);
  // The 18 steps (is = −9…9 without 0). A step's levels and sums do not depend on earlier
  // decisions, so: (1) compute every step's levels (row k+1 of QXL; row 0 holds the first pass),
  // (2) drop steps whose levels equal the previous step's (identical sums: re-evaluating them cannot
  // change L, scale or best), (3) compute the sums of the remaining steps two at a time (four
  // independent float sums per loop), (4) apply the decisions in step order, as the C loop does.
  const lv = QXL;
  const stride = capacity;
  for (let i = 0; i < n; i++) lv[i] = L[lOff + i] - nmax;
  // A level is monotonic in the step (iscale is, and fround, nearest_int and the clamp are
  // monotonic), so an element whose first and last step levels agree has that level throughout.
  const isc = QX_ISCALE;
  for (let k = 0; k < 18; k++) isc[k] = fround(-fround(nmax + fround(TENTH * (k < 9 ? k - 9 : k - 8))) / max);
  const iscaleFirst = isc[0];
  const iscaleLast = isc[17];
  for (let k = 0; k < 18; k++) STEP_CHANGED[k] = 0;
  for (let i = 0, b = 0; i < n; i++, b += 5) {
    const v = S[b];
    let first = nearestIntF(fround(iscaleFirst * v));
    first = first < lo ? lo : first > hi ? hi : first;
    let last = nearestIntF(fround(iscaleLast * v));
    last = last < lo ? lo : last > hi ? hi : last;
    if (first !== lv[i]) STEP_CHANGED[0] = 1;
    if (first === last) {
      for (let k = 1; k <= 18; k++) lv[k * stride + i] = first;
      continue;
    }
    let prev = first;
    lv[stride + i] = first;
    for (let k = 1; k < 18; k++) {
      let l = nearestIntF(fround(isc[k] * v));
      l = l < lo ? lo : l > hi ? hi : l;
      if (l !== prev) STEP_CHANGED[k] = 1;
      lv[(k + 1) * stride + i] = l;
      prev = l;
    }
  }
  let nLive = 0;
  for (let k = 0; k < 18; k++) if (STEP_CHANGED[k] !== 0) LIVE[nLive++] = k + 1;
  for (let j = 0; j < nLive; j += 2) {
    const rowA = LIVE[j] * stride;
    const hasB = j + 1 < nLive;
    const rowB = hasB ? LIVE[j + 1] * stride : rowA;
    let sxA = 0;
    let s2A = 0;
    let sxB = 0;
    let s2B = 0;
    for (let i = 0, b = 0; i < n; i++, b += 5) {
      const w = S[b + 1];
      const wx = S[b + 2];
      const a = lv[rowA + i];
      const c = lv[rowB + i];
      sxA = fround(sxA + fround(wx * a));
      s2A = fround(s2A + fround(fround(w * a) * a));
      sxB = fround(sxB + fround(wx * c));
      s2B = fround(s2B + fround(fround(w * c) * c));
    }
    SUMS[2 * j] = sxA;
    SUMS[2 * j + 1] = s2A;
    SUMS[2 * j + 2] = sxB;
    SUMS[2 * j + 3] = s2B;
  }
  for (let j = 0; j < nLive; j++) {
    const sx = SUMS[2 * j];
    const s2 = SUMS[2 * j + 1];
    if (s2 > 0 && fround(sx * sx) > fround(best * s2)) {
      const row = LIVE[j] * stride;
      for (let i = 0; i < n; i++) L[lOff + i] = nmax + lv[row + i];
      scale = fround(sx / s2);
      best = fround(scale * sx);
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
  // One interleaved scratch array, element i at i·5: x, weight, x − min, and two level slots
  // (this step's and the next step's, swapped each step). V8 re-checks a typed array's map and
  // bounds on every access in a loop; one array instead of five cuts that overhead.
  const S = QKX;
  let min = x[xOff];
  let max = min;
  for (let i = 0; i < n; i++) {
    const v = x[xOff + i];
    S[5 * i] = v;
    S[5 * i + 1] = weights !== null ? weights[wOff + i] : fround(v * v);
  }
  let sumW = S[1];
  let sumX = fround(sumW * S[0]);
  let nonNegW = sumW >= 0;
  for (let i = 1; i < n; i++) {
    const v = S[5 * i];
    if (v < min) min = v;
    if (v > max) max = v;
    const w = S[5 * i + 1];
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
  const top = nmax + 0.0; // the clamp bound as a double, so level phis stay float64
  let range = fround(max - min);
  let iscale = fround(nmax / range);
  let scale = fround(1 / iscale);
  let bestErr = 0;
  for (let i = 0; i < n; i++) {
    const xm = fround(S[5 * i] - min);
    S[5 * i + 2] = xm;
    let l = nearestIntF(fround(iscale * xm));
    l = l < 0 ? 0 : l > top ? top : l;
    L[lOff + i] = l;
    let diff = fround(fround(fround(scale * l) + min) - S[5 * i]);
    diff = useMad ? Math.abs(diff) : fround(diff * diff);
    bestErr = fround(bestErr + fround(S[5 * i + 1] * diff));
  }
  if (nstep < 1) {
    minOut[minIdx] = -min;
    return scale;
  }
  // Software-pipelined search. Each step's error is a serial float sum, and so are the next step's
  // three level sums: one loop computes both, so four independent dependency chains overlap. The next
  // step is computed assuming this one is rejected; an acceptance changes min, and then it is redone.
  // A step whose levels equal the previous step's has identical sums, fit and error (they depend on
  // the levels, not on min), so it cannot change the outcome: its evaluation is skipped.
  let la = 3; // slot of this step's levels
  let lb = 4; // slot of the next step's levels
  let stepIscale = fround(fround(fround(rmin + fround(rdelta * 0)) + nmax) / range);
  let sumL = 0;
  let sumL2 = 0;
  let sumXL = 0;
  for (let i = 0, b = 0; i < n; i++, b += 5) {
    let l = nearestIntF(fround(stepIscale * S[b + 2]));
    l = l < 0 ? 0 : l > top ? top : l;
    S[b + la] = l;
    const wl = fround(S[b + 1] * l);
    sumL = fround(sumL + wl);
    sumL2 = fround(sumL2 + fround(wl * l));
    sumXL = fround(sumXL + fround(wl * S[b]));
  }
  let changed = true;
  for (let is = 0; is <= nstep; is++) {
    let evalErr = false;
    let thisScale = 0;
    let thisMin = 0;
    if (changed) {
      const D = fround(fround(sumW * sumL2) - fround(sumL * sumL));
      if (D > 0) {
        thisScale = fround(fround(fround(sumW * sumXL) - fround(sumX * sumL)) / D);
        thisMin = fround(fround(fround(sumL2 * sumX) - fround(sumL * sumXL)) / D);
        if (thisMin > 0) {
          thisMin = 0;
          thisScale = fround(sumXL / sumL2);
        }
        evalErr = true;
      }
    }
    const hasNext = is < nstep;
    let nL = 0;
    let nL2 = 0;
    let nXL = 0;
    let nextChanged = false;
    let err = 0;
    let complete = true; // false when the error sum stopped early (already ≥ the best)
    if (hasNext) stepIscale = fround(fround(fround(rmin + fround(rdelta * (is + 1))) + nmax) / range);
    if (evalErr && hasNext) {
      if (useMad) {
        for (let i = 0, b = 0; i < n; i++, b += 5) {
          const l = S[b + la];
          const xi = S[b];
          const wi = S[b + 1];
          err = fround(err + fround(wi * Math.abs(fround(fround(fround(thisScale * l) + thisMin) - xi))));
          let m = nearestIntF(fround(stepIscale * S[b + 2]));
          m = m < 0 ? 0 : m > top ? top : m;
          if (m !== l) nextChanged = true;
          S[b + lb] = m;
          const wm = fround(wi * m);
          nL = fround(nL + wm);
          nL2 = fround(nL2 + fround(wm * m));
          nXL = fround(nXL + fround(wm * xi));
        }
      } else {
        for (let i = 0, b = 0; i < n; i++, b += 5) {
          const l = S[b + la];
          const xi = S[b];
          const wi = S[b + 1];
          const d = fround(fround(fround(thisScale * l) + thisMin) - xi);
          err = fround(err + fround(wi * fround(d * d)));
          let m = nearestIntF(fround(stepIscale * S[b + 2]));
          m = m < 0 ? 0 : m > top ? top : m;
          if (m !== l) nextChanged = true;
          S[b + lb] = m;
          const wm = fround(wi * m);
          nL = fround(nL + wm);
          nL2 = fround(nL2 + fround(wm * m));
          nXL = fround(nXL + fround(wm * xi));
        }
      }
    } else if (evalErr) {
      // Last step: error only. With non-negative weights every term is ≥ 0 and the float sum never
      // decreases, so it can stop as soon as it reaches the best error.
      for (let i = 0, b = 0; i < n; i++, b += 5) {
        const d = fround(fround(fround(thisScale * S[b + la]) + thisMin) - S[b]);
        err = fround(err + fround(S[b + 1] * (useMad ? Math.abs(d) : fround(d * d))));
        if (nonNegW && err >= bestErr) { complete = false; break; }
      }
    } else if (hasNext) {
      for (let i = 0, b = 0; i < n; i++, b += 5) {
        let m = nearestIntF(fround(stepIscale * S[b + 2]));
        m = m < 0 ? 0 : m > top ? top : m;
        if (m !== S[b + la]) nextChanged = true;
        S[b + lb] = m;
        const wm = fround(S[b + 1] * m);
        nL = fround(nL + wm);
        nL2 = fround(nL2 + fround(wm * m));
        nXL = fround(nXL + fround(wm * S[b]));
      }
    }
    if (evalErr && complete && err < bestErr) {
      for (let k = 0; k < n; k++) L[lOff + k] = S[5 * k + la];
      bestErr = err;
      scale = thisScale;
      min = thisMin;
      range = fround(max - min);
      for (let k = 0; k < n; k++) S[5 * k + 2] = fround(S[5 * k] - min);
      if (hasNext) {
        // Redo the next step's levels and sums with the new min.
        stepIscale = fround(fround(fround(rmin + fround(rdelta * (is + 1))) + nmax) / range);
        nL = 0;
        nL2 = 0;
        nXL = 0;
        nextChanged = false;
        for (let i = 0, b = 0; i < n; i++, b += 5) {
          let m = nearestIntF(fround(stepIscale * S[b + 2]));
          m = m < 0 ? 0 : m > top ? top : m;
          if (m !== S[b + la]) nextChanged = true;
          S[b + lb] = m;
          const wm = fround(S[b + 1] * m);
          nL = fround(nL + wm);
          nL2 = fround(nL2 + fround(wm * m));
          nXL = fround(nXL + fround(wm * S[b]));
        }
      }
    }
    const t = la;
    la = lb;
    lb = t;
    sumL = nL;
    sumL2 = nL2;
    sumXL = nXL;
    changed = nextChanged;
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

// A log-scale axis a person can read at any range: whole decades as bounds, ticks at 1-2-5 of each
// decade when there is room, else every decade (or every few) so labels never crowd each other.

export interface LogAxis {
  /** log10 of the axis' bottom and top. */
  readonly lo: number;
  readonly hi: number;
  /** The tick values, bottom to top. */
  readonly ticks: readonly number[];
}

/**
 * The axis for `values` (each at least `floor`; nothing positive → one decade above `floor`) with at
 * most `maxTicks` ticks (at least 2).
 */
export function logAxis(values: readonly number[], floor: number, maxTicks: number): LogAxis {
  const vs = values.filter((v) => Number.isFinite(v)).map((v) => Math.max(floor, v));
  const min = vs.length > 0 ? Math.min(...vs) : floor;
  const max = vs.length > 0 ? Math.max(...vs) : floor * 10;
  const lo = Math.floor(Math.log10(min) + 1e-9);
  let hi = Math.ceil(Math.log10(max) - 1e-9) + 0; // + 0: no -0
  if (hi <= lo) hi = lo + 1;
  const decades = hi - lo;
  const most = Math.max(2, Math.floor(maxTicks));
  if (decades * 3 + 1 <= most) {
    const ticks: number[] = [];
    for (let e = lo; e < hi; e++) for (const m of [1, 2, 5]) ticks.push(m * 10 ** e);
    ticks.push(10 ** hi);
    return { lo, hi, ticks: ticks.map(tidy) };
  }
  const step = Math.ceil(decades / (most - 1));
  const top = lo + step * Math.ceil(decades / step);
  const ticks: number[] = [];
  for (let e = lo; e <= top; e += step) ticks.push(tidy(10 ** e));
  return { lo, hi: top, ticks };
}

/** 10 ** -3 is 0.0010000000000000002 in floats; a label wants 0.001. */
function tidy(v: number): number {
  return Number(v.toPrecision(12));
}

/** Decimals a tick's label needs to show it exactly (0.05 → 2, 20 → 0). */
export function tickDecimals(v: number): number {
  return v >= 1 ? 0 : Math.min(12, Math.ceil(-Math.log10(v) - 1e-9) + (String(tidy(v)).replace(/^0\.0*/, '').length - 1));
}

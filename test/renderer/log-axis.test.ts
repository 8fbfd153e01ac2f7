import { test } from 'node:test';
import assert from 'node:assert/strict';
import { logAxis, tickDecimals } from '../../src-renderer/src/lib/log-axis.ts';

test('log axis: 1-2-5 ticks when the range is narrow, whole decades as bounds', () => {
  const a = logAxis([0.05, 0.9], 0.001, 10);
  assert.deepEqual([a.lo, a.hi], [-2, 0]);
  assert.deepEqual(a.ticks, [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1]);
});

test('log axis: a range of many decades (the toy model\'s huge increases) gets few, evenly spaced ticks', () => {
  for (const max of [14.7, 2.5e5, 3e9]) {
    const values = [0.0068, 1.5, max];
    const a = logAxis(values, 0.001, 10);
    assert.ok(a.ticks.length <= 10 && a.ticks.length >= 2, `${max}: ${a.ticks.length} ticks`);
    assert.ok(10 ** a.lo <= 0.0068 && 10 ** a.hi >= max, `${max}: the values are inside`);
    assert.equal(a.ticks[0], 10 ** a.lo);
    assert.equal(a.ticks.at(-1), 10 ** a.hi);
    const gaps = a.ticks.slice(1).map((v, i) => Math.log10(v / a.ticks[i]!));
    assert.ok(gaps.every((g) => Math.abs(g - gaps[0]!) < 1e-9 && Number.isInteger(Math.round(g * 1e9) / 1e9)), `${max}: whole, equal steps ${gaps}`);
  }
  assert.deepEqual(logAxis([0.0068, 1.5, 2.5e5], 0.001, 10).ticks, [0.001, 0.01, 0.1, 1, 10, 100, 1000, 1e4, 1e5, 1e6]);
  assert.deepEqual(logAxis([0.0068, 3e9], 0.001, 6).ticks, [0.001, 1, 1000, 1e6, 1e9, 1e12]);
});

test('log axis: values at or below the floor, none at all, or not finite', () => {
  assert.deepEqual(logAxis([-3, 0, 0.0001], 0.001, 10).ticks, [0.001, 0.002, 0.005, 0.01]);
  assert.deepEqual(logAxis([], 0.001, 10).ticks, [0.001, 0.002, 0.005, 0.01]);
  assert.deepEqual(logAxis([Number.NaN, 5], 0.001, 10).ticks, [1, 2, 5, 10]);
  // An exact decade is its own bound.
  assert.deepEqual([logAxis([1, 100], 0.001, 10).lo, logAxis([1, 100], 0.001, 10).hi], [0, 2]);
});

test('log axis: a tick\'s label shows it exactly', () => {
  assert.deepEqual([0.001, 0.002, 0.05, 0.5, 1, 20, 1e6].map(tickDecimals), [3, 3, 2, 1, 0, 0, 0]);
});

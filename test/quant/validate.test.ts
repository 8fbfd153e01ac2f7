// validateRowData on float rows: the word-wise pre-scan must find the same first NaN/Inf as a plain
// element-by-element scan, at every position, for aligned and unaligned views.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GgmlType } from '../../src-main/core/gguf/ggml-types.ts';
import { validateRowData } from '../../src-main/core/quant/validate.ts';

function placeAt(type: number, n: number, at: number, bits: number, shift: number): Uint8Array {
  const size = type === GgmlType.F32 ? 4 : 2;
  const buf = new Uint8Array(n * size + 8);
  const view = buf.subarray(shift, shift + n * size);
  const dv = new DataView(view.buffer, view.byteOffset, view.byteLength);
  for (let i = 0; i < n; i++) {
    // Finite values with large exponents (one step below all ones) that must not be flagged.
    if (size === 4) dv.setUint32(4 * i, i % 3 === 0 ? 0x7f7fffff : 0xff000001, true);
    else dv.setUint16(2 * i, i % 3 === 0 ? 0x7bff : 0xfbff, true);
  }
  if (at >= 0) {
    if (size === 4) dv.setUint32(4 * at, bits, true);
    else dv.setUint16(2 * at, bits, true);
  }
  return view;
}

test('F16 and F32 rows: the first NaN/Inf is found at every position, aligned or not', () => {
  const cases = [
    { type: GgmlType.F16, nan: 0x7e01, inf: 0xfc00 },
    { type: GgmlType.F32, nan: 0x7fc00001, inf: 0xff800000 },
  ];
  for (const { type, nan, inf } of cases) {
    for (const n of [1, 2, 7, 8, 9, 33, 64]) {
      for (const shift of [0, 2, 4]) {
        assert.equal(validateRowData(type, placeAt(type, n, -1, 0, shift)), undefined, `clean n=${n}`);
        for (let at = 0; at < n; at++) {
          assert.equal(validateRowData(type, placeAt(type, n, at, nan, shift)), `NaN value at element ${at}`, `n=${n} at=${at} shift=${shift}`);
          assert.equal(validateRowData(type, placeAt(type, n, at, inf, shift)), `infinite value at element ${at}`, `n=${n} at=${at} shift=${shift}`);
        }
      }
    }
  }
});

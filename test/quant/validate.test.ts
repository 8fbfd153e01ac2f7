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
          assert.deepEqual(validateRowData(type, placeAt(type, n, at, nan, shift)), { code: 'quant.data.nan', params: { index: at } }, `n=${n} at=${at} shift=${shift}`);
          assert.deepEqual(validateRowData(type, placeAt(type, n, at, inf, shift)), { code: 'quant.data.infinite', params: { index: at } }, `n=${n} at=${at} shift=${shift}`);
        }
      }
    }
  }
});

test('quantized blocks: a NaN/Inf fp16 scale is found in the block it is in, for one- and two-scale types', () => {
  const cases = [
    { type: GgmlType.Q8_0, size: 34, scales: [0] }, { type: GgmlType.Q4_1, size: 20, scales: [0, 2] },
    { type: GgmlType.Q2_K, size: 84, scales: [80, 82] }, { type: GgmlType.Q6_K, size: 210, scales: [208] },
    { type: GgmlType.IQ4_XS, size: 136, scales: [0] },
  ];
  for (const { type, size, scales } of cases) {
    const nb = 5;
    const clean = new Uint8Array(nb * size).fill(0x7b); // every fp16 0x7b7b: finite, large
    assert.equal(validateRowData(type, clean), undefined);
    for (let block = 0; block < nb; block++) {
      for (const at of scales) {
        for (const bad of [0x7c00, 0xfc00, 0x7e01]) {
          const data = clean.slice();
          data[block * size + at] = bad & 0xff;
          data[block * size + at + 1] = bad >> 8;
          assert.deepEqual(validateRowData(type, data), { code: 'quant.data.badScale', params: { block } }, `type ${type} block ${block} offset ${at}`);
        }
      }
    }
  }
});

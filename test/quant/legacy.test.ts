// Legacy block kernels (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q1_0, Q2_0, Q8_1) against the real llama.cpp:
// ggml_quantize_chunk bytes with and without an imatrix, dequantization against ggml's to_float,
// Q8_1 against its from_float_ref, and a few blocks checked by hand.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertSameBlocks, oracleSkip, requireOracle } from '../support/kernel-parity.ts';
import { ggmlTraits } from '../support/ggml-traits.ts';
import { GgmlType } from '../../src-main/core/gguf/ggml-types.ts';
import { kernelFor } from '../../src-main/core/quant/registry.ts';
import { quantizeQ8_1Ref } from '../../src-main/core/quant/legacy.ts';
import { FP16_TO_FP32 } from '../../src-main/core/quant/numeric.ts';
import { datasets, hex, parityTests, type ParityType } from './parity-data.ts';

const reason = oracleSkip('legacy parity tests');

const TYPES: ParityType[] = [
  { name: 'Q4_0', id: GgmlType.Q4_0, usesImatrix: true },
  { name: 'Q4_1', id: GgmlType.Q4_1, usesImatrix: true },
  { name: 'Q5_0', id: GgmlType.Q5_0, usesImatrix: true },
  { name: 'Q5_1', id: GgmlType.Q5_1, usesImatrix: true },
  { name: 'Q8_0', id: GgmlType.Q8_0, usesImatrix: false },
  { name: 'Q1_0', id: GgmlType.Q1_0, usesImatrix: false },
  { name: 'Q2_0', id: GgmlType.Q2_0, usesImatrix: false },
];

parityTests(TYPES, reason);

test('Q8_1 quantize_row_q8_1_ref port equals the library and dequantizes to q·d', { skip: reason }, () => {
  const traits = ggmlTraits(requireOracle());
  let blocks = 0;
  for (const ds of datasets(32)) {
    const bytes = (ds.src.length / 32) * 36;
    const expected = traits.fromFloatRef(GgmlType.Q8_1, ds.src, bytes)!;
    const actual = new Uint8Array(bytes);
    assert.equal(quantizeQ8_1Ref(ds.src, actual, ds.nrows, ds.nPerRow), bytes);
    blocks += assertSameBlocks(actual, expected, 36, `Q8_1 ${ds.label}`);
    // ggml has no to_float for Q8_1: check the kernel against the block formula directly.
    const y = new Float32Array(ds.src.length);
    kernelFor(GgmlType.Q8_1)!.dequantize(actual, y, y.length);
    for (let i = 0; i < y.length; i++) {
      const b = i >> 5;
      const d = FP16_TO_FP32[actual[36 * b] | (actual[36 * b + 1] << 8)];
      const q = (actual[36 * b + 4 + (i & 31)] << 24) >> 24;
      assert.ok(Object.is(y[i], Math.fround(q * d)), `Q8_1 ${ds.label} value ${i}`);
    }
  }
  console.log(`# Q8_1: ${blocks} blocks identical (from_float_ref)`);
});

test('all-zero blocks give the bytes llama.cpp writes (−0 scale for Q4_0/Q5_0)', () => {
  const zeros = new Float32Array(256);
  const expectBlock: Array<[number, string, number]> = [
    [GgmlType.Q4_0, '0080' + '88'.repeat(16), 18],
    [GgmlType.Q4_1, '0000 0000' + '00'.repeat(16), 20],
    [GgmlType.Q5_0, '0080 ffffffff' + '00'.repeat(16), 22],
    [GgmlType.Q5_1, '0000 0000 00000000' + '00'.repeat(16), 24],
    [GgmlType.Q8_0, '0000' + '00'.repeat(32), 34],
    [GgmlType.Q1_0, '0000' + 'ff'.repeat(16), 18], // 0 ≥ 0: every sign bit set
    [GgmlType.Q2_0, '0000' + '55'.repeat(16), 18], // q = 0 + 1 in every 2-bit field
  ];
  for (const [type, blockHex, size] of expectBlock) {
    const out = new Uint8Array((256 / (type === GgmlType.Q1_0 ? 128 : type === GgmlType.Q2_0 ? 64 : 32)) * size);
    kernelFor(type)!.quantize!(zeros, out, 1, 256);
    const block = hex(blockHex);
    for (let o = 0; o < out.length; o += size) assert.deepEqual(out.subarray(o, o + size), block, `type ${type} block at ${o}`);
  }
});

test('hand-built blocks dequantize by the documented formulas', () => {
  // Q4_0: d = 0.5 (0x3800); qs[0] = 0x1F → element 0 = (15−8)·0.5, element 16 = (1−8)·0.5.
  const q4 = hex('0038 1f' + '88'.repeat(15));
  const y = new Float32Array(32);
  kernelFor(GgmlType.Q4_0)!.dequantize(q4, y, 32);
  assert.equal(y[0], 3.5);
  assert.equal(y[16], -3.5);
  assert.equal(y[1], 0);
  // Q4_1: d = 0.25 (0x3400), m = −1 (0xBC00); qs[1] = 0xF0 → element 1 = −1, element 17 = 15·0.25 − 1.
  const q41 = hex('0034 00bc 00f0' + '00'.repeat(14));
  kernelFor(GgmlType.Q4_1)!.dequantize(q41, y, 32);
  assert.equal(y[1], -1);
  assert.equal(y[17], 2.75);
  // Q5_0: d = 1 (0x3C00); qh bit 0 and bit 16 set, qs[0] = 0x00 → elements 0 and 16 = 16 − 16 = 0,
  // element 1 = 0 − 16.
  const q50 = hex('003c 01000100' + '00'.repeat(16));
  kernelFor(GgmlType.Q5_0)!.dequantize(q50, y, 32);
  assert.equal(y[0], 0);
  assert.equal(y[16], 0);
  assert.equal(y[1], -16);
  // Q5_1: d = 2 (0x4000), m = 1 (0x3C00); qh bit 31 and qs[15] = 0xF0 → element 31 = 31·2 + 1.
  const q51 = hex('0040 003c 00000080' + '00'.repeat(15) + 'f0');
  kernelFor(GgmlType.Q5_1)!.dequantize(q51, y, 32);
  assert.equal(y[31], 63);
  assert.equal(y[30], 1);
  // Q8_0: d = 2 (0x4000), qs = −128, 127, 1, …
  const q8 = hex('0040 807f01' + '00'.repeat(29));
  kernelFor(GgmlType.Q8_0)!.dequantize(q8, y, 32);
  assert.deepEqual([y[0], y[1], y[2], y[3]], [-256, 254, 2, 0]);
  // Q1_0: d = 0.5; qs[0] = 0b00000101 → +d, −d, +d, −d …
  const q1 = hex('0038 05' + '00'.repeat(15));
  const y128 = new Float32Array(128);
  kernelFor(GgmlType.Q1_0)!.dequantize(q1, y128, 128);
  assert.deepEqual([y128[0], y128[1], y128[2], y128[3], y128[127]], [0.5, -0.5, 0.5, -0.5, -0.5]);
  // Q2_0: d = 3 (0x4200); qs[0] = 0b11100100 → q = 0, 1, 2, 3 → −3, 0, 3, 6.
  const q2 = hex('0042 e4' + '00'.repeat(15));
  const y64 = new Float32Array(64);
  kernelFor(GgmlType.Q2_0)!.dequantize(q2, y64, 64);
  assert.deepEqual([y64[0], y64[1], y64[2], y64[3], y64[4]], [-3, 0, 3, 6, -3]);
});

test('bad shapes and short buffers are refused instead of silently dropping bytes', () => {
  const q4 = kernelFor(GgmlType.Q4_0)!;
  assert.throws(() => q4.quantize!(new Float32Array(48), new Uint8Array(64), 1, 48), /multiple of 32/);
  assert.throws(() => kernelFor(GgmlType.Q1_0)!.quantize!(new Float32Array(64), new Uint8Array(64), 1, 64), /multiple of 128/);
  assert.throws(() => q4.quantize!(new Float32Array(64), new Uint8Array(35), 1, 64), /destination holds 35 bytes, need 36/);
  assert.throws(() => q4.quantize!(new Float32Array(32), new Uint8Array(36), 1, 64), /source holds 32 values, need 64/);
  assert.throws(() => q4.quantize!(new Float32Array(64), new Uint8Array(36), 1, 64, new Float32Array(32)), /imatrix has 32 values/);
  assert.throws(() => q4.dequantize(new Uint8Array(18), new Float32Array(32), 48), /whole number of 32-blocks/);
  assert.throws(() => q4.dequantize(new Uint8Array(18), new Float32Array(64), 64), /source holds 18 bytes, need 36/);
  assert.throws(() => q4.dequantize(new Uint8Array(36), new Float32Array(32), 64), /destination holds 32 values/);
});

test('kernels work on views: offsets into larger buffers are respected', () => {
  const big = new Float32Array(32 * 5);
  for (let i = 0; i < big.length; i++) big[i] = Math.sin(i) * (i + 1);
  const view = big.subarray(64, 128);
  const alone = view.slice();
  for (const type of [GgmlType.Q4_0, GgmlType.Q8_0, GgmlType.Q5_1]) {
    const k = kernelFor(type)!;
    const size = type === GgmlType.Q4_0 ? 36 : type === GgmlType.Q8_0 ? 68 : 48;
    const a = new Uint8Array(size + 7);
    const b = new Uint8Array(size);
    k.quantize!(view, a.subarray(7), 2, 32);
    k.quantize!(alone, b, 2, 32);
    assert.deepEqual(a.subarray(7), b, `type ${type}`);
    const ya = new Float32Array(80);
    k.dequantize(a.subarray(7), ya.subarray(16, 80), 64);
    const yb = new Float32Array(64);
    k.dequantize(b, yb, 64);
    assert.deepEqual(ya.subarray(16, 80), yb);
  }
});

// IQ4_NL and IQ4_XS against the real llama.cpp (the quantize_iq4_* path llama-quantize runs, with
// and without an imatrix), dequantization against ggml's to_float, and the table-driven index
// search against ggml's binary search.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { oracleSkip } from '../support/kernel-parity.ts';
import { mulberry32 } from '../support/random.ts';
import { GgmlType } from '../../src-main/core/gguf/ggml-types.ts';
import { kernelFor } from '../../src-main/core/quant/registry.ts';
import { KVALUES_IQ4NL, iq4Index } from '../../src-main/core/quant/iq4.ts';
import { bestIndexInt8, f32FromBits, f32Bits } from '../../src-main/core/quant/numeric.ts';
import { hex, parityTests, type ParityType } from './parity-data.ts';

const reason = oracleSkip('IQ4 parity tests');

const TYPES: ParityType[] = [
  { name: 'IQ4_NL', id: GgmlType.IQ4_NL, usesImatrix: true },
  { name: 'IQ4_XS', id: GgmlType.IQ4_XS, usesImatrix: true },
];

parityTests(TYPES, reason);

test('the IQ4 index table equals best_index_int8 around every midpoint and at random', () => {
  const check = (x: number) => {
    const expected = bestIndexInt8(16, KVALUES_IQ4NL, x);
    if (iq4Index(x) !== expected) assert.fail(`x = ${x}: table gives ${iq4Index(x)}, search gives ${expected}`);
  };
  // ±2000 float32 steps around each midpoint and each table value, and around 0.
  const centers = [0, -128, 128];
  for (let j = 0; j < 16; j++) centers.push(KVALUES_IQ4NL[j]);
  for (let j = 0; j < 15; j++) centers.push((KVALUES_IQ4NL[j] + KVALUES_IQ4NL[j + 1]) / 2);
  for (const c of centers) {
    const bits = f32Bits(c);
    for (let k = -2000; k <= 2000; k++) {
      const b = c === 0 ? Math.abs(k) | (k < 0 ? 0x80000000 : 0) : bits + k;
      check(f32FromBits(b >>> 0));
    }
  }
  const rnd = mulberry32(3);
  for (let i = 0; i < 200000; i++) check(Math.fround((rnd() * 2 - 1) * 2 ** (rnd() * 10 - 2)));
  for (const x of [Infinity, -Infinity, 1e30, -1e30, 127.99, -127.99, Number.MIN_VALUE]) check(x);
  assert.equal(iq4Index(Number.NaN), bestIndexInt8(16, KVALUES_IQ4NL, Number.NaN));
});

test('all-zero rows give the bytes llama.cpp writes', () => {
  const zeros = new Float32Array(512);
  const nl = new Uint8Array(16 * 18);
  kernelFor(GgmlType.IQ4_NL)!.quantize!(zeros, nl, 1, 512);
  for (let o = 0; o < nl.length; o += 18) assert.deepEqual(nl.subarray(o, o + 18), hex('0000' + '88'.repeat(16)));
  const xs = new Uint8Array(2 * 136);
  kernelFor(GgmlType.IQ4_XS)!.quantize!(zeros, xs, 1, 512);
  for (let o = 0; o < xs.length; o += 136) assert.deepEqual(xs.subarray(o, o + 136), hex('0080 aaaa 00000000' + '88'.repeat(128)));
});

test('hand-built IQ4 blocks dequantize by the documented formulas', () => {
  // IQ4_NL: d = 0.5; qs[0] = 0xF0 → element 0 = 0.5·(−127), element 16 = 0.5·113.
  const y = new Float32Array(256);
  kernelFor(GgmlType.IQ4_NL)!.dequantize(hex('0038 f0' + '88'.repeat(15)), y, 32);
  assert.equal(y[0], -63.5);
  assert.equal(y[16], 56.5);
  assert.equal(y[1], 0.5);
  // IQ4_XS: d = 1; block 0 scale ls = 0x21 (33: low nibble 1 in scales_l[0], high bits 0b10 in
  // scales_h bits 0-1) → dl = 1; block 1 ls = 0x20 (bits 2-3 = 0b10) → dl = 0; blocks 2-7 ls = 0 →
  // dl = −32. qs[0] = 0x0F → element 0 = 113, element 16 = −127.
  const block = hex('003c 0a00 01000000 0f' + '00'.repeat(127));
  kernelFor(GgmlType.IQ4_XS)!.dequantize(block, y, 256);
  assert.equal(y[0], 113);
  assert.equal(y[16], -127);
  assert.equal(y[1], -127);
  assert.ok(Object.is(y[32], -0), 'dl = 0 times a negative value is −0');
  assert.equal(y[64], 32 * 127);
});

// TQ1_0 and TQ2_0 against the real llama.cpp (ggml_quantize_chunk; the imatrix is ignored) and
// dequantization against ggml's to_float, plus hand-checked blocks.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { oracleSkip } from '../support/kernel-parity.ts';
import { GgmlType } from '../../src-main/core/gguf/ggml-types.ts';
import { kernelFor } from '../../src-main/core/quant/registry.ts';
import { hex, parityTests, type ParityType } from './parity-data.ts';

const reason = oracleSkip('ternary parity tests');

const TYPES: ParityType[] = [
  { name: 'TQ1_0', id: GgmlType.TQ1_0, usesImatrix: false },
  { name: 'TQ2_0', id: GgmlType.TQ2_0, usesImatrix: false },
];

parityTests(TYPES, reason);

test('all-zero blocks give the bytes llama.cpp writes', () => {
  const zeros = new Float32Array(256);
  const tq1 = new Uint8Array(54);
  kernelFor(GgmlType.TQ1_0)!.quantize!(zeros, tq1, 1, 256);
  assert.deepEqual(tq1, hex('80'.repeat(48) + '7f7f7f7f 0000'));
  const tq2 = new Uint8Array(66);
  kernelFor(GgmlType.TQ2_0)!.quantize!(zeros, tq2, 1, 256);
  assert.deepEqual(tq2, hex('55'.repeat(64) + '0000'));
});

test('ternary blocks round-trip exactly through quantize and dequantize', () => {
  // Values already in {−d, 0, d} come back unchanged, in the documented element order.
  const x = new Float32Array(256);
  for (let i = 0; i < 256; i++) x[i] = ((i * 7 + (i >> 3)) % 3) - 1;
  for (const type of [GgmlType.TQ1_0, GgmlType.TQ2_0]) {
    const q = new Uint8Array(type === GgmlType.TQ1_0 ? 54 : 66);
    kernelFor(type)!.quantize!(x, q, 1, 256);
    const y = new Float32Array(256);
    kernelFor(type)!.dequantize(q, y, 256);
    assert.deepEqual(Array.from(y, (v) => v + 0), Array.from(x));
  }
  // TQ2_0 by hand: qs[0] = 0b10_01_00_10 → elements 0, 32, 64, 96 = +1, −1, 0, +1 (times d = 2).
  const y = new Float32Array(256);
  kernelFor(GgmlType.TQ2_0)!.dequantize(hex('92' + '55'.repeat(63) + '0040'), y, 256);
  assert.deepEqual([y[0], y[32], y[64], y[96], y[1]], [2, -2, 0, 2, 0]);
});

// MXFP4 and NVFP4 against the real llama.cpp (ggml_quantize_chunk; the imatrix is ignored),
// dequantization against ggml's to_float, and the E8M0/UE4M3 scale conversions.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertSameBlocks, oracleSkip, requireOracle } from '../support/kernel-parity.ts';
import { GgmlType } from '../../src-main/core/gguf/ggml-types.ts';
import { kernelFor } from '../../src-main/core/quant/registry.ts';
import { e8m0ToFp32Half, ue4m3ToFp32, fp32ToUe4m3 } from '../../src-main/core/quant/fp4.ts';
import { hex, parityTests, type ParityType } from './parity-data.ts';

const reason = oracleSkip('FP4 parity tests');

const TYPES: ParityType[] = [
  { name: 'MXFP4', id: GgmlType.MXFP4, usesImatrix: false },
  { name: 'NVFP4', id: GgmlType.NVFP4, usesImatrix: false },
];

parityTests(TYPES, reason);

test('E8M0 and UE4M3 scale conversions', () => {
  assert.equal(e8m0ToFp32Half(128), 1);
  assert.equal(e8m0ToFp32Half(130), 4);
  assert.equal(e8m0ToFp32Half(1), 2 ** -127);
  assert.equal(e8m0ToFp32Half(0), 2 ** -128);
  assert.equal(ue4m3ToFp32(0), 0);
  assert.equal(ue4m3ToFp32(0x7f), 0);
  assert.equal(ue4m3ToFp32(0x38), 0.5); // exp 7, man 0 → 1.0, halved
  assert.equal(ue4m3ToFp32(0x01), 2 ** -10); // subnormal 1·2^-9, halved
  assert.equal(ue4m3ToFp32(0x7e), 224); // 448 halved
  assert.equal(fp32ToUe4m3(0), 0);
  assert.equal(fp32ToUe4m3(-1), 0);
  assert.equal(fp32ToUe4m3(Number.NaN), 0);
  assert.equal(fp32ToUe4m3(1), 0x38);
  assert.equal(fp32ToUe4m3(1e9), 0x7e); // clamped to 448
  assert.equal(fp32ToUe4m3(Math.fround(1.0625)), 0x39); // bit 19 set: rounds half up
  assert.equal(fp32ToUe4m3(Math.fround(1.9375)), 0x40); // mantissa carry → next exponent
  assert.equal(fp32ToUe4m3(2 ** -9), 1); // subnormal
  assert.equal(fp32ToUe4m3(2 ** -11), 0); // below half the smallest subnormal
  // Every code point the encoder produces survives the round trip (value = 2 × the halved decode);
  // exponent 15 is reserved: its codes 0x78..0x7D decode, but encoding saturates to 0x7E.
  assert.equal(fp32ToUe4m3(2 * ue4m3ToFp32(0x7e)), 0x7e);
  assert.equal(fp32ToUe4m3(2 * ue4m3ToFp32(0x78)), 0x7e);
  for (let u = 1; u < 0x78; u++) assert.equal(fp32ToUe4m3(2 * ue4m3ToFp32(u)), u, `ue4m3 0x${u.toString(16)}`);
});

test('hand-built FP4 blocks dequantize by the documented formulas', () => {
  // MXFP4: e = 128 → d = 1; qs[0] = 0x7F → element 0 = −12, element 16 = 12.
  const y = new Float32Array(64);
  kernelFor(GgmlType.MXFP4)!.dequantize(hex('80 7f' + '00'.repeat(15)), y, 32);
  assert.equal(y[0], -12);
  assert.equal(y[16], 12);
  assert.equal(y[1], 0);
  // NVFP4: sub-block 1 scale 0x38 (→ 0.5); qs[8] = 0x21 → element 16 = 0.5, element 24 = 1.
  kernelFor(GgmlType.NVFP4)!.dequantize(hex('00380000' + '00'.repeat(8) + '21' + '00'.repeat(23)), y, 64);
  assert.equal(y[16], 0.5);
  assert.equal(y[24], 1);
  assert.equal(y[0], 0);
});

test('FP4 scales match llama.cpp for block maxima at every power-of-two and UE4M3 boundary', { skip: reason }, () => {
  const oracle = requireOracle();
  // One block per chosen maximum: the maximum first, then smaller values of both signs.
  const maxima: number[] = [];
  for (let k = -126; k <= 127; k++) {
    const p = 2 ** k;
    for (const f of [1, 1 - 2 ** -24, 1 - 2 ** -23, 1 - 3 * 2 ** -24, 1 + 2 ** -23, 1.5, 0.75]) maxima.push(Math.fround(p * f));
  }
  for (let u = 1; u < 0x7f; u++) {
    const v = 2 * ue4m3ToFp32(u) * 6; // amax whose amax/6 lands on the code point
    for (const f of [1, 1 - 2 ** -23, 1 + 2 ** -23, 1 + 2 ** -4, 1 + 2 ** -4 - 2 ** -23]) maxima.push(Math.fround(v * f));
  }
  for (const type of [{ id: GgmlType.MXFP4, bs: 32, bb: 17 }, { id: GgmlType.NVFP4, bs: 64, bb: 36 }]) {
    const src = new Float32Array(maxima.length * type.bs);
    maxima.forEach((m, b) => {
      for (let j = 0; j < type.bs; j++) src[b * type.bs + j] = Math.fround(m * (j === 0 ? 1 : ((j * 37) % 29) / 29 - 0.5));
      if (type.id === GgmlType.NVFP4) for (let s = 1; s < 4; s++) src[b * type.bs + 16 * s] = m; // every sub-block
    });
    const expected = oracle.quantizeChunk(type.id, src, maxima.length, type.bs);
    const actual = new Uint8Array(expected.length);
    kernelFor(type.id)!.quantize!(src, actual, maxima.length, type.bs);
    assertSameBlocks(actual, expected, type.bb, `type ${type.id}`, (b) => `block max ${maxima[b]}`);
  }
  console.log(`# FP4 scale boundaries: ${maxima.length} blocks per type identical`);
});

test('MXFP4 picks the same entries as llama.cpp at and one ulp around every midpoint', { skip: reason }, () => {
  const oracle = requireOracle();
  const blocks: number[][] = [];
  for (const k of [-120, -40, -3, 0, 1, 7, 60, 110]) {
    // A block maximum of 12·d = 1.5·2^(k+2) gives e = k + 127, i.e. the scale 2^(e−128) = d. The first
    // k gives e = 7, below the kernel's table path, so both of its paths are covered.
    const d = 2 ** (k - 1);
    for (const mid of [0.5, 1.5, 2.5, 3.5, 5, 7, 10]) {
      const values: number[] = [12 * d];
      for (const sign of [1, -1]) {
        const m = Math.fround(sign * mid * d);
        const bits = new Float32Array([m]);
        const u = new Int32Array(bits.buffer);
        for (const delta of [-2, -1, 0, 1, 2]) {
          const w = new Int32Array([u[0] + delta]);
          values.push(new Float32Array(w.buffer)[0]);
        }
      }
      while (values.length < 32) values.push(0);
      blocks.push(values);
    }
  }
  const src = Float32Array.from(blocks.flat());
  const expected = oracle.quantizeChunk(GgmlType.MXFP4, src, blocks.length, 32);
  const actual = new Uint8Array(expected.length);
  kernelFor(GgmlType.MXFP4)!.quantize!(src, actual, blocks.length, 32);
  assertSameBlocks(actual, expected, 17, 'MXFP4 midpoints', (b) => `max ${blocks[b][0]}`);
  assert.equal(actual[0], 7, 'the first blocks have e = 7');
  assert.equal(actual[17 * 7 * 3], 127, 'k = 0 gives e = 127');
});

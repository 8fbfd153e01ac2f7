// The shared numeric helpers: fp16/bf16 conversions (exhaustive over the 16-bit side, swept over
// float32 bit patterns against an independent reference), ggml's nearest_int bit trick, C rounding
// and truncation rules, and the non-finite scan.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  fp32ToFp16, fp16ToFp32, FP16_TO_FP32, fp32ToBf16, bf16ToFp32, roundTripFp16, nearestInt, roundHalfAway,
  truncToInt, cvtToInt32, wrapInt8, wrapUint8, findNonFinite, f32Bits, f32FromBits, bestIndexInt8,
  getU16, putU16, getU32, putU32,
} from '../../src-main/core/quant/numeric.ts';
import { mulberry32 } from '../support/random.ts';

/** ggml_compute_fp32_to_fp16 transcribed with float32 steps (Maratyszcza's scaling trick). */
function fp16Reference(f: number): number {
  const fr = Math.fround;
  let base = fr(fr(Math.abs(f) * 2 ** 112) * 2 ** -110);
  const w = f32Bits(f);
  const shl1 = (w * 2) % 2 ** 32;
  const sign = w & 0x80000000;
  let bias = shl1 - (shl1 % 2 ** 24); // & 0xFF000000, unsigned
  if (bias < 0x71000000) bias = 0x71000000;
  base = fr(f32FromBits(bias / 2 + 0x07800000) + base);
  const bits = f32Bits(base);
  const nonsign = ((bits >>> 13) & 0x7c00) + (bits & 0x0fff);
  return ((sign >>> 16) | (shl1 > 0xff000000 ? 0x7e00 : nonsign)) & 0xffff;
}

test('fp32ToFp16 equals ggml\'s conversion over a sweep of float32 bit patterns', () => {
  const rnd = mulberry32(5);
  for (let i = 0; i < 400000; i++) {
    const bits = i < 65536 ? ((i << 16) | 0x1000) >>> 0 : Math.floor(rnd() * 2 ** 32);
    const f = f32FromBits(bits);
    if (Number.isNaN(f)) continue; // JS numbers do not carry NaN payloads reliably
    const got = fp32ToFp16(f);
    const want = fp16Reference(f);
    if (got !== want) assert.fail(`0x${bits.toString(16)} (${f}): got 0x${got.toString(16)}, want 0x${want.toString(16)}`);
  }
  assert.equal(fp32ToFp16(65520), 0x7c00);
  assert.equal(fp32ToFp16(Math.fround(65519.99)), 0x7bff);
  assert.equal(fp32ToFp16(Number.NaN) & 0x7fff, 0x7e00);
  assert.equal(fp32ToFp16(-0), 0x8000);
  assert.equal(fp32ToFp16(2 ** -25), 0); // tie between 0 and the smallest subnormal → even (0)
  assert.equal(fp32ToFp16(Math.fround(2 ** -25 * 1.0000001)), 1);
  assert.equal(fp32ToFp16(3 * 2 ** -25), 2); // tie → even subnormal
});

test('fp16 → fp32 is exact and inverts fp32ToFp16 for every non-NaN half', () => {
  for (let h = 0; h < 65536; h++) {
    const f = fp16ToFp32(h);
    assert.equal(f, FP16_TO_FP32[h]);
    if (Number.isNaN(f)) continue;
    assert.equal(fp32ToFp16(f), h, `half 0x${h.toString(16)}`);
    assert.equal(roundTripFp16(f), f);
  }
});

test('bf16 conversion rounds to nearest even and keeps NaNs quiet', () => {
  assert.equal(fp32ToBf16(1), 0x3f80);
  assert.equal(fp32ToBf16(f32FromBits(0x3f808000)), 0x3f80); // tie → even
  assert.equal(fp32ToBf16(f32FromBits(0x3f818000)), 0x3f82); // tie → even (up)
  assert.equal(fp32ToBf16(f32FromBits(0x3f808001)), 0x3f81);
  assert.equal(fp32ToBf16(f32FromBits(0x7f7fffff)), 0x7f80); // rounds to inf
  assert.equal(fp32ToBf16(-0), 0x8000);
  assert.equal(fp32ToBf16(Number.NaN) & 0x7fc0, 0x7fc0);
  for (let h = 0; h < 65536; h++) {
    const f = bf16ToFp32(h);
    if (!Number.isNaN(f)) assert.equal(fp32ToBf16(f), h);
  }
});

/** nearest_int with an explicit float32 add and integer read, the way ggml writes it. */
function nearestIntReference(f: number): number {
  const v = new Float32Array([f + 12582912]);
  return (new Int32Array(v.buffer)[0] & 0x7fffff) - 0x400000;
}

test('nearestInt is ggml\'s bit trick: half to even in range, ggml\'s values out of range', () => {
  assert.deepEqual([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4999998, -7.5].map(nearestInt), [0, 2, 2, 0, -2, -2, 2, -8]);
  const rnd = mulberry32(9);
  for (let i = 0; i < 200000; i++) {
    const f = Math.fround((rnd() * 2 - 1) * 2 ** (rnd() * 30 - 4));
    assert.equal(nearestInt(f), nearestIntReference(f), `f = ${f}`);
  }
  for (const f of [4194303, 4194303.5, 4194304, -4194304, 5e6, -5e6, 1e9, -1e9, 3e38]) {
    assert.equal(nearestInt(Math.fround(f)), nearestIntReference(Math.fround(f)), `f = ${f}`);
  }
});

test('C rounding and cast rules', () => {
  assert.deepEqual([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999997, -0.49999997].map(roundHalfAway).map((v) => v + 0), [1, 2, 3, -1, -2, -3, 0, 0]);
  assert.deepEqual([1.9, -1.9, 0.1, -0.1].map(truncToInt).map((v) => v + 0), [1, -1, 0, 0]);
  assert.deepEqual([1.9, -1.9, 2147483647, 2147483648, -2147483648, -2147483649, Infinity, -Infinity, Number.NaN].map(cvtToInt32),
    [1, -1, 2147483647, -2147483648, -2147483648, -2147483648, -2147483648, -2147483648, -2147483648]);
  assert.deepEqual([127, 128, 255, 256, -1, -129].map(wrapInt8), [127, -128, -1, 0, -1, 127]);
  assert.deepEqual([255, 256, -1, 300].map(wrapUint8), [255, 0, 255, 44]);
});

test('findNonFinite returns the first NaN or infinity, or −1', () => {
  assert.equal(findNonFinite(Float32Array.of(0, -0, 1e-45, 3.4e38, -3.4e38)), -1);
  assert.equal(findNonFinite(Float32Array.of(0, 1, Number.NaN, Infinity)), 2);
  assert.equal(findNonFinite(Float32Array.of(0, -Infinity)), 1);
  assert.equal(findNonFinite(new Float32Array(0)), -1);
  const big = new Float32Array(100000);
  big[99999] = Infinity;
  assert.equal(findNonFinite(big), 99999);
  assert.equal(findNonFinite(big.subarray(0, 99999)), -1);
});

test('bestIndexInt8 picks the nearest table entry, ties to the upper one', () => {
  const t = Int8Array.of(-10, -2, 0, 5, 100);
  assert.deepEqual([-20, -10, -6, -6.01, -1, 2.5, 2.49, 52.5, 200].map((x) => bestIndexInt8(5, t, x)), [0, 0, 1, 0, 2, 3, 2, 4, 4]);
});

test('little-endian field helpers', () => {
  const b = new Uint8Array(8);
  putU16(b, 1, 0xbeef);
  putU32(b, 3, 0xdeadbeef);
  assert.deepEqual(Array.from(b), [0, 0xef, 0xbe, 0xef, 0xbe, 0xad, 0xde, 0]);
  assert.equal(getU16(b, 1), 0xbeef);
  assert.equal(getU32(b, 3), 0xdeadbeef);
});

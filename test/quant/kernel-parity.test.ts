// The comparisons of test/support/kernel-parity.ts fail where they must: a parity test is only as
// good as its comparison, so each one is shown a difference it has to report.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GgmlType } from '../../src-main/core/gguf/ggml-types.ts';
import type { QuantKernel } from '../../src-main/core/quant/types.ts';
import { assertQuantizeMatches, assertSameBlocks, assertSameFloats, gaussianRows } from '../support/kernel-parity.ts';
import { mulberry32 } from '../support/random.ts';

test('assertSameBlocks counts equal blocks and names the first differing block, byte and context', () => {
  const a = Uint8Array.from({ length: 12 }, (_, i) => i);
  assert.equal(assertSameBlocks(a, a.slice(), 4, 'same'), 3);
  const b = a.slice();
  b[9] ^= 1;
  b[11] ^= 1;
  assert.throws(() => assertSameBlocks(a, b, 4, 'case', (blk) => `row ${blk * 10}`),
    /case: first difference in block 2 \(byte 1\), row 20\n  ours      08090a0b\n  llama\.cpp 08080a0a/);
  assert.throws(() => assertSameBlocks(a, a.subarray(0, 8), 4, 'short'), /short: 12 bytes, expected 8/);
});

test('assertSameFloats compares bits: −0 is not 0, NaN payloads count, and the block is named', () => {
  assertSameFloats(Float32Array.of(1, Number.NaN, -0), Float32Array.of(1, Number.NaN, -0), 'same');
  assert.throws(() => assertSameFloats(Float32Array.of(0, -0), Float32Array.of(0, 0), 'zero', 1), /zero: element 1 \(block 1\) is 0 \(0x80000000\)/);
  const quiet = new Float32Array(new Uint32Array([0x7fc00000]).buffer);
  const payload = new Float32Array(new Uint32Array([0x7fc00001]).buffer);
  assert.throws(() => assertSameFloats(payload, quiet, 'nan'), /nan: element 0 is NaN \(0x7fc00001\), llama\.cpp gives NaN \(0x7fc00000\)/);
});

test('assertQuantizeMatches catches a wrong byte count, unwritten bytes and modified inputs', () => {
  // A stand-in kernel: one Q8_0-sized block (34 bytes) per 32 values, each byte the block's index.
  const fake = (misbehave: (src: Float32Array, dst: Uint8Array, imatrix?: Float32Array) => number | void): QuantKernel => ({
    type: GgmlType.Q8_0,
    quantize(src, dst, nrows, nPerRow, imatrix) {
      const bytes = (nrows * nPerRow / 32) * 34;
      for (let i = 0; i < bytes; i++) dst[i] = Math.floor(i / 34);
      return misbehave(src, dst, imatrix) ?? bytes;
    },
    dequantize() {},
  });
  const c = { src: gaussianRows(2, 64, 1), nrows: 2, nPerRow: 64, imatrix: Float32Array.from({ length: 64 }, mulberry32(2)) };
  const expected = Uint8Array.from({ length: 136 }, (_, i) => Math.floor(i / 34));
  assert.equal(assertQuantizeMatches(fake(() => {}), c, expected, 'honest'), 4);
  assert.throws(() => assertQuantizeMatches(fake(() => 135), c, expected, 'count'), /count: bytes written/);
  assert.throws(() => assertQuantizeMatches(fake((_s, dst) => { dst[100] = 0xa5; }), c, expected, 'gap'), /gap: first difference in block 2 \(byte 32\)/);
  assert.throws(() => assertQuantizeMatches(fake((src) => { src[5] = -src[5]; }), { ...c, src: c.src.slice() }, expected, 'rows'), /rows: input rows modified/);
  assert.throws(() => assertQuantizeMatches(fake((_s, _d, im) => { im![0] = 0; }), { ...c, imatrix: c.imatrix.slice() }, expected, 'imatrix'), /imatrix: imatrix modified/);
});

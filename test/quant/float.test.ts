// F32, F16 and BF16 "quantization" against the real llama.cpp: ggml_quantize_chunk bytes for the
// usual datasets and for a sweep of float32 bit patterns (every exponent and sign, mantissas at the
// rounding boundaries, NaNs and infinities), and dequantization against ggml's to_float.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertSameBlocks, assertSameFloats, oracleSkip, requireOracle } from '../support/kernel-parity.ts';
import { mulberry32 } from '../support/random.ts';
import { ggmlTraits } from '../support/ggml-traits.ts';
import { GgmlType } from '../../src-main/core/gguf/ggml-types.ts';
import { kernelFor } from '../../src-main/core/quant/registry.ts';
import { checkQuantizeParity, datasets, type ParityType } from './parity-data.ts';

const reason = oracleSkip('float parity tests');

const TYPES: ParityType[] = [
  { name: 'F32', id: GgmlType.F32, usesImatrix: false },
  { name: 'F16', id: GgmlType.F16, usesImatrix: false },
  { name: 'BF16', id: GgmlType.BF16, usesImatrix: false },
];

/** Every upper 16 bits (sign, exponent, top mantissa) with low halves at and around the RNE ties. */
function bitPatternSweep(): Float32Array {
  const lows = [0x0000, 0x0001, 0x0fff, 0x1000, 0x1001, 0x1fff, 0x2000, 0x7fff, 0x8000, 0x8001, 0xffff];
  const rnd = mulberry32(11);
  const out = new Float32Array(65536 * (lows.length + 1));
  const bits = new Uint32Array(out.buffer);
  let k = 0;
  for (let hi = 0; hi < 65536; hi++) {
    for (const lo of lows) bits[k++] = ((hi << 16) | lo) >>> 0;
    bits[k++] = ((hi << 16) | Math.floor(rnd() * 65536)) >>> 0;
  }
  return out;
}

for (const type of TYPES) {
  test(`${type.name} quantize equals ggml_quantize_chunk (imatrix ignored)`, { skip: reason }, () => {
    const oracle = requireOracle();
    let values = checkQuantizeParity(oracle, type, false) + checkQuantizeParity(oracle, type, true);
    // The sweep includes NaNs: the kernels work on bit patterns, so payloads must match too.
    const sweep = bitPatternSweep();
    const expected = oracle.quantizeChunk(type.id, sweep, 1, sweep.length);
    const actual = new Uint8Array(expected.length);
    kernelFor(type.id)!.quantize!(sweep, actual, 1, sweep.length);
    values += assertSameBlocks(actual, expected, type.id === GgmlType.F32 ? 4 : 2, `${type.name} bit-pattern sweep`);
    console.log(`# ${type.name}: ${values} values identical`);
  });
}

test('F16 and BF16 dequantize equal ggml\'s to_float for every 16-bit pattern; F32 is a copy', { skip: reason }, () => {
  const traits = ggmlTraits(requireOracle());
  const all = new Uint8Array(65536 * 2);
  for (let h = 0; h < 65536; h++) { all[2 * h] = h & 0xff; all[2 * h + 1] = h >>> 8; }
  for (const type of [GgmlType.F16, GgmlType.BF16]) {
    const expected = traits.toFloat(type, all, 65536)!;
    const actual = new Float32Array(65536).fill(Number.NaN);
    kernelFor(type)!.dequantize(all, actual, 65536);
    assertSameFloats(actual, expected, `type ${type} dequantize`);
  }
  // F32 has no to_float in ggml (it is the float format): dequantize is the identity on the bits.
  const src = datasets(1)[0].src;
  const bytes = new Uint8Array(src.length * 4);
  kernelFor(GgmlType.F32)!.quantize!(src, bytes, 1, src.length);
  const back = new Float32Array(src.length);
  kernelFor(GgmlType.F32)!.dequantize(bytes, back, src.length);
  assertSameFloats(back, src, 'F32 round trip');
});

test('F16/BF16 conversions at known values, including an unaligned destination', () => {
  const src = Float32Array.of(1, -2, 65504, 65520, -0, 1e-8, 3.140625, Number.NaN);
  const f16 = new Uint8Array(1 + 2 * src.length);
  kernelFor(GgmlType.F16)!.quantize!(src, f16.subarray(1), 1, src.length);
  const halves = Array.from({ length: src.length }, (_, i) => f16[1 + 2 * i] | (f16[2 + 2 * i] << 8));
  assert.deepEqual(halves, [0x3c00, 0xc000, 0x7bff, 0x7c00, 0x8000, 0x0000, 0x4248, 0x7e00]);
  const bf16 = new Uint8Array(2 * src.length);
  kernelFor(GgmlType.BF16)!.quantize!(src, bf16, 1, src.length);
  const words = Array.from({ length: src.length }, (_, i) => bf16[2 * i] | (bf16[2 * i + 1] << 8));
  assert.deepEqual(words, [0x3f80, 0xc000, 0x4780, 0x4780, 0x8000, 0x322c, 0x4049, 0x7fc0]);
});

// K-quant kernels against the real llama.cpp: ggml_quantize_chunk bytes (with and without an
// imatrix) on seeded Gaussian rows and adversarial blocks, and dequantization against the library's
// own to_float (ggml_get_type_traits(type)->to_float, called through koffi).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Oracle } from '../support/oracle.ts';
import {
  assertQuantizeMatches, assertSameFloats, bf16GridValue, f16GridValue, fillConstant, fillGaussian, fillNegativeZero, fillZero,
  gaussianRows, kernelToFloat, oracleSkip, oracleToFloat, requireOracle, type Fill,
} from '../support/kernel-parity.ts';
import { gaussian, mulberry32 } from '../support/random.ts';
import { GgmlType, ggmlTypeInfo } from '../../src-main/core/gguf/ggml-types.ts';
// The TypeScript (reference) kernels; test/quant/wasm.test.ts checks the WebAssembly ones.
import { referenceKernelFor as kernelFor } from '../../src-main/core/quant/kernels.ts';

const reason = oracleSkip('K-quant parity tests');

const K_TYPES = [
  { name: 'Q2_K', id: GgmlType.Q2_K },
  { name: 'Q3_K', id: GgmlType.Q3_K },
  { name: 'Q4_K', id: GgmlType.Q4_K },
  { name: 'Q5_K', id: GgmlType.Q5_K },
  { name: 'Q6_K', id: GgmlType.Q6_K },
] as const;

// ---------------------------------------------------------------------------------------------
// Seeded data

// Each kind fills `len` values at `o`; blocks mix them per 16-value sub-block or whole-block.
const KINDS: Fill[] = [
  fillZero,
  fillNegativeZero,
  fillConstant,
  fillGaussian(1e-30),
  (r, out, o, len) => { for (let i = 0; i < len; i++) out[o + i] = (r() < 0.5 ? -6e4 : 6e4) * (0.5 + 0.5 * r()); },
  (r, out, o, len) => { const a = 0.01 + r(); for (let i = 0; i < len; i++) out[o + i] = i % 2 === 0 ? a : -a * r(); },
  (r, out, o, len) => { for (let i = 0; i < len; i++) out[o + i] = f16GridValue(r) * (r() < 0.7 ? 1e-3 : 1); },
  (r, out, o, len) => { for (let i = 0; i < len; i++) out[o + i] = bf16GridValue(r); },
  (r, out, o, len) => { out.fill(0, o, o + len); out[o + Math.floor(r() * len)] = gaussian(r) * 10 ** (4 * r() - 2); },
  (r, out, o, len) => { for (let i = 0; i < len; i++) out[o + i] = Math.abs(gaussian(r)) * 0.05; }, // positive only
  (r, out, o, len) => { for (let i = 0; i < len; i++) out[o + i] = -Math.abs(gaussian(r)) * 0.05; }, // negative only
  (r, out, o, len) => { for (let i = 0; i < len; i++) out[o + i] = Math.round(gaussian(r) * 4) / 8; }, // ties
  (r, out, o, len) => { const s = 10 ** (8 * r() - 5); for (let i = 0; i < len; i++) out[o + i] = gaussian(r) * s; },
  (r, out, o, len) => { const c = gaussian(r); for (let i = 0; i < len; i++) out[o + i] = c + gaussian(r) * 1e-6; },
];

/** Adversarial rows: each 256-block is either one kind throughout or a mix of kinds per 16 values. */
function edgeRows(nrows: number, n: number, seed: number): Float32Array {
  const rnd = mulberry32(seed);
  const out = new Float32Array(nrows * n);
  for (let b = 0; b < out.length; b += 256) {
    if (rnd() < 0.35) {
      KINDS[Math.floor(rnd() * KINDS.length)](rnd, out, b, 256);
    } else {
      for (let s = 0; s < 256; s += 16) KINDS[Math.floor(rnd() * KINDS.length)](rnd, out, b + s, 16);
    }
  }
  return out;
}

/** Importance vectors: log-normal over a wide range, ~10 % zeros, some zero runs of 16 or 32. */
function imatrixFor(n: number, seed: number): Float32Array {
  const rnd = mulberry32(seed);
  const im = new Float32Array(n);
  for (let i = 0; i < n; i++) im[i] = rnd() < 0.1 ? 0 : Math.exp(gaussian(rnd) * 3);
  for (let k = 0; k < n / 512; k++) {
    const len = rnd() < 0.5 ? 16 : 32;
    const at = Math.floor(rnd() * (n / len)) * len;
    im.fill(0, at, at + len);
  }
  return im;
}

interface Dataset { label: string; src: Float32Array; nrows: number; nPerRow: number; imatrix: Float32Array }

function datasets(): Dataset[] {
  const mk = (label: string, src: Float32Array, nPerRow: number, seed: number): Dataset =>
    ({ label, src, nrows: src.length / nPerRow, nPerRow, imatrix: imatrixFor(nPerRow, seed) });
  return [
    mk('gaussian 256', gaussianRows(1024, 256, 1), 256, 101),
    mk('gaussian 512', gaussianRows(1024, 512, 2), 512, 102),
    mk('gaussian 4096', gaussianRows(224, 4096, 3), 4096, 103),
    mk('edge cases 256', edgeRows(1536, 256, 4), 256, 104),
    mk('edge cases 4096', edgeRows(128, 4096, 5), 4096, 105),
  ];
}

let cachedData: Dataset[] | undefined;
const data = (): Dataset[] => (cachedData ??= datasets());

// llama.cpp's bytes per (type, dataset, imatrix?), reused by the dequantization tests.
const oracleBytes = new Map<string, Uint8Array>();

function oracleChunk(oracle: Oracle, type: number, ds: Dataset, withImatrix: boolean): Uint8Array {
  const key = `${type}/${ds.label}/${withImatrix}`;
  let bytes = oracleBytes.get(key);
  if (!bytes) {
    bytes = oracle.quantizeChunk(type, ds.src, ds.nrows, ds.nPerRow, withImatrix ? ds.imatrix : undefined);
    oracleBytes.set(key, bytes);
  }
  return bytes;
}

/** Quantizes with our kernel and byte-compares with llama.cpp, naming the row and input of a difference. */
function compareChunk(oracle: Oracle, type: { name: string; id: number }, ds: Dataset, withImatrix: boolean): number {
  const kernel = kernelFor(type.id);
  assert.ok(kernel?.quantize, `${type.name} kernel registered`);
  const expected = oracleChunk(oracle, type.id, ds, withImatrix);
  const perRow = ds.nPerRow / 256;
  return assertQuantizeMatches(
    kernel, { ...ds, imatrix: withImatrix ? ds.imatrix : undefined }, expected,
    `${type.name} ${withImatrix ? 'imatrix' : 'no imatrix'} ${ds.label}`,
    (b) => `row ${Math.floor(b / perRow)}, block ${b % perRow} in row\n  input: ${Array.from(ds.src.subarray(b * 256, b * 256 + 256)).join(',')}`,
  );
}

for (const type of K_TYPES) {
  for (const withImatrix of [false, true]) {
    test(`${type.name} ${withImatrix ? 'with' : 'without'} imatrix is byte-identical to ggml_quantize_chunk`, { skip: reason }, () => {
      const oracle = requireOracle();
      let blocks = 0;
      for (const ds of data()) blocks += compareChunk(oracle, type, ds, withImatrix);
      console.log(`# ${type.name} ${withImatrix ? 'imatrix' : 'ref'}: ${blocks} blocks identical`);
      assert.equal(blocks, 10240);
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Dequantization against the library's to_float

for (const type of K_TYPES) {
  test(`${type.name} dequantize equals the library's to_float bit for bit`, { skip: reason }, () => {
    const oracle = requireOracle();
    const kernel = kernelFor(type.id)!;
    let values = 0;
    for (const ds of data().filter((d) => d.nPerRow === 256 || d.label === 'gaussian 512')) {
      for (const withImatrix of [false, true]) {
        const q = oracleChunk(oracle, type.id, ds, withImatrix);
        const n = ds.src.length;
        assertSameFloats(kernelToFloat(kernel, q, n), oracleToFloat(oracle, type.id, q, n), `${type.name} ${ds.label}`, 256);
        values += n;
      }
    }
    console.log(`# ${type.name} dequantize: ${values} values identical`);
  });
}

// ---------------------------------------------------------------------------------------------
// Shape checks

test('K-quant kernels reject rows that are not a multiple of 256 and short buffers', () => {
  for (const type of K_TYPES) {
    const kernel = kernelFor(type.id)!;
    const bytes = ggmlTypeInfo(type.id)!.typeSize;
    assert.throws(() => kernel.quantize!(new Float32Array(320), new Uint8Array(4 * bytes), 1, 320), /multiple of 256/);
    assert.throws(() => kernel.quantize!(new Float32Array(256), new Uint8Array(bytes - 1), 1, 256), /destination/);
    assert.throws(() => kernel.quantize!(new Float32Array(256), new Uint8Array(bytes), 1, 256, new Float32Array(16)), /imatrix/);
    assert.throws(() => kernel.dequantize(new Uint8Array(bytes), new Float32Array(128), 128), /256-blocks/);
  }
});

test('an all-zero row quantizes to all-zero Q3_K/Q4_K blocks and dequantizes to zeros', () => {
  for (const type of K_TYPES) {
    const kernel = kernelFor(type.id)!;
    const out = new Uint8Array(ggmlTypeInfo(type.id)!.typeSize).fill(0xff);
    kernel.quantize!(new Float32Array(256), out, 1, 256);
    if (type.id === GgmlType.Q3_K || type.id === GgmlType.Q4_K) assert.ok(out.every((b) => b === 0), `${type.name} all zero`);
    const y = new Float32Array(256).fill(1);
    kernel.dequantize(out, y, 256);
    assert.ok(y.every((v) => v === 0), `${type.name} dequantizes to zero`);
  }
});

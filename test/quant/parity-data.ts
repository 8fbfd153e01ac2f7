// Seeded test rows for the kernel parity tests (float, legacy, IQ4, ternary, FP4): weight-like
// Gaussian rows with outliers, and rows of adversarial blocks (zeros, −0, constants, tiny, subnormal
// and huge values, exact rounding ties, fp16/bf16-grid values, spikes). Plus the byte comparison that
// names the first differing block.

import assert from 'node:assert/strict';
import { FP16_TO_FP32, bf16ToFp32 } from '../../src-main/core/quant/numeric.ts';
// The families are imported directly (not through kernels.ts) so these tests depend only on them.
import { kernelFor } from '../../src-main/core/quant/registry.ts';
import '../../src-main/core/quant/float.ts';
import '../../src-main/core/quant/legacy.ts';
import '../../src-main/core/quant/iq4.ts';
import '../../src-main/core/quant/ternary.ts';
import '../../src-main/core/quant/fp4.ts';
import { ggmlTypeInfo } from '../../src-main/core/gguf/ggml-types.ts';
import type { Oracle } from '../support/oracle.ts';
import { ggmlTraits } from '../support/ggml-traits.ts';

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function gaussian(rnd: () => number): number {
  const u = rnd() || 1e-12;
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd());
}

export interface Dataset {
  readonly label: string;
  readonly src: Float32Array;
  readonly nrows: number;
  readonly nPerRow: number;
  /** One importance value per column (llama.cpp's imatrix is per column, shared by all rows). */
  readonly imatrix: Float32Array;
}

type Fill = (rnd: () => number, out: Float32Array, o: number, len: number) => void;

const randInt = (rnd: () => number, lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));

/** Half-integers in [−|a|, |a|) plus one element equal to `a`: exact ties once the scale is found. */
const ties = (a: number): Fill => (rnd, out, o, len) => {
  const m = Math.abs(a);
  for (let i = 0; i < len; i++) out[o + i] = randInt(rnd, -m, m - 1) + 0.5;
  out[o + randInt(rnd, 0, len - 1)] = a;
};

/** Named block contents; every fill writes exactly `len` values at `o`. */
export const FILLS: ReadonlyArray<readonly [string, Fill]> = [
  ['zero', (_r, out, o, len) => out.fill(0, o, o + len)],
  ['negative zero', (_r, out, o, len) => out.fill(-0, o, o + len)],
  ['constant', (r, out, o, len) => out.fill(gaussian(r), o, o + len)],
  ['constant negative', (r, out, o, len) => out.fill(-Math.abs(gaussian(r)) - 0.1, o, o + len)],
  ['tiny 1e-30', (r, out, o, len) => { for (let i = 0; i < len; i++) out[o + i] = 1e-30 * gaussian(r); }],
  ['subnormal', (r, out, o, len) => { for (let i = 0; i < len; i++) out[o + i] = 1e-40 * gaussian(r); }],
  ['large ±6e4', (r, out, o, len) => { for (let i = 0; i < len; i++) out[o + i] = (r() * 2 - 1) * 6e4; }],
  ['mixed signs', (r, out, o, len) => { for (let i = 0; i < len; i++) out[o + i] = (i & 1 ? -1 : 1) * (0.5 + r()); }],
  ['ties 127', ties(127)], ['ties -127', ties(-127)], ['ties -8', ties(-8)], ['ties 8', ties(8)],
  ['ties -16', ties(-16)], ['ties 16', ties(16)], ['ties 1', ties(1)], ['ties 12', ties(12)], ['ties 6', ties(6)],
  ['quarter steps', (r, out, o, len) => { for (let i = 0; i < len; i++) out[o + i] = randInt(r, -40, 40) / 4; }],
  ['powers of two', (r, out, o, len) => { for (let i = 0; i < len; i++) out[o + i] = (r() < 0.5 ? -1 : 1) * 2 ** randInt(r, -8, 8); }],
  ['fp16 grid', (r, out, o, len) => {
    for (let i = 0; i < len; i++) {
      let h: number;
      do h = Math.floor(r() * 65536); while (((h >>> 10) & 0x1f) === 31);
      out[o + i] = FP16_TO_FP32[h];
    }
  }],
  ['bf16 grid', (r, out, o, len) => {
    for (let i = 0; i < len; i++) {
      const sign = r() < 0.5 ? 0x8000 : 0;
      out[o + i] = bf16ToFp32(sign | ((127 - 20 + Math.floor(r() * 40)) << 7) | Math.floor(r() * 128));
    }
  }],
  ['spike', (r, out, o, len) => { out.fill(0, o, o + len); out[o + randInt(r, 0, len - 1)] = gaussian(r) * 100; }],
  ['gaussian + outlier', (r, out, o, len) => {
    for (let i = 0; i < len; i++) out[o + i] = gaussian(r) * 0.02;
    out[o + randInt(r, 0, len - 1)] = 0.5 * (r() < 0.5 ? -1 : 1);
  }],
  ['uniform [0,1)', (r, out, o, len) => { for (let i = 0; i < len; i++) out[o + i] = r(); }],
];

/** Weight-like rows: N(0, σ) with σ varying per row and about every 97th value an outlier. */
function gaussianRows(nrows: number, n: number, seed: number): Float32Array {
  const rnd = mulberry32(seed);
  const out = new Float32Array(nrows * n);
  const sigmas = [0.02, 0.005, 0.1, 1, 30];
  for (let r = 0; r < nrows; r++) {
    const sigma = sigmas[r % sigmas.length];
    for (let i = 0; i < n; i++) {
      let v = gaussian(rnd) * sigma;
      if (rnd() < 1 / 97) v *= 6 + 14 * rnd();
      out[r * n + i] = v;
    }
  }
  return out;
}

/** Importance per column: log-uniform over 1e-3..1e3 with every 17th column zero. */
function wideImatrix(n: number, seed: number): Float32Array {
  const rnd = mulberry32(seed);
  return Float32Array.from({ length: n }, (_, i) => (i % 17 === 5 ? 0 : 10 ** (rnd() * 6 - 3)));
}

/** Importance like a real imatrix: mean activation² per column, mostly 0.1..2. */
function plainImatrix(n: number, seed: number): Float32Array {
  const rnd = mulberry32(seed);
  return Float32Array.from({ length: n }, () => 0.1 + 2 * rnd() * rnd());
}

/**
 * Datasets for a type with this block size: Gaussian rows of three lengths (1 and 3 blocks, at least
 * 256 values, and 4096), and adversarial rows where each `part`-sized piece (32, or the block when
 * smaller) is one fill, plus rows where every whole block is one fill.
 */
export function datasets(blockSize: number): Dataset[] {
  const out: Dataset[] = [];
  const unit = Math.max(blockSize, 256);
  const lengths = [unit, 3 * unit, Math.max(4096, unit)];
  lengths.forEach((n, k) => {
    // Larger blocks get more rows, so every type sees at least ~1000 Gaussian blocks.
    const nrows = n === 4096 ? 16 * Math.min(4, Math.max(1, blockSize / 32)) : 5;
    out.push({ label: `gaussian ${nrows}×${n}`, src: gaussianRows(nrows, n, 100 + k), nrows, nPerRow: n, imatrix: plainImatrix(n, 200 + k) });
  });

  const part = Math.min(32, blockSize);
  const rnd = mulberry32(7);
  // Mixed: consecutive parts take consecutive fills (so one block mixes several kinds).
  {
    const partsPerRow = Math.ceil((FILLS.length * part) / blockSize) * (blockSize / part);
    const nPerRow = partsPerRow * part;
    const nrows = 4;
    const src = new Float32Array(nrows * nPerRow);
    for (let p = 0; p < nrows * partsPerRow; p++) FILLS[(p * 7 + Math.floor(p / FILLS.length)) % FILLS.length][1](rnd, src, p * part, part);
    out.push({ label: `mixed parts ${nrows}×${nPerRow}`, src, nrows, nPerRow, imatrix: wideImatrix(nPerRow, 31) });
  }
  // Whole blocks of one fill, every fill twice (two seeds' worth of values).
  {
    const nPerRow = blockSize * FILLS.length;
    const nrows = 2;
    const src = new Float32Array(nrows * nPerRow);
    for (let b = 0; b < nrows * FILLS.length; b++) FILLS[b % FILLS.length][1](rnd, src, b * blockSize, blockSize);
    out.push({ label: `whole-block fills ${nrows}×${nPerRow}`, src, nrows, nPerRow, imatrix: wideImatrix(nPerRow, 32) });
  }
  return out;
}

/** Byte-compare; on a difference, fail naming the dataset, the block and both blocks' bytes. */
export function assertSameBlocks(actual: Uint8Array, expected: Uint8Array, blockBytes: number, what: string): number {
  assert.equal(actual.length, expected.length, `${what}: ${actual.length} bytes, expected ${expected.length}`);
  for (let i = 0; i < expected.length; i++) {
    if (actual[i] !== expected[i]) {
      const b = Math.floor(i / blockBytes);
      const hex = (a: Uint8Array) => Buffer.from(a.subarray(b * blockBytes, (b + 1) * blockBytes)).toString('hex');
      assert.fail(`${what}: first difference in block ${b} (byte ${i - b * blockBytes})\n  got      ${hex(actual)}\n  llama.cpp ${hex(expected)}`);
    }
  }
  return expected.length / blockBytes;
}

/** Compare float outputs bit for bit (NaN-safe, −0-aware), naming the first differing element. */
export function assertSameFloats(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.equal(actual.length, expected.length);
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const e = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  for (let i = 0; i < e.length; i++) {
    if (a[i] !== e[i]) assert.fail(`${what}: element ${i} is ${actual[i]} (0x${a[i].toString(16)}), expected ${expected[i]} (0x${e[i].toString(16)})`);
  }
}

// ---------------------------------------------------------------------------------------------
// The parity checks every family test runs

export interface ParityType {
  readonly name: string;
  readonly id: number;
  /** Whether ggml's quantizer reads the imatrix (the "with imatrix" run is made either way). */
  readonly usesImatrix: boolean;
}

/**
 * Quantize every dataset with the kernel and with ggml_quantize_chunk, with or without the imatrix,
 * and byte-compare; returns the number of blocks compared. Also checks the input is left unmodified.
 */
export function checkQuantizeParity(oracle: Oracle, type: ParityType, withImatrix: boolean): number {
  const info = ggmlTypeInfo(type.id)!;
  const quantize = kernelFor(type.id)?.quantize;
  assert.ok(quantize, `${type.name} has a registered quantize kernel`);
  let blocks = 0;
  for (const ds of datasets(info.blockSize)) {
    const imatrix = withImatrix ? ds.imatrix : undefined;
    const expected = oracle.quantizeChunk(type.id, ds.src, ds.nrows, ds.nPerRow, imatrix);
    const before = ds.src.slice();
    const actual = new Uint8Array(expected.length).fill(0xa5); // unwritten bytes show up
    const written: number = quantize(ds.src, actual, ds.nrows, ds.nPerRow, imatrix);
    assert.equal(written, expected.length, `${type.name} ${ds.label}: bytes written`);
    assert.deepEqual(ds.src, before, `${type.name} ${ds.label}: input modified`);
    blocks += assertSameBlocks(actual, expected, info.typeSize, `${type.name} ${ds.label}${withImatrix ? ' (imatrix)' : ''}`);
  }
  return blocks;
}

/**
 * Dequantize the kernel's own output and compare, bit for bit, with ggml's to_float of llama.cpp's
 * output for the same rows (both paths, every dataset). Returns the number of values compared.
 */
export function checkDequantizeParity(oracle: Oracle, type: ParityType): number {
  const traits = ggmlTraits(oracle);
  const kernel = kernelFor(type.id)!;
  assert.equal(traits.typeName(type.id), ggmlTypeInfo(type.id)!.name);
  let values = 0;
  for (const ds of datasets(ggmlTypeInfo(type.id)!.blockSize)) {
    for (const imatrix of type.usesImatrix ? [undefined, ds.imatrix] : [undefined]) {
      const n = ds.src.length;
      const ref = oracle.quantizeChunk(type.id, ds.src, ds.nrows, ds.nPerRow, imatrix);
      const expected = traits.toFloat(type.id, ref, n);
      assert.ok(expected, `${type.name} has a to_float in the reference`);
      const ours = new Uint8Array(ref.length);
      kernel.quantize!(ds.src, ours, ds.nrows, ds.nPerRow, imatrix);
      const actual = new Float32Array(n).fill(Number.NaN);
      kernel.dequantize(ours, actual, n);
      assertSameFloats(actual, expected, `${type.name} ${ds.label}${imatrix ? ' (imatrix)' : ''} dequantize`);
      values += n;
    }
  }
  return values;
}

/** Bytes from a hex string with spaces allowed. */
export function hex(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
}

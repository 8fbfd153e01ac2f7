// Seeded test rows for the kernel parity tests (float, legacy, IQ4, ternary, FP4): weight-like
// Gaussian rows with outliers, and rows of adversarial blocks (zeros, −0, constants, tiny, subnormal
// and huge values, exact rounding ties, fp16/bf16-grid values, spikes). Plus the parity checks every
// family test runs against llama.cpp (comparisons from test/support/kernel-parity.ts).

import { test } from 'node:test';
import assert from 'node:assert/strict';
// The families are imported directly (not through kernels.ts) so these tests depend only on them.
import { referenceKernelFor } from '../../src-main/core/quant/registry.ts';
import '../../src-main/core/quant/float.ts';
import '../../src-main/core/quant/legacy.ts';
import '../../src-main/core/quant/iq4.ts';
import '../../src-main/core/quant/ternary.ts';
import '../../src-main/core/quant/fp4.ts';
import { ggmlTypeInfo } from '../../src-main/core/gguf/ggml-types.ts';
import type { Oracle } from '../support/oracle.ts';
import { gaussian, mulberry32, randInt } from '../support/random.ts';
import {
  assertQuantizeMatches, assertSameBlocks, assertSameFloats, bf16GridValue, f16GridValue, fillConstant, fillGaussian,
  fillNegativeZero, fillZero, gaussianRows, kernelToFloat, oracleToFloat, requireOracle, type Fill,
} from '../support/kernel-parity.ts';

// Re-exported for the test files that take them from here.
export { assertSameBlocks, assertSameFloats, gaussian, mulberry32 };

export interface Dataset {
  readonly label: string;
  readonly src: Float32Array;
  readonly nrows: number;
  readonly nPerRow: number;
  /** One importance value per column (llama.cpp's imatrix is per column, shared by all rows). */
  readonly imatrix: Float32Array;
}

/** Half-integers in [−|a|, |a|) plus one element equal to `a`: exact ties once the scale is found. */
const ties = (a: number): Fill => (rnd, out, o, len) => {
  const m = Math.abs(a);
  for (let i = 0; i < len; i++) out[o + i] = randInt(rnd, -m, m - 1) + 0.5;
  out[o + randInt(rnd, 0, len - 1)] = a;
};

/** Named block contents; every fill writes exactly `len` values at `o`. */
export const FILLS: ReadonlyArray<readonly [string, Fill]> = [
  ['zero', fillZero],
  ['negative zero', fillNegativeZero],
  ['constant', fillConstant],
  ['constant negative', (r, out, o, len) => out.fill(-Math.abs(gaussian(r)) - 0.1, o, o + len)],
  ['tiny 1e-30', fillGaussian(1e-30)],
  ['subnormal', fillGaussian(1e-40)],
  ['large ±6e4', (r, out, o, len) => { for (let i = 0; i < len; i++) out[o + i] = (r() * 2 - 1) * 6e4; }],
  ['mixed signs', (r, out, o, len) => { for (let i = 0; i < len; i++) out[o + i] = (i & 1 ? -1 : 1) * (0.5 + r()); }],
  ['ties 127', ties(127)], ['ties -127', ties(-127)], ['ties -8', ties(-8)], ['ties 8', ties(8)],
  ['ties -16', ties(-16)], ['ties 16', ties(16)], ['ties 1', ties(1)], ['ties 12', ties(12)], ['ties 6', ties(6)],
  ['quarter steps', (r, out, o, len) => { for (let i = 0; i < len; i++) out[o + i] = randInt(r, -40, 40) / 4; }],
  ['powers of two', (r, out, o, len) => { for (let i = 0; i < len; i++) out[o + i] = (r() < 0.5 ? -1 : 1) * 2 ** randInt(r, -8, 8); }],
  ['fp16 grid', (r, out, o, len) => { for (let i = 0; i < len; i++) out[o + i] = f16GridValue(r); }],
  ['bf16 grid', (r, out, o, len) => { for (let i = 0; i < len; i++) out[o + i] = bf16GridValue(r); }],
  ['spike', (r, out, o, len) => { out.fill(0, o, o + len); out[o + randInt(r, 0, len - 1)] = gaussian(r) * 100; }],
  ['gaussian + outlier', (r, out, o, len) => {
    for (let i = 0; i < len; i++) out[o + i] = gaussian(r) * 0.02;
    out[o + randInt(r, 0, len - 1)] = 0.5 * (r() < 0.5 ? -1 : 1);
  }],
  ['uniform [0,1)', (r, out, o, len) => { for (let i = 0; i < len; i++) out[o + i] = r(); }],
];

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

// ---------------------------------------------------------------------------------------------
// The parity checks every family test runs

export interface ParityType {
  readonly name: string;
  readonly id: number;
  /** Whether ggml's quantizer reads the imatrix (the "with imatrix" run is made either way). */
  readonly usesImatrix: boolean;
}

/**
 * Quantize every dataset with the reference kernel and with ggml_quantize_chunk, with or without the
 * imatrix, and byte-compare; returns the number of blocks compared. Also checks the input is left
 * unmodified.
 */
export function checkQuantizeParity(oracle: Oracle, type: ParityType, withImatrix: boolean): number {
  const kernel = referenceKernelFor(type.id);
  assert.ok(kernel?.quantize, `${type.name} has a registered quantize kernel`);
  let blocks = 0;
  for (const ds of datasets(ggmlTypeInfo(type.id)!.blockSize)) {
    const imatrix = withImatrix ? ds.imatrix : undefined;
    const expected = oracle.quantizeChunk(type.id, ds.src, ds.nrows, ds.nPerRow, imatrix);
    blocks += assertQuantizeMatches(kernel, { ...ds, imatrix }, expected, `${type.name} ${ds.label}${withImatrix ? ' (imatrix)' : ''}`);
  }
  return blocks;
}

/**
 * Dequantize the kernel's own output and compare, bit for bit, with ggml's to_float of llama.cpp's
 * output for the same rows (both paths, every dataset). Returns the number of values compared.
 */
export function checkDequantizeParity(oracle: Oracle, type: ParityType): number {
  const kernel = referenceKernelFor(type.id)!;
  let values = 0;
  for (const ds of datasets(ggmlTypeInfo(type.id)!.blockSize)) {
    for (const imatrix of type.usesImatrix ? [undefined, ds.imatrix] : [undefined]) {
      const n = ds.src.length;
      const ref = oracle.quantizeChunk(type.id, ds.src, ds.nrows, ds.nPerRow, imatrix);
      const expected = oracleToFloat(oracle, type.id, ref, n);
      const ours = new Uint8Array(ref.length);
      kernel.quantize!(ds.src, ours, ds.nrows, ds.nPerRow, imatrix);
      assertSameFloats(kernelToFloat(kernel, ours, n), expected, `${type.name} ${ds.label}${imatrix ? ' (imatrix)' : ''} dequantize`);
      values += n;
    }
  }
  return values;
}

/**
 * The three parity tests of each type: quantize without and with the imatrix, and dequantize,
 * each skipped with `skip` (see oracleSkip).
 */
export function parityTests(types: readonly ParityType[], skip: string | undefined): void {
  for (const type of types) {
    test(`${type.name} quantize equals ggml_quantize_chunk without an imatrix`, { skip }, () => {
      console.log(`# ${type.name}: ${checkQuantizeParity(requireOracle(), type, false)} blocks identical (no imatrix)`);
    });
    test(`${type.name} quantize equals ggml_quantize_chunk with an imatrix${type.usesImatrix ? '' : ' (ignored)'}`, { skip }, () => {
      console.log(`# ${type.name}: ${checkQuantizeParity(requireOracle(), type, true)} blocks identical (imatrix)`);
    });
    test(`${type.name} dequantize equals ggml's to_float`, { skip }, () => {
      console.log(`# ${type.name}: ${checkDequantizeParity(requireOracle(), type)} dequantized values identical`);
    });
  }
}

/** Bytes from a hex string with spaces allowed. */
export function hex(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
}

// Scaffolding shared by the kernel parity tests (test/quant/*): the oracle gate every kernel test
// file opens with, seeded weight-like rows and edge-value generators, and the comparisons against
// llama.cpp that fail naming the first differing block or value.

import assert from 'node:assert/strict';
import { FP16_TO_FP32, bf16ToFp32 } from '../../src-main/core/quant/numeric.ts';
import type { QuantKernel } from '../../src-main/core/quant/types.ts';
import { ggmlTypeInfo } from '../../src-main/core/gguf/ggml-types.ts';
import { loadOracle, type Oracle } from './oracle.ts';
import { ggmlTraits } from './ggml-traits.ts';
import { gaussian, mulberry32 } from './random.ts';

// ---------------------------------------------------------------------------------------------
// The oracle gate

/**
 * The `skip` reason for tests that need the llama.cpp oracle, printed as `# skipping <what>: …`.
 * Only platforms without the prebuilt libraries skip; on linux-x64 this is undefined even when the
 * oracle is missing, so that the tests run and fail in requireOracle (a broken install, not a skip).
 */
export function oracleSkip(what: string): string | undefined {
  const reason = process.platform === 'linux' && process.arch === 'x64'
    ? undefined
    : `the llama.cpp oracle ships prebuilt for linux-x64 only (this is ${process.platform}-${process.arch})`;
  if (reason) console.log(`# skipping ${what}: ${reason}`);
  return reason;
}

/** The oracle, or an error saying why it cannot be loaded here. */
export function requireOracle(): Oracle {
  const oracle = loadOracle();
  if (!oracle) throw new Error(`the llama.cpp oracle is unavailable on ${process.platform}-${process.arch}`);
  return oracle;
}

// ---------------------------------------------------------------------------------------------
// Seeded rows

/** Writes `len` values at `out[o]`, drawing from `rnd`. */
export type Fill = (rnd: () => number, out: Float32Array, o: number, len: number) => void;

/** Weight-like rows: N(0, σ) with σ varying per row and about every 97th value an outlier. */
export function gaussianRows(nrows: number, n: number, seed: number): Float32Array {
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

/** A finite value on the fp16 grid (random bit pattern, exponent below 31). */
export function f16GridValue(rnd: () => number): number {
  for (;;) {
    const h = Math.floor(rnd() * 65536);
    if (((h >>> 10) & 0x1f) !== 31) return FP16_TO_FP32[h];
  }
}

/** A bf16-grid value of modest magnitude (exponent within ±20 of 1). */
export function bf16GridValue(rnd: () => number): number {
  const sign = rnd() < 0.5 ? 0x8000 : 0;
  const exp = 127 - 20 + Math.floor(rnd() * 40);
  return bf16ToFp32(sign | (exp << 7) | Math.floor(rnd() * 128));
}

/** Fills every family's edge cases start from. */
export const fillZero: Fill = (_r, out, o, len) => { out.fill(0, o, o + len); };
export const fillNegativeZero: Fill = (_r, out, o, len) => { out.fill(-0, o, o + len); };
/** One Gaussian value repeated. */
export const fillConstant: Fill = (r, out, o, len) => { out.fill(gaussian(r), o, o + len); };
/** N(0, scale²) values. */
export const fillGaussian = (scale: number): Fill => (r, out, o, len) => {
  for (let i = 0; i < len; i++) out[o + i] = gaussian(r) * scale;
};

// ---------------------------------------------------------------------------------------------
// Comparisons

/**
 * Byte-compare; on a difference, fail naming the block, the byte in it and both blocks' bytes, plus
 * what `context` says about that block (its row, its kind of data). Returns the number of blocks.
 */
export function assertSameBlocks(
  actual: Uint8Array, expected: Uint8Array, blockBytes: number, what: string, context?: (block: number) => string,
): number {
  assert.equal(actual.length, expected.length, `${what}: ${actual.length} bytes, expected ${expected.length}`);
  if (Buffer.compare(actual, expected) !== 0) {
    for (let i = 0; i < expected.length; i++) {
      if (actual[i] === expected[i]) continue;
      const b = Math.floor(i / blockBytes);
      const hex = (a: Uint8Array) => Buffer.from(a.subarray(b * blockBytes, (b + 1) * blockBytes)).toString('hex');
      assert.fail(
        `${what}: first difference in block ${b} (byte ${i - b * blockBytes})${context ? `, ${context(b)}` : ''}\n` +
          `  ours      ${hex(actual)}\n  llama.cpp ${hex(expected)}`,
      );
    }
  }
  return expected.length / blockBytes;
}

/**
 * Compare float outputs bit for bit (NaN-payload-safe, −0-aware), naming the first differing element
 * and, given the block size, its block.
 */
export function assertSameFloats(actual: Float32Array, expected: Float32Array, what: string, blockSize?: number): void {
  assert.equal(actual.length, expected.length, `${what}: ${actual.length} values, expected ${expected.length}`);
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const e = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  for (let i = 0; i < e.length; i++) {
    if (a[i] === e[i]) continue;
    const where = blockSize ? `element ${i} (block ${Math.floor(i / blockSize)})` : `element ${i}`;
    assert.fail(`${what}: ${where} is ${actual[i]} (0x${a[i].toString(16)}), llama.cpp gives ${expected[i]} (0x${e[i].toString(16)})`);
  }
}

const sameBits = (a: Float32Array, b: Float32Array): boolean =>
  Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;

/** Rows to quantize: nrows × nPerRow values of `src`, with the per-column importance or none. */
export interface QuantizeCase {
  readonly src: Float32Array;
  readonly nrows: number;
  readonly nPerRow: number;
  readonly imatrix?: Float32Array;
}

/**
 * Quantize `c` with `kernel` into a buffer pre-filled with 0xA5 (so unwritten bytes show up) and
 * byte-compare with llama.cpp's `expected`; also checks the byte count returned and that neither the
 * rows nor the imatrix were modified. Returns the number of blocks compared.
 */
export function assertQuantizeMatches(
  kernel: QuantKernel, c: QuantizeCase, expected: Uint8Array, what: string, context?: (block: number) => string,
): number {
  assert.ok(kernel.quantize, `${what}: the kernel quantizes`);
  const src = c.src.slice();
  const imatrix = c.imatrix?.slice();
  const actual = new Uint8Array(expected.length).fill(0xa5);
  const written = kernel.quantize(c.src, actual, c.nrows, c.nPerRow, c.imatrix);
  assert.equal(written, expected.length, `${what}: bytes written`);
  assert.ok(sameBits(c.src, src), `${what}: input rows modified`);
  if (c.imatrix) assert.ok(sameBits(c.imatrix, imatrix!), `${what}: imatrix modified`);
  return assertSameBlocks(actual, expected, ggmlTypeInfo(kernel.type)!.typeSize, what, context);
}

/** ggml's to_float of `n` values of `q` (checking that the library names the type as we do). */
export function oracleToFloat(oracle: Oracle, type: number, q: Uint8Array, n: number): Float32Array {
  const traits = ggmlTraits(oracle);
  assert.equal(traits.typeName(type), ggmlTypeInfo(type)!.name, `type ${type} is named alike`);
  const y = traits.toFloat(type, q, n);
  assert.ok(y, `${ggmlTypeInfo(type)!.name} has a to_float in the reference`);
  return y;
}

/** Dequantize `q` with `kernel` into a NaN-filled buffer (so unwritten values show up). */
export function kernelToFloat(kernel: QuantKernel, q: Uint8Array, n: number): Float32Array {
  const y = new Float32Array(n).fill(Number.NaN);
  kernel.dequantize(q, y, n);
  return y;
}

// Shared by the single-core kernel benches (bench/kquants.ts, bench/iquants-grid.ts,
// bench/block-kernels.ts): the oracle, the seeded weight-like rows, and one measurement of a kernel
// against llama.cpp's ggml_quantize_chunk — MB/s of f32 input per CPU second (process CPU time, best
// of interleaved runs, so that a busy machine disturbs it less) plus a byte check.

import { loadOracle, type Oracle } from '../../test/support/oracle.ts';
import { kernelFor, referenceKernelFor } from '../../src-main/core/quant/kernels.ts';

/** The llama.cpp oracle, or an error: the kernel benches measure against it. */
export function benchOracle(): Oracle {
  const oracle = loadOracle();
  if (!oracle) throw new Error('the llama.cpp oracle is not available on this platform');
  return oracle;
}

/** Process CPU time (user + system) in milliseconds. */
export function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * Weight-like rows (N(0, 0.02²), every 97th value ×6) and an imatrix of e^N(0,1) per column, from
 * one seeded LCG: the same numbers for the same shape on every run and in every kernel bench.
 */
export function benchRows(nrows: number, nPerRow: number): { src: Float32Array; imatrix: Float32Array } {
  let seed = 777;
  const rnd = (): number => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed / 4294967296; };
  const gauss = (): number => Math.sqrt(-2 * Math.log(rnd() || 1e-9)) * Math.cos(2 * Math.PI * rnd());
  const src = new Float32Array(nrows * nPerRow);
  for (let i = 0; i < src.length; i++) src[i] = gauss() * 0.02 * (i % 97 === 0 ? 6 : 1);
  const imatrix = new Float32Array(nPerRow);
  for (let i = 0; i < nPerRow; i++) imatrix[i] = Math.exp(gauss());
  return { src, imatrix };
}

export interface KernelBench {
  /** Start of the printed line: type name and path, padded by the caller. */
  readonly label: string;
  readonly type: number;
  /** nrows × nPerRow values. */
  readonly src: Float32Array;
  readonly nrows: number;
  readonly nPerRow: number;
  readonly imatrix?: Float32Array;
  /** Timed runs of each side (the best counts). */
  readonly reps: number;
  /** Rows quantized once before timing (JIT warm-up). */
  readonly warmupRows: number;
  /** Decimals of the MB/s figures. */
  readonly digits: number;
}

/**
 * Times the registered kernel (WebAssembly where the registry has one, labelled so) and llama.cpp
 * alternately on the same rows and prints one line: throughput of each, time ratio, byte check.
 */
export function benchKernel(oracle: Oracle, b: KernelBench): void {
  const kernel = kernelFor(b.type)!;
  const engine = kernel === referenceKernelFor(b.type) ? 'JS' : 'WASM';
  const out = new Uint8Array(oracle.rowSize(b.type, b.nPerRow) * b.nrows);
  kernel.quantize!(b.src.subarray(0, b.warmupRows * b.nPerRow), out, b.warmupRows, b.nPerRow, b.imatrix);
  let ours = Infinity;
  let c = Infinity;
  let ref: Uint8Array = new Uint8Array(0);
  for (let rep = 0; rep < b.reps; rep++) {
    let t0 = cpuMs();
    kernel.quantize!(b.src, out, b.nrows, b.nPerRow, b.imatrix);
    ours = Math.min(ours, cpuMs() - t0);
    t0 = cpuMs();
    ref = oracle.quantizeChunk(b.type, b.src, b.nrows, b.nPerRow, b.imatrix);
    c = Math.min(c, cpuMs() - t0);
  }
  const same = Buffer.compare(ref, out) === 0;
  const mb = (b.nrows * b.nPerRow * 4) / 1e6;
  const rate = (ms: number): string => (ms > 0 ? (mb / (ms / 1000)).toFixed(b.digits) : '∞').padStart(b.digits + 6);
  console.log(
    `${b.label}  ${engine.padEnd(4)} ${rate(ours)} MB/s   C ${rate(c)} MB/s   ${engine}/C time ${(ours / c).toFixed(2)}  ${same ? 'identical' : 'DIFFERENT'}`,
  );
}

// Single-core throughput of the float, legacy, IQ4, ternary and FP4 kernels against llama.cpp's
// ggml_quantize_chunk (the oracle): MB/s of f32 input per CPU second (process CPU time, best of
// interleaved runs, so a busy machine disturbs it less), plus a byte check. QUANTFIT_NO_WASM=1
// measures the TypeScript kernels where the registry has WebAssembly ones.
// Usage: node --import tsx bench/block-kernels.ts [type-substring] [rows of 4096]
import { GgmlType } from '../src-main/core/gguf/ggml-types.ts';
import { benchKernel, benchOracle, benchRows } from './support/kernel-bench.ts';

const oracle = benchOracle();
const only = (process.argv[2] ?? '').toUpperCase();
const nPerRow = 4096;
const nrows = Number(process.argv[3] ?? 256);
const { src, imatrix: im } = benchRows(nrows, nPerRow);

// [name, type, uses the imatrix, fraction of the rows to use (the slow searches get fewer)]
const CASES: Array<[string, number, boolean, number]> = [
  ['F16', GgmlType.F16, false, 1], ['BF16', GgmlType.BF16, false, 1],
  ['Q8_0', GgmlType.Q8_0, false, 1], ['Q4_0', GgmlType.Q4_0, true, 1], ['Q4_1', GgmlType.Q4_1, true, 1],
  ['Q5_0', GgmlType.Q5_0, true, 1], ['Q5_1', GgmlType.Q5_1, true, 1], ['Q1_0', GgmlType.Q1_0, false, 1],
  ['Q2_0', GgmlType.Q2_0, false, 1], ['IQ4_NL', GgmlType.IQ4_NL, true, 1 / 16], ['IQ4_XS', GgmlType.IQ4_XS, true, 1 / 16],
  ['TQ1_0', GgmlType.TQ1_0, false, 1], ['TQ2_0', GgmlType.TQ2_0, false, 1],
  ['MXFP4', GgmlType.MXFP4, false, 1 / 4], ['NVFP4', GgmlType.NVFP4, false, 1 / 4],
];

for (const [name, type, usesImatrix, fraction] of CASES) {
  if (!name.includes(only)) continue;
  const rows = Math.max(1, Math.floor(nrows * fraction));
  const x = src.subarray(0, rows * nPerRow);
  for (const imatrix of usesImatrix ? [undefined, im] : [undefined]) {
    benchKernel(oracle, {
      label: `${name.padEnd(6)} ${imatrix ? 'imatrix' : 'plain  '}`, type, src: x, nrows: rows, nPerRow, imatrix, reps: 5, warmupRows: rows, digits: 1,
    });
  }
}

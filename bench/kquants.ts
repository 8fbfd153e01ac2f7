// Single-core throughput of the K-quant kernels against llama.cpp's ggml_quantize_chunk (the oracle),
// MB/s of f32 input per CPU second (process CPU time, best of several interleaved runs, so that a busy
// machine disturbs it less), plus a byte check. QUANTFIT_NO_WASM=1 measures the TypeScript kernels
// where the registry has WebAssembly ones.
// Usage: node --import tsx bench/kquants.ts [type-substring] [rows]
import { GgmlType } from '../src-main/core/gguf/ggml-types.ts';
import { benchKernel, benchOracle, benchRows } from './support/kernel-bench.ts';

const oracle = benchOracle();
const only = process.argv[2] ?? '';
const nPerRow = 4096;
const nrows = Number(process.argv[3] ?? 32);
const { src, imatrix: im } = benchRows(nrows, nPerRow);
const types = { Q2_K: GgmlType.Q2_K, Q3_K: GgmlType.Q3_K, Q4_K: GgmlType.Q4_K, Q5_K: GgmlType.Q5_K, Q6_K: GgmlType.Q6_K };
for (const [name, type] of Object.entries(types)) {
  if (!name.includes(only)) continue;
  for (const imatrix of [undefined, im]) {
    benchKernel(oracle, { label: `${name} ${imatrix ? 'imatrix' : 'ref    '}`, type, src, nrows, nPerRow, imatrix, reps: 5, warmupRows: 8, digits: 1 });
  }
}

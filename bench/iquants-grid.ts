// Single-core throughput of the grid IQ kernels (IQ2_XXS … IQ1_M) against llama.cpp's
// ggml_quantize_chunk (the oracle), MB/s of f32 input per CPU second (process CPU time, best of
// several interleaved runs), plus a byte check. Also the one-off table init: ours (searchTable) and
// ggml's (ggml_quantize_init, measured through the first oracle call on one block).
// Usage: node --import tsx bench/iquants-grid.ts [type-substring] [rows]
import { GgmlType } from '../src-main/core/gguf/ggml-types.ts';
import { searchTable, type IqGridName } from '../src-main/core/quant/iq-grids.ts';
import { benchKernel, benchOracle, benchRows, cpuMs } from './support/kernel-bench.ts';

const oracle = benchOracle();
const only = process.argv[2] ?? '';
const nPerRow = 4096;
const nrows = Number(process.argv[3] ?? 8);
const { src, imatrix: im } = benchRows(nrows, nPerRow);

const types: ReadonlyArray<{ name: string; id: number; grid: IqGridName; plain: boolean }> = [
  { name: 'IQ2_XXS', id: GgmlType.IQ2_XXS, grid: 'iq2xxs', plain: false },
  { name: 'IQ2_XS', id: GgmlType.IQ2_XS, grid: 'iq2xs', plain: false },
  { name: 'IQ2_S', id: GgmlType.IQ2_S, grid: 'iq2s', plain: true },
  { name: 'IQ3_XXS', id: GgmlType.IQ3_XXS, grid: 'iq3xxs', plain: true },
  { name: 'IQ3_S', id: GgmlType.IQ3_S, grid: 'iq3s', plain: true },
  { name: 'IQ1_S', id: GgmlType.IQ1_S, grid: 'iq1s', plain: false },
  { name: 'IQ1_M', id: GgmlType.IQ1_M, grid: 'iq1s', plain: true },
];

for (const t of types) {
  if (!t.name.includes(only)) continue;
  let t0 = cpuMs();
  searchTable(t.grid);
  const jsInit = cpuMs() - t0;
  t0 = cpuMs();
  oracle.quantizeChunk(t.id, src.subarray(0, 256), 1, 256, im.subarray(0, 256));
  const cInit = cpuMs() - t0;
  console.log(`${t.name} table init  JS ${jsInit.toFixed(0)} ms   C ${cInit.toFixed(0)} ms (CPU; the IQ1 types share one table)`);
  for (const imatrix of t.plain ? [undefined, im] : [im]) {
    benchKernel(oracle, {
      label: `${t.name.padEnd(7)} ${imatrix ? 'imatrix' : 'plain  '}`, type: t.id, src, nrows, nPerRow, imatrix, reps: 3, warmupRows: 2, digits: 2,
    });
  }
}

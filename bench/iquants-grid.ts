// Single-core throughput of the grid IQ kernels (IQ2_XXS … IQ1_M) against llama.cpp's
// ggml_quantize_chunk (the oracle), MB/s of f32 input per CPU second (process CPU time, best of
// several interleaved runs), plus a byte check. Also the one-off table init: ours (searchTable) and
// ggml's (ggml_quantize_init, measured through the first oracle call on one block).
// Usage: node --import tsx bench/iquants-grid.ts [type-substring] [rows]
import { loadOracle } from '../test/support/oracle.ts';
import { kernelFor } from '../src-main/core/quant/kernels.ts';
import { GgmlType } from '../src-main/core/gguf/ggml-types.ts';
import { searchTable, type IqGridName } from '../src-main/core/quant/iq-grids.ts';

const oracle = loadOracle();
if (!oracle) throw new Error('the llama.cpp oracle is not available on this platform');
let seed = 777;
const rnd = (): number => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed / 4294967296; };
const gauss = (): number => Math.sqrt(-2 * Math.log(rnd() || 1e-9)) * Math.cos(2 * Math.PI * rnd());
const only = process.argv[2] ?? '';
const nPerRow = 4096;
const nrows = Number(process.argv[3] ?? 8);
const src = new Float32Array(nrows * nPerRow);
for (let i = 0; i < src.length; i++) src[i] = gauss() * 0.02 * (i % 97 === 0 ? 6 : 1);
const im = new Float32Array(nPerRow);
for (let i = 0; i < nPerRow; i++) im[i] = Math.exp(gauss());
const mb = (src.length * 4) / 1e6;
const cpuMs = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };

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
    const kernel = kernelFor(t.id)!;
    const out = new Uint8Array(oracle.rowSize(t.id, nPerRow) * nrows);
    kernel.quantize!(src.subarray(0, 2 * nPerRow), out, 2, nPerRow, imatrix); // warm-up
    let js = Infinity;
    let c = Infinity;
    let ref: Uint8Array = new Uint8Array(0);
    for (let rep = 0; rep < 3; rep++) {
      t0 = cpuMs();
      kernel.quantize!(src, out, nrows, nPerRow, imatrix);
      js = Math.min(js, cpuMs() - t0);
      t0 = cpuMs();
      ref = oracle.quantizeChunk(t.id, src, nrows, nPerRow, imatrix);
      c = Math.min(c, cpuMs() - t0);
    }
    const same = Buffer.compare(Buffer.from(ref), Buffer.from(out)) === 0;
    console.log(`${t.name.padEnd(7)} ${imatrix ? 'imatrix' : 'plain  '}  JS ${(mb / (js / 1000)).toFixed(2).padStart(6)} MB/s   C ${(mb / (c / 1000)).toFixed(2).padStart(6)} MB/s   JS/C time ${(js / c).toFixed(2)}  ${same ? 'identical' : 'DIFFERENT'}`);
  }
}

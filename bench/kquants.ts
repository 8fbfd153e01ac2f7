// Single-core throughput of the K-quant kernels against llama.cpp's ggml_quantize_chunk (the oracle),
// MB/s of f32 input per CPU second (process CPU time, best of several interleaved runs, so that a busy
// machine disturbs it less), plus a byte check.
// Usage: node --import tsx bench/kquants.ts [type-substring] [rows]
import { loadOracle } from '../test/support/oracle.ts';
import { kernelFor } from '../src-main/core/quant/kernels.ts';
import { GgmlType } from '../src-main/core/gguf/ggml-types.ts';

const oracle = loadOracle();
if (!oracle) throw new Error('the llama.cpp oracle is not available on this platform');
let seed = 777;
const rnd = (): number => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed / 4294967296; };
const gauss = (): number => Math.sqrt(-2 * Math.log(rnd() || 1e-9)) * Math.cos(2 * Math.PI * rnd());
const only = process.argv[2] ?? '';
const nPerRow = 4096;
const nrows = Number(process.argv[3] ?? 32);
const src = new Float32Array(nrows * nPerRow);
for (let i = 0; i < src.length; i++) src[i] = gauss() * 0.02 * (i % 97 === 0 ? 6 : 1);
const im = new Float32Array(nPerRow);
for (let i = 0; i < nPerRow; i++) im[i] = Math.exp(gauss());
const mb = (src.length * 4) / 1e6;
const types = { Q2_K: GgmlType.Q2_K, Q3_K: GgmlType.Q3_K, Q4_K: GgmlType.Q4_K, Q5_K: GgmlType.Q5_K, Q6_K: GgmlType.Q6_K };
const cpuMs = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
for (const [name, t] of Object.entries(types)) {
  if (!name.includes(only)) continue;
  for (const imatrix of [undefined, im]) {
    const kernel = kernelFor(t)!;
    const out = new Uint8Array(oracle.rowSize(t, nPerRow) * nrows);
    kernel.quantize!(src.subarray(0, 8 * nPerRow), out, 8, nPerRow, imatrix); // warm-up
    let js = Infinity;
    let c = Infinity;
    let ref: Uint8Array = new Uint8Array(0);
    for (let rep = 0; rep < 5; rep++) {
      let t0 = cpuMs();
      kernel.quantize!(src, out, nrows, nPerRow, imatrix);
      js = Math.min(js, cpuMs() - t0);
      t0 = cpuMs();
      ref = oracle.quantizeChunk(t, src, nrows, nPerRow, imatrix);
      c = Math.min(c, cpuMs() - t0);
    }
    const same = Buffer.compare(Buffer.from(ref), Buffer.from(out)) === 0;
    console.log(`${name} ${imatrix ? 'imatrix' : 'ref    '}  JS ${(mb / (js / 1000)).toFixed(1).padStart(6)} MB/s   C ${(mb / (c / 1000)).toFixed(1).padStart(6)} MB/s   JS/C time ${(js / c).toFixed(2)}  ${same ? 'identical' : 'DIFFERENT'}`);
  }
}

// Single-core throughput of the WebAssembly kernels against the TypeScript reference kernels and
// llama.cpp's ggml_quantize_chunk (the oracle): MB/s of float32 input per CPU second (best of
// interleaved runs), with a byte check of all three.
// Usage: node --import tsx bench/wasm-kernels.ts [type-substring] [rows of 4096, default 64]
import { loadOracle } from '../test/support/oracle.ts';
import { referenceKernelFor } from '../src-main/core/quant/kernels.ts';
import { instantiateWasmKernels } from '../src-main/core/quant/wasm/index.ts';
import { ggmlTypeInfo, ggmlTypeName } from '../src-main/core/gguf/ggml-types.ts';

const oracle = loadOracle();
if (!oracle) throw new Error('the llama.cpp oracle is not available on this platform');
const wasm = instantiateWasmKernels();
let seed = 777;
const rnd = (): number => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed / 4294967296; };
const gauss = (): number => Math.sqrt(-2 * Math.log(rnd() || 1e-9)) * Math.cos(2 * Math.PI * rnd());
const only = (process.argv[2] ?? '').toUpperCase();
const nPerRow = 4096;
const nrows = Number(process.argv[3] ?? 64);
const src = new Float32Array(nrows * nPerRow);
for (let i = 0; i < src.length; i++) src[i] = gauss() * 0.02 * (i % 97 === 0 ? 6 : 1);
const im = new Float32Array(nPerRow);
for (let i = 0; i < nPerRow; i++) im[i] = Math.exp(gauss());
const cpuMs = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const rate = (rows: number, ms: number): string => ((rows * nPerRow * 4) / 1e6 / (ms / 1000)).toFixed(0).padStart(6);

console.log('type     path      WASM MB/s   TS MB/s    C MB/s   WASM/C time  bytes');
for (const [type, kernel] of wasm) {
  const name = ggmlTypeName(type);
  if (!name.includes(only)) continue;
  const reference = referenceKernelFor(type)!;
  // The TypeScript searches are slow: they get an eighth of the rows (rates are per MB anyway).
  const tsRows = Math.max(1, nrows >> 3);
  for (const imatrix of ggmlTypeInfo(type)!.requiresImatrix ? [im] : [undefined, im]) {
    const out = new Uint8Array(oracle.rowSize(type, nPerRow) * nrows);
    const ref = new Uint8Array(oracle.rowSize(type, nPerRow) * tsRows);
    kernel.quantize(src.subarray(0, 8 * nPerRow), out, 8, nPerRow, imatrix); // warm-up
    let w = Infinity;
    let t = Infinity;
    let c = Infinity;
    let expected: Uint8Array = new Uint8Array(0);
    for (let rep = 0; rep < 3; rep++) {
      let t0 = cpuMs();
      kernel.quantize(src, out, nrows, nPerRow, imatrix);
      w = Math.min(w, cpuMs() - t0);
      t0 = cpuMs();
      reference.quantize!(src, ref, tsRows, nPerRow, imatrix);
      t = Math.min(t, cpuMs() - t0);
      t0 = cpuMs();
      expected = oracle.quantizeChunk(type, src, nrows, nPerRow, imatrix);
      c = Math.min(c, cpuMs() - t0);
    }
    const same = Buffer.compare(Buffer.from(expected), Buffer.from(out)) === 0 && Buffer.compare(Buffer.from(expected.subarray(0, ref.length)), Buffer.from(ref)) === 0;
    console.log(`${name.padEnd(8)} ${imatrix ? 'imatrix' : 'ref    '}  ${rate(nrows, w)}     ${rate(tsRows, t)}    ${rate(nrows, c)}   ${(w / c).toFixed(2).padStart(11)}  ${same ? 'identical' : 'DIFFERENT'}`);
  }
}

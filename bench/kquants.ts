import { loadOracle } from '../test/support/oracle.ts';
import '../src-main/core/quant/kquants.ts';
import { kernelFor } from '../src-main/core/quant/registry.ts';
const o = loadOracle()!;
let seed = 777;
function rnd() { seed = (seed * 1103515245 + 12345) >>> 0; return seed / 4294967296; }
function gauss() { let u = rnd() || 1e-9, v = rnd(); return Math.sqrt(-2*Math.log(u))*Math.cos(2*Math.PI*v); }
const only = process.argv[2];
const types: Record<string, number> = { Q2_K: 10, Q3_K: 11, Q4_K: 12, Q5_K: 13, Q6_K: 14 };
const nPerRow = 4096, nrows = 256;
const src = new Float32Array(nrows*nPerRow);
for (let i=0;i<src.length;i++) src[i] = gauss()*0.02 * (i%97===0 ? 6 : 1);
const im = new Float32Array(nPerRow); for (let i=0;i<nPerRow;i++) im[i] = Math.exp(gauss());
const mb = src.length*4/1e6;
for (const [name, t] of Object.entries(types)) for (const useIm of [false, true]) {
  if (only && !name.includes(only)) continue;
  const k = kernelFor(t)!;
  const out = new Uint8Array(o.rowSize(t, nPerRow)*nrows);
  k.quantize!(src.subarray(0, 8*nPerRow), out, 8, nPerRow, useIm ? im : undefined); // warm
  let t0 = performance.now();
  k.quantize!(src, out, nrows, nPerRow, useIm ? im : undefined);
  const js = performance.now()-t0;
  t0 = performance.now();
  const ref = o.quantizeChunk(t, src, nrows, nPerRow, useIm ? im : undefined);
  const c = performance.now()-t0;
  const same = Buffer.compare(Buffer.from(ref), Buffer.from(out)) === 0;
  console.log(`${name} ${useIm ? 'imatrix' : 'ref    '} JS ${(mb/(js/1000)).toFixed(1)} MB/s  C ${(mb/(c/1000)).toFixed(1)} MB/s  ratio ${(js/c).toFixed(2)} ${same ? 'identical' : 'DIFFERENT'}`);
}

// Single-core throughput of the float, legacy, IQ4, ternary and FP4 kernels against llama.cpp's
// ggml_quantize_chunk (the oracle): MB/s of f32 input per CPU second (process CPU time, best of
// interleaved runs, so a busy machine disturbs it less), plus a byte check.
// Usage: node --import tsx bench/block-kernels.ts [type-substring] [rows of 4096]
import { loadOracle } from '../test/support/oracle.ts';
import { kernelFor } from '../src-main/core/quant/kernels.ts';
import { GgmlType } from '../src-main/core/gguf/ggml-types.ts';

const oracle = loadOracle();
if (!oracle) throw new Error('the llama.cpp oracle is not available on this platform');
let seed = 777;
const rnd = (): number => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed / 4294967296; };
const gauss = (): number => Math.sqrt(-2 * Math.log(rnd() || 1e-9)) * Math.cos(2 * Math.PI * rnd());
const only = (process.argv[2] ?? '').toUpperCase();
const nPerRow = 4096;
const nrows = Number(process.argv[3] ?? 256);
const src = new Float32Array(nrows * nPerRow);
for (let i = 0; i < src.length; i++) src[i] = gauss() * 0.02 * (i % 97 === 0 ? 6 : 1);
const im = new Float32Array(nPerRow);
for (let i = 0; i < nPerRow; i++) im[i] = Math.exp(gauss());
const cpuMs = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };

// [name, type, uses the imatrix, fraction of the rows to use (the slow searches get fewer)]
const CASES: Array<[string, number, boolean, number]> = [
  ['F16', GgmlType.F16, false, 1], ['BF16', GgmlType.BF16, false, 1],
  ['Q8_0', GgmlType.Q8_0, false, 1], ['Q4_0', GgmlType.Q4_0, true, 1], ['Q4_1', GgmlType.Q4_1, true, 1],
  ['Q5_0', GgmlType.Q5_0, true, 1], ['Q5_1', GgmlType.Q5_1, true, 1], ['Q1_0', GgmlType.Q1_0, false, 1],
  ['Q2_0', GgmlType.Q2_0, false, 1], ['IQ4_NL', GgmlType.IQ4_NL, true, 1 / 16], ['IQ4_XS', GgmlType.IQ4_XS, true, 1 / 16],
  ['TQ1_0', GgmlType.TQ1_0, false, 1], ['TQ2_0', GgmlType.TQ2_0, false, 1],
  ['MXFP4', GgmlType.MXFP4, false, 1 / 4], ['NVFP4', GgmlType.NVFP4, false, 1 / 4],
];

for (const [name, t, usesImatrix, fraction] of CASES) {
  if (!name.includes(only)) continue;
  const rows = Math.max(1, Math.floor(nrows * fraction));
  const x = src.subarray(0, rows * nPerRow);
  const mb = (x.length * 4) / 1e6;
  for (const imatrix of usesImatrix ? [undefined, im] : [undefined]) {
    const kernel = kernelFor(t)!;
    const out = new Uint8Array(oracle.rowSize(t, nPerRow) * rows);
    kernel.quantize!(x, out, rows, nPerRow, imatrix); // warm-up
    let js = Infinity;
    let c = Infinity;
    let ref: Uint8Array = new Uint8Array(0);
    for (let rep = 0; rep < 5; rep++) {
      let t0 = cpuMs();
      kernel.quantize!(x, out, rows, nPerRow, imatrix);
      js = Math.min(js, cpuMs() - t0);
      t0 = cpuMs();
      ref = oracle.quantizeChunk(t, x, rows, nPerRow, imatrix);
      c = Math.min(c, cpuMs() - t0);
    }
    const same = Buffer.compare(Buffer.from(ref), Buffer.from(out)) === 0;
    const rate = (ms: number): string => (ms > 0 ? (mb / (ms / 1000)).toFixed(1) : '∞').padStart(7);
    console.log(`${name.padEnd(6)} ${imatrix ? 'imatrix' : 'plain  '}  JS ${rate(js)} MB/s   C ${rate(c)} MB/s   JS/C time ${(js / c).toFixed(2)}  ${same ? 'identical' : 'DIFFERENT'}`);
  }
}

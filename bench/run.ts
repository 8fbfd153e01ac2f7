// The benchmark of issue #3: our quantizeFile against llama.cpp's llama_model_quantize on the same
// ~200 MB F16 llama-shaped model (n_embd 2048, n_ff 5632, GQA 32/4 heads), same thread count, for
// Q8_0, Q4_0, Q4_K_M, Q5_K_M, Q6_K, IQ4_XS and IQ2_XS with an importance matrix. Goal: our wall time
// ≤ theirs, our peak RSS ≤ 512 MB, identical bytes.
//
// Each run is a child process (its peak RSS is its own: process.resourceUsage().maxRSS, which
// includes our worker threads); ours and theirs alternate, round after round, so that a busy machine
// or a cold page cache hurts both alike. Seconds are the quantize call inside the child (ours
// includes starting its worker pool); the child's total wall time is shown too.
//
// Then one more line (bench/convert-quantize.ts): a Hugging Face folder → Q4_K_M in one pass against
// convert_hf_to_gguf.py --outtype auto + llama_model_quantize, with both peak RSS.
//
// Usage: npm run bench -- [--rounds N] [--threads N] [--types Q4_K_M,Q6_K] [--layers N] [--dir DIR] [--keep]
//        [--no-cli-start] [--no-engine] [--no-memory] [--memory-only] [--memory-ctx 512,2048,8192,32768] [--memory-runs N]
// Last, the engine's speed against llama-perplexity and llama-imatrix (bench/engine.ts; --no-engine skips it).
// First, the CLI's start-up against a bare node (bench/cli-start.ts; --no-cli-start skips it).
// After the engine, the memory estimate against real loads (bench/memory-estimate.ts; --no-memory skips it, --memory-only runs it alone).

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { GgufWriter } from '../src-main/core/gguf/writer.ts';
import { GgmlType } from '../src-main/core/gguf/ggml-types.ts';
import { readGgufHeader } from '../src-main/core/gguf/reader.ts';
import { fp32ToFp16 } from '../src-main/core/quant/numeric.ts';
import { tinyLlama, syntheticKv, tensorTypeId } from '../test/support/synthetic-gguf.ts';
import { syntheticImatrix } from '../test/support/quant-parity.ts';
import { printCliStart } from './cli-start.ts';
import { benchEngine } from './engine.ts';
import { runMemoryEstimateBench } from './memory-estimate.ts';

const self = fileURLToPath(import.meta.url);
const root = fileURLToPath(new URL('..', import.meta.url));

/** The types; `imatrix` rows pass the same synthetic importance matrix to both sides. */
const CASES: ReadonlyArray<{ ftype: string; imatrix: boolean }> = [
  { ftype: 'Q8_0', imatrix: false }, { ftype: 'Q4_0', imatrix: false }, { ftype: 'Q4_K_M', imatrix: false },
  { ftype: 'Q5_K_M', imatrix: false }, { ftype: 'Q6_K', imatrix: false }, { ftype: 'IQ4_XS', imatrix: false },
  { ftype: 'IQ2_XS', imatrix: true },
];

interface ChildResult { seconds: number; maxRssMB: number }

// ---------------------------------------------------------------------------------------------
// Child side: one quantization, then its time and peak RSS as a JSON line.

async function child(mode: string, input: string, output: string, ftype: string, threads: number, withImatrix: boolean): Promise<void> {
  const imatrix = withImatrix ? syntheticImatrix(await readGgufHeader(input)) : undefined;
  const t0 = performance.now();
  if (mode === 'ours') {
    const { quantizeFile } = await import('../src-main/core/quant/pipeline.ts');
    await quantizeFile(input, output, { ftype, imatrix }, { threads });
  } else {
    const { loadQuantizeOracle } = await import('../test/support/llama-quantize-oracle.ts');
    const { parseFtype } = await import('../src-main/core/quant/ftypes.ts');
    const oracle = loadQuantizeOracle();
    if (!oracle) throw new Error('the llama.cpp oracle is not available on this platform');
    const r = oracle.quantize(input, output, { ftype: parseFtype(ftype).id, nthread: threads, imatrix });
    if (!r.ok) throw new Error(r.log);
  }
  const result: ChildResult = { seconds: (performance.now() - t0) / 1000, maxRssMB: process.resourceUsage().maxRSS / 1024 };
  console.log(JSON.stringify(result));
}

// ---------------------------------------------------------------------------------------------
// The model: tinyLlama's names, hparams and vocab at TinyLlama-like widths, written in slabs.

async function writeModel(path: string, nLayer: number): Promise<number> {
  const spec = tinyLlama({ nEmbd: 2048, nFf: 5632, nHead: 32, nHeadKv: 4, nVocab: 4096, nLayer, type: 'F16' });
  const tensors = spec.tensors.map((t) => ({ name: t.name, type: tensorTypeId(t.type), shape: t.shape }));
  const w = await GgufWriter.create(path, { kv: syntheticKv(spec), tensors });
  // Weight-like values: N(0, σ) with σ per tensor and ~1% outliers; norms near 1. xorshift32 and
  // Box–Muller keep 100M values to a few seconds.
  let s = 0x9e3779b9;
  const uniform = () => {
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    return ((s >>> 0) + 0.5) / 4294967296;
  };
  const slab = new Uint16Array(1 << 22);
  const slabF32 = new Float32Array(1 << 16);
  try {
    for (const [i, t] of tensors.entries()) {
      const n = t.shape.reduce((a, b) => a * b, 1);
      if (t.type === GgmlType.F32) {
        const v = n <= slabF32.length ? slabF32.subarray(0, n) : new Float32Array(n);
        for (let k = 0; k < n; k++) v[k] = 1 + 0.1 * (uniform() - 0.5);
        await w.writeTensorData(new Uint8Array(v.buffer, v.byteOffset, n * 4));
        continue;
      }
      const sigma = 0.01 + 0.03 * ((i * 0.618) % 1);
      for (let done = 0; done < n; done += slab.length) {
        const m = Math.min(slab.length, n - done);
        for (let k = 0; k < m; k += 2) {
          const r = Math.sqrt(-2 * Math.log(uniform()));
          const a = 2 * Math.PI * uniform();
          const o1 = uniform() < 0.01 ? 8 : 1;
          slab[k] = fp32ToFp16(r * Math.cos(a) * sigma * o1);
          if (k + 1 < m) slab[k + 1] = fp32ToFp16(r * Math.sin(a) * sigma);
        }
        await w.writeTensorData(new Uint8Array(slab.buffer, 0, m * 2));
      }
    }
    return (await w.finish()).bytes;
  } catch (err) {
    await w.abort();
    throw err;
  }
}

async function sha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

function runChild(mode: string, input: string, output: string, ftype: string, threads: number, imatrix: boolean): (ChildResult & { wall: number }) | string {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', self, '--child', mode, input, output, ftype, String(threads), imatrix ? '1' : '0'], { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 });
  const wall = (performance.now() - t0) / 1000;
  if (r.status !== 0) return `failed: ${(r.stderr || r.stdout).trim().split('\n').slice(-4).join(' | ')}`;
  const line = r.stdout.trim().split('\n').pop() ?? '';
  return { ...(JSON.parse(line) as ChildResult), wall };
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child') {
    const [mode, input, output, ftype, threads, imatrix] = process.argv.slice(3) as [string, string, string, string, string, string];
    await child(mode, input, output, ftype, Number(threads), imatrix === '1');
    return;
  }
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '2' }, threads: { type: 'string', default: '2' }, types: { type: 'string' },
      layers: { type: 'string', default: '2' }, dir: { type: 'string' }, keep: { type: 'boolean', default: false },
      'cli-start': { type: 'boolean', default: true },
      engine: { type: 'boolean', default: true },
      // The memory estimate against real loads (bench/memory-estimate.ts), after the other lines.
      memory: { type: 'boolean', default: true }, 'memory-only': { type: 'boolean', default: false },
      'memory-ctx': { type: 'string' }, 'memory-runs': { type: 'string' },
    },
    allowNegative: true,
  });
  const memory = () => runMemoryEstimateBench({
    ...(values['memory-ctx'] ? { contexts: values['memory-ctx'].split(',').map(Number) } : {}),
    ...(values['memory-runs'] ? { runs: Number(values['memory-runs']) } : {}),
  });
  if (values['memory-only']) {
    await memory();
    return;
  }
  if (values['cli-start']) await printCliStart(15);
  const rounds = Math.max(1, Number(values.rounds));
  const threads = Math.max(1, Number(values.threads));
  const only = values.types?.split(',').map((s) => s.trim().toUpperCase());
  const cases = CASES.filter((c) => !only || only.includes(c.ftype));
  const wasm = join(root, 'build/wasm/quant.wasm');
  console.log(`# kernels: ${process.env.QUANTFIT_NO_WASM === '1' ? 'TypeScript (QUANTFIT_NO_WASM=1)' : existsSync(wasm) ? 'WebAssembly where available' : 'TypeScript (build/wasm/quant.wasm missing: npm run build:wasm)'}`);

  const dir = await mkdtemp(join(values.dir ?? tmpdir(), 'quantfit-bench-'));
  try {
    const input = join(dir, 'model-f16.gguf');
    const t0 = performance.now();
    const bytes = await writeModel(input, Number(values.layers));
    console.log(`# input: ${(bytes / 1e6).toFixed(0)} MB F16 llama (n_embd 2048, n_ff 5632, ${values.layers} layers), written in ${((performance.now() - t0) / 1000).toFixed(1)} s; ${threads} threads, ${rounds} rounds`);
    console.log('type        ours s  llama.cpp s  ratio   ours RSS MB  llama.cpp RSS MB  ours wall s  identical');
    for (const c of cases) {
      const ours: ChildResult[] = [];
      const theirs: ChildResult[] = [];
      let oursWall = Infinity;
      let failure = '';
      const outOurs = join(dir, 'ours.gguf');
      const outTheirs = join(dir, 'theirs.gguf');
      for (let r = 0; r < rounds && !failure; r++) {
        for (const mode of r % 2 === 0 ? ['ours', 'llama.cpp'] : ['llama.cpp', 'ours']) {
          const res = runChild(mode, input, mode === 'ours' ? outOurs : outTheirs, c.ftype, threads, c.imatrix);
          if (typeof res === 'string') { failure = `${mode} ${res}`; break; }
          (mode === 'ours' ? ours : theirs).push(res);
          if (mode === 'ours') oursWall = Math.min(oursWall, res.wall);
        }
      }
      const label = `${c.ftype}${c.imatrix ? '+imat' : ''}`.padEnd(11);
      if (failure) {
        console.log(`${label} ${failure}`);
        continue;
      }
      const same = statSync(outOurs).size === statSync(outTheirs).size && (await sha256(outOurs)) === (await sha256(outTheirs));
      const best = (xs: ChildResult[]) => Math.min(...xs.map((x) => x.seconds));
      const rss = (xs: ChildResult[]) => Math.max(...xs.map((x) => x.maxRssMB));
      const a = best(ours);
      const b = best(theirs);
      console.log(
        `${label} ${a.toFixed(2).padStart(6)}  ${b.toFixed(2).padStart(11)}  ${(a / b).toFixed(2).padStart(5)}  ${rss(ours).toFixed(0).padStart(12)}  ${rss(theirs).toFixed(0).padStart(16)}  ${oursWall.toFixed(2).padStart(11)}  ${same ? 'yes' : 'NO'}`,
      );
      await rm(outOurs, { force: true });
      await rm(outTheirs, { force: true });
    }
    console.log('# seconds: best of the rounds; RSS: the largest; ratio < 1 means we are faster');
    // A Hugging Face folder → Q4_K_M in one pass against convert_hf_to_gguf.py + llama_model_quantize.
    const { convertBench } = await import('./convert-quantize.ts');
    await convertBench({ threads, ...(values.dir ? { dir: values.dir } : {}) });
  } finally {
    if (values.keep) console.log(`# kept ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }
  if (values.engine) await benchEngine({ threads, rounds, chunks: 8 });
  if (values.memory) await memory();
}

await main();

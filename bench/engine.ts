// Engine speed against llama.cpp's own tools on the same model, text, context and threads:
// `quantfit eval` against llama-perplexity (--kl-divergence-base, then --kl-divergence), and
// `quantfit imatrix` against llama-imatrix. Each side runs as a command in a child process (model
// loading included), alternating round after round; wall seconds, best of the rounds, and on Linux
// the CPU seconds of that run (steadier than wall time on a shared machine).
//
// imatrix runs three ways: on the F16 model; on its Q8_0; and, where llama-imatrix's own llama.cpp
// is a shared build, on the F16 model with quantfit loading that same build (QUANTFIT_LLAMA_LIB_DIR;
// eval too). The "same build" lines compare our code alone (same binaries on both sides); the others also compare
// node-llama-cpp's prebuilt llama.cpp with one compiled for this machine — its F16 matrix kernel keeps
// the accumulators on the stack (stored every step), which makes F16 models slower there.
//
// The model: a llama-shaped F16 model with random weights (n_embd 1024, n_ff 2816, 4 layers, 4096
// tokens), its Q4_K_M as the candidate; the text: the first 64 KiB of the shipped calibration text
// (the synthetic vocabulary tokenizes byte by byte, slowly, in both tools alike; 64 KiB is plenty).
//
// Usage (also the last part of `npm run bench`): node --import tsx bench/engine.ts [--threads N] [--rounds N] [--chunks N]

import { formatMessage } from '../src-shared/messages/index.ts';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { quantizeFile } from '../src-main/core/quant/pipeline.ts';
import { LLAMA_LIB_DIR_ENV, llamaUnavailableReason } from '../src-main/core/engine/llama.ts';
import { defaultCalibrationTextPath } from '../src-main/core/engine/calibration.ts';
import { tinyLlama, writeSyntheticGguf } from '../test/support/synthetic-gguf.ts';
import { findLlamaTool, llamaToolMissing, llamaToolsLibDir } from '../test/support/llama-tools.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const CTX = 512;

/** Wall and CPU seconds of one or more commands run one after the other. */
interface Timing {
  readonly wall: number;
  /** User + system seconds of the children (Linux: /proc/self/stat), or NaN where unknown. */
  readonly cpu: number;
}

/** CPU seconds of this process's waited-for children so far (Linux), else NaN. */
function childrenCpuSeconds(): number {
  try {
    // Fields after the command name: … utime stime cutime cstime (14th–17th of the whole line), in clock ticks.
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}
/** sysconf(_SC_CLK_TCK): 100 on every Linux Node runs on. */
const CLOCK_TICKS = 100;

function wall(command: string, args: string[], env: Record<string, string> = {}): Timing | string {
  const t0 = performance.now();
  const c0 = childrenCpuSeconds();
  const r = spawnSync(command, args, { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, ...env } });
  if (r.status !== 0) return `failed (${r.status}): ${`${r.stdout}${r.stderr}`.trim().split('\n').slice(-3).join(' | ')}`;
  return { wall: (performance.now() - t0) / 1000, cpu: childrenCpuSeconds() - c0 };
}

/** Runs both sides `rounds` times, alternating; the best wall time of each (with its CPU time), or why one failed. */
function race(rounds: number, ours: () => Timing | string, theirs: () => Timing | string): { ours: Timing; theirs: Timing } | string {
  const a: Timing[] = [];
  const b: Timing[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const side of r % 2 === 0 ? ['ours', 'theirs'] : ['theirs', 'ours']) {
      const t = side === 'ours' ? ours() : theirs();
      if (typeof t === 'string') return `${side === 'ours' ? 'quantfit' : 'llama.cpp'} ${t}`;
      (side === 'ours' ? a : b).push(t);
    }
  }
  const best = (ts: Timing[]) => ts.reduce((x, y) => (y.wall < x.wall ? y : x));
  return { ours: best(a), theirs: best(b) };
}

export async function benchEngine(options: { threads: number; rounds: number; chunks: number }): Promise<void> {
  const llama = llamaUnavailableReason();
  const unavailable = (llama && formatMessage(llama, 'en')) ?? llamaToolMissing('llama-perplexity') ?? llamaToolMissing('llama-imatrix');
  if (unavailable) {
    console.log(`# engine: skipped (${unavailable})`);
    return;
  }
  const { threads, rounds, chunks } = options;
  const dir = await mkdtemp(join(tmpdir(), 'quantfit-bench-engine-'));
  try {
    const text = join(dir, 'text.txt');
    await writeFile(text, (await readFile(defaultCalibrationTextPath())).subarray(0, 64 << 10));
    const f16 = join(dir, 'model-f16.gguf');
    const q4 = join(dir, 'model-q4_k_m.gguf');
    await writeSyntheticGguf(f16, tinyLlama({ nEmbd: 1024, nFf: 2816, nHead: 16, nHeadKv: 4, nLayer: 4, nVocab: 4096, nCtx: 4096, type: 'F16' }));
    await quantizeFile(f16, q4, { ftype: 'Q4_K_M' }, { threads });
    const quantfit = [join(root, 'bin/quantfit.mjs')];
    const common = ['--ctx', String(CTX), '--chunks', String(chunks), '--threads', String(threads)];
    const llamaCommon = ['-c', String(CTX), '--chunks', String(chunks), '-t', String(threads)];
    console.log(`# engine: F16 llama (n_embd 1024, 4 layers, 4096 tokens) and its Q4_K_M, ${chunks} chunks of ${CTX} tokens of ${text}; ${threads} threads, ${rounds} rounds`);
    console.log('task                      quantfit s  llama.cpp s  ratio');

    const toolsLib = llamaToolsLibDir();
    const evalRace = (env: Record<string, string> = {}) => race(
      rounds,
      // A fresh cache folder each round: the reference pass is part of what is measured.
      () => {
        const cache = join(dir, `cache-${performance.now()}`);
        return wall(process.execPath, [...quantfit, 'eval', f16, q4, '--text', text, '--cache-dir', cache, ...common], env);
      },
      () => {
        const base = join(dir, 'base.logits');
        const first = wall(findLlamaTool('llama-perplexity')!, ['-m', f16, '-f', text, ...llamaCommon, '--kl-divergence-base', base]);
        if (typeof first === 'string') return first;
        const second = wall(findLlamaTool('llama-perplexity')!, ['-m', q4, ...llamaCommon, '--kl-divergence-base', base, '--kl-divergence']);
        return typeof second === 'string' ? second : { wall: first.wall + second.wall, cpu: first.cpu + second.cpu };
      },
    );
    print('eval (reference + KLD)', evalRace());
    if (toolsLib) print('eval, same build', evalRace({ [LLAMA_LIB_DIR_ENV]: toolsLib }));

    const imatrixRace = (model: string, env: Record<string, string> = {}) => race(
      rounds,
      () => wall(process.execPath, [...quantfit, 'imatrix', model, '-o', join(dir, 'ours.imatrix.gguf'), '--force', '--text', text, ...common], env),
      () => wall(findLlamaTool('llama-imatrix')!, ['-m', model, '-f', text, ...llamaCommon, '-o', join(dir, 'theirs.imatrix.gguf')]),
    );
    print('imatrix F16', imatrixRace(f16));
    const q8 = join(dir, 'model-q8_0.gguf');
    await quantizeFile(f16, q8, { ftype: 'Q8_0' }, { threads });
    print('imatrix Q8_0', imatrixRace(q8));
    if (toolsLib) print('imatrix F16, same build', imatrixRace(f16, { [LLAMA_LIB_DIR_ENV]: toolsLib }));
    else console.log(`imatrix F16, same build   skipped (llama-imatrix's llama.cpp is not a shared build beside it)`);
    console.log('# wall seconds of the whole command (model loading included), best of the rounds, CPU seconds of those runs;');
    console.log('# ratio < 1 means quantfit is faster. "same build": quantfit loads llama-imatrix\'s own llama.cpp (QUANTFIT_LLAMA_LIB_DIR)');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function print(task: string, r: { ours: Timing; theirs: Timing } | string): void {
  if (typeof r === 'string') {
    console.log(`${task.padEnd(25)} ${r}`);
    return;
  }
  const { ours, theirs } = r;
  const cpu = Number.isNaN(ours.cpu) || Number.isNaN(theirs.cpu) ? '' : `   cpu ${ours.cpu.toFixed(1)} s / ${theirs.cpu.toFixed(1)} s = ${(ours.cpu / theirs.cpu).toFixed(2)}`;
  console.log(`${task.padEnd(25)} ${ours.wall.toFixed(2).padStart(10)}  ${theirs.wall.toFixed(2).padStart(11)}  ${(ours.wall / theirs.wall).toFixed(2).padStart(5)}${cpu}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({ options: { threads: { type: 'string', default: '2' }, rounds: { type: 'string', default: '2' }, chunks: { type: 'string', default: '8' } } });
  await benchEngine({ threads: Number(values.threads), rounds: Number(values.rounds), chunks: Number(values.chunks) });
}

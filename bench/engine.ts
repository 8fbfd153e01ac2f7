// Engine speed against llama.cpp's own tools on the same model, text, context and threads:
// `quantfit eval` against llama-perplexity (--kl-divergence-base, then --kl-divergence), and
// `quantfit imatrix` against llama-imatrix. Each side runs as a command in a child process (model
// loading included), alternating round after round; wall seconds, best of the rounds.
//
// The model: a llama-shaped F16 model with random weights (n_embd 1024, n_ff 2816, 4 layers, 4096
// tokens), its Q4_K_M as the candidate; the text: the first 64 KiB of the shipped calibration text
// (the synthetic vocabulary tokenizes byte by byte, slowly, in both tools alike; 64 KiB is plenty).
//
// Usage (also the last part of `npm run bench`): node --import tsx bench/engine.ts [--threads N] [--rounds N] [--chunks N]

import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { quantizeFile } from '../src-main/core/quant/pipeline.ts';
import { llamaUnavailableReason } from '../src-main/core/engine/llama.ts';
import { defaultCalibrationTextPath } from '../src-main/core/engine/calibration.ts';
import { tinyLlama, writeSyntheticGguf } from '../test/support/synthetic-gguf.ts';
import { findLlamaTool, llamaToolMissing } from '../test/support/llama-tools.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const CTX = 512;

function wall(command: string, args: string[]): number | string {
  const t0 = performance.now();
  const r = spawnSync(command, args, { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) return `failed (${r.status}): ${`${r.stdout}${r.stderr}`.trim().split('\n').slice(-3).join(' | ')}`;
  return (performance.now() - t0) / 1000;
}

/** Runs both sides `rounds` times, alternating; the best wall time of each, or why one failed. */
function race(rounds: number, ours: () => number | string, theirs: () => number | string): { ours: number; theirs: number } | string {
  const a: number[] = [];
  const b: number[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const side of r % 2 === 0 ? ['ours', 'theirs'] : ['theirs', 'ours']) {
      const t = side === 'ours' ? ours() : theirs();
      if (typeof t === 'string') return `${side === 'ours' ? 'quantfit' : 'llama.cpp'} ${t}`;
      (side === 'ours' ? a : b).push(t);
    }
  }
  return { ours: Math.min(...a), theirs: Math.min(...b) };
}

export async function benchEngine(options: { threads: number; rounds: number; chunks: number }): Promise<void> {
  const unavailable = llamaUnavailableReason() ?? llamaToolMissing('llama-perplexity') ?? llamaToolMissing('llama-imatrix');
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

    const evalRace = race(
      rounds,
      // A fresh cache folder each round: the reference pass is part of what is measured.
      () => {
        const cache = join(dir, `cache-${performance.now()}`);
        return wall(process.execPath, [...quantfit, 'eval', f16, q4, '--text', text, '--cache-dir', cache, ...common]);
      },
      () => {
        const base = join(dir, 'base.logits');
        const first = wall(findLlamaTool('llama-perplexity')!, ['-m', f16, '-f', text, ...llamaCommon, '--kl-divergence-base', base]);
        if (typeof first === 'string') return first;
        const second = wall(findLlamaTool('llama-perplexity')!, ['-m', q4, ...llamaCommon, '--kl-divergence-base', base, '--kl-divergence']);
        return typeof second === 'string' ? second : first + second;
      },
    );
    print('eval (reference + KLD)', evalRace);

    const imatrixRace = race(
      rounds,
      () => wall(process.execPath, [...quantfit, 'imatrix', f16, '-o', join(dir, 'ours.imatrix.gguf'), '--force', '--text', text, ...common]),
      () => wall(findLlamaTool('llama-imatrix')!, ['-m', f16, '-f', text, ...llamaCommon, '-o', join(dir, 'theirs.imatrix.gguf')]),
    );
    print('imatrix', imatrixRace);
    console.log('# wall seconds of the whole command (model loading included), best of the rounds; ratio < 1 means quantfit is faster');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function print(task: string, r: { ours: number; theirs: number } | string): void {
  if (typeof r === 'string') console.log(`${task.padEnd(25)} ${r}`);
  else console.log(`${task.padEnd(25)} ${r.ours.toFixed(2).padStart(10)}  ${r.theirs.toFixed(2).padStart(11)}  ${(r.ours / r.theirs).toFixed(2).padStart(5)}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({ options: { threads: { type: 'string', default: '2' }, rounds: { type: 'string', default: '2' }, chunks: { type: 'string', default: '8' } } });
  await benchEngine({ threads: Number(values.threads), rounds: Number(values.rounds), chunks: Number(values.chunks) });
}

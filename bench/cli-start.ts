// Start-up of the `quantfit` CLI as a user runs it (`node bin/quantfit.mjs …`, without npx's own
// start-up): median wall time of `inspect <small.gguf> --json` and `recommend <small.gguf>` against a
// bare `node -e 0` measured in the same rounds (interleaved, so a busy machine slows all alike).
// The first round is shown apart: it is what a user meets right after `npm install`. `recommend` runs
// twice: as usual (the CPU and GPU list kept from earlier in this boot, core/hardware/boot-cache.ts)
// and as the first run after a boot (an empty cache folder each time: systeminformation's full probe).
// Goal (issue 10): inspect ≤ 100 ms, recommend ≤ 150 ms.
// Usage: node --import tsx bench/cli-start.ts [rounds, default 15] [model.gguf]   (also part of `npm run bench`)

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeTempDir, removeTempDir, tinyLlama, writeSyntheticGguf } from '../test/support/synthetic-gguf.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = fileURLToPath(new URL('../bin/quantfit.mjs', import.meta.url));
const defaultModel = fileURLToPath(new URL('../../shared/fixtures/stories260K.gguf', import.meta.url));

interface Case {
  readonly label: string;
  readonly args: readonly string[];
  /** Run with an empty cache folder (XDG_CACHE_HOME), as the first run after a boot. */
  readonly newBoot?: boolean;
}

/** The environment of the measured runs: the compiled CLI, whatever the caller set. */
function cliEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.QUANTFIT_CLI_SOURCES;
  return env;
}

/** Wall milliseconds of one run; throws with its stderr when it fails. */
function wallMs(args: readonly string[], newBoot = false): number {
  const cache = newBoot ? mkdtempSync(join(tmpdir(), 'quantfit-cli-start-')) : undefined;
  const env = cache === undefined ? cliEnv() : { ...cliEnv(), XDG_CACHE_HOME: cache };
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20, env });
  const ms = performance.now() - t0;
  if (cache !== undefined) rmSync(cache, { recursive: true, force: true });
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  return ms;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Medians per case (and each case's first run), measured round-robin. */
export function measureCliStart(rounds: number, model: string): Array<{ label: string; first: number; median: number }> {
  const cases: Case[] = [
    { label: 'node -e 0', args: ['-e', '0'] },
    { label: 'inspect --json', args: [bin, 'inspect', model, '--json'] },
    { label: 'recommend', args: [bin, 'recommend', model] },
    { label: 'recommend, new boot', args: [bin, 'recommend', model], newBoot: true },
  ];
  const times = cases.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) {
    for (const [i, c] of cases.entries()) times[i]!.push(wallMs(c.args, c.newBoot));
  }
  return cases.map((c, i) => ({ label: c.label, first: times[i]![0]!, median: median(times[i]!) }));
}

/**
 * Builds the CLI (so the compiled one is measured, not the sources) and prints the table. The model
 * is stories260K from ../shared, or a tiny synthetic llama when that is absent.
 */
export async function printCliStart(rounds: number, model?: string): Promise<void> {
  const build = spawnSync(process.execPath, ['scripts/build-cli.mjs'], { cwd: root, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`build-cli failed: ${build.stderr}`);
  let dir: string | undefined;
  if (model === undefined && existsSync(defaultModel)) model = defaultModel;
  if (model === undefined) {
    dir = await makeTempDir('cli-start');
    model = join(dir, 'tiny.gguf');
    await writeSyntheticGguf(model, tinyLlama({ nEmbd: 64, nLayer: 2, nHead: 4, nHeadKv: 2, nFf: 128, nVocab: 256, type: 'F32' }));
  }
  try {
    printRows(rounds, model);
  } finally {
    if (dir) await removeTempDir(dir);
  }
}

function printRows(rounds: number, model: string): void {
  const rows = measureCliStart(rounds, model);
  const bare = rows[0]!.median;
  console.log(`# CLI start-up: node bin/quantfit.mjs (compiled, out/cli) on ${model}, ${rounds} rounds (goal: inspect ≤ 100 ms, recommend ≤ 150 ms)`);
  console.log('command             first ms  median ms  × bare node');
  for (const row of rows) {
    console.log(`${row.label.padEnd(18)}  ${row.first.toFixed(0).padStart(8)}  ${row.median.toFixed(0).padStart(9)}  ${(row.median / bare).toFixed(2).padStart(11)}`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await printCliStart(Math.max(1, Number(process.argv[2] ?? 15)), process.argv[3]);
}

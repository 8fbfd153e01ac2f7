// One engine pass, measured: run as a child process (its peak RSS is its own). Runs `imatrix` or `eval`
// (the model against itself) through core/engine at chunks of CTX tokens and prints one JSON line: the RSS
// before the pass and the process's peak RSS (getrusage), in bytes.
// Usage: node --import tsx bench/support/engine-probe.ts imatrix|eval MODEL TEXT CTX CHUNKS WORKDIR

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeImatrix } from '../../src-main/core/engine/imatrix.ts';
import { evaluateQuant } from '../../src-main/core/engine/eval.ts';

export interface EngineProbeResult {
  readonly baselineRss: number;
  readonly peakRss: number;
}

const [pass, model, textFile, ctxArg, chunksArg, workDir] = process.argv.slice(2) as [string, string, string, string, string, string];
const text = await readFile(textFile, 'utf8');
const ctx = Number(ctxArg);
const chunks = Number(chunksArg);
const baselineRss = process.memoryUsage().rss;
if (pass === 'imatrix') {
  await makeImatrix(model, join(workDir, 'probe.imatrix.gguf'), { text, textFile, ctx, chunks, workDir });
} else {
  await evaluateQuant(model, model, { text, textFile, ctx, chunks, cacheDir: workDir });
}
// ru_maxrss is in kilobytes on Linux, Node reports it as such.
const result: EngineProbeResult = { baselineRss, peakRss: process.resourceUsage().maxRSS * 1024 };
console.log(JSON.stringify(result));

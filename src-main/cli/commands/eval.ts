// `quantfit eval REFERENCE CANDIDATE`: what llama-perplexity --kl-divergence reports, on real llama.cpp.

import { dirname } from 'node:path';
import { parseCommandArgs } from '../args.ts';
import { ENGINE_RUN_OPTIONS, engineRunNumbers, runCancellable } from '../engine-run.ts';
import { DEFAULT_EVAL_CHUNKS, DEFAULT_EVAL_CTX, evaluateQuant, type EvalResult } from '../../core/engine/eval.ts';
import { readCalibrationText } from '../../core/engine/text.ts';
import { defaultCalibrationTextPath } from '../../core/engine/calibration.ts';
import { msg } from '../../../src-shared/messages/index.ts';
import { say } from '../locale.ts';

export const help = msg('help.eval', { ctx: DEFAULT_EVAL_CTX, chunks: DEFAULT_EVAL_CHUNKS });

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    args,
    { ...ENGINE_RUN_OPTIONS, 'cache-dir': { type: 'string' } },
    { min: 2, max: 2, names: 'quantfit eval <reference> <candidate>' },
  );
  const [reference, candidate] = positionals as [string, string];
  const { ctx, chunks, threads } = engineRunNumbers(values);
  const { text, file } = await readCalibrationText(values.text ?? defaultCalibrationTextPath());

  const result = await runCancellable((run) => evaluateQuant(reference, candidate, {
    text, textFile: file, ctx, chunks, threads, cacheDir: values['cache-dir'] ?? dirname(candidate), ...run,
  }));
  process.stdout.write(values.json ? `${JSON.stringify(toJson(result))}\n` : describe(result, reference, candidate));
  return 0;
}

export function toJson(r: EvalResult) {
  return {
    ctx: r.ctx, chunks: r.chunks, tokens: r.tokens,
    reference: { ppl: r.reference.ppl }, candidate: { ppl: r.candidate.ppl },
    kld: { mean: r.kld.mean, median: r.kld.median, p99: r.kld.p99, max: r.kld.max },
    sameTopP: r.sameTopP, rmsDeltaP: r.rmsDeltaP,
  };
}

function describe(r: EvalResult, reference: string, candidate: string): string {
  const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
  const change = r.candidate.ppl / r.reference.ppl - 1;
  const f6 = (v: number) => v.toFixed(6);
  const summary = { chunks: r.chunks, ctx: r.ctx, tokens: r.tokens, path: r.referenceCache.path };
  return [
    say(msg('engine.eval.reference', { ppl: r.reference.ppl.toFixed(4), file: reference })),
    say(msg('engine.eval.candidate', { ppl: r.candidate.ppl.toFixed(4), file: candidate, change: `${change >= 0 ? '+' : ''}${pct(change)}` })),
    say(msg('engine.eval.kld', { mean: f6(r.kld.mean), median: f6(r.kld.median), p99: f6(r.kld.p99), max: f6(r.kld.max) })),
    say(msg('engine.eval.top', { same: pct(r.sameTopP), rms: pct(r.rmsDeltaP) })),
    say(msg(r.referenceCache.reused ? 'engine.eval.summaryReused' : 'engine.eval.summarySaved', summary)),
    '',
  ].join('\n');
}

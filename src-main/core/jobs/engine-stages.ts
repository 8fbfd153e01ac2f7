// The fit's stages on real llama.cpp (core/engine), for a GGUF or a Hugging Face folder input (which
// job.models converts for llama.cpp once, when a stage first needs it):
//   imatrix   makeFitImatrix(): when the chosen type needs an importance matrix and none was given,
//             one is computed over the calibration text and kept beside the output
//   evaluate  checkFitQuality(): with `checkQuality`, the output's KL divergence and perplexity
//             against the input, as llama-perplexity --kl-divergence measures them
// The advisor may then recommend the imatrix-only types (IQ2_XS, IQ3_XXS, Q2_K_S…) by itself.
// Like 'source', a stage with nothing to do for this job says nothing (no 'skipped' event).

import { join } from 'node:path';
import { evaluateQuant } from '../engine/eval.ts';
import { makeImatrix } from '../engine/imatrix.ts';
import { typeNeedsImatrix } from '../engine/measure.ts';
import { llamaUnavailableReason } from '../engine/llama.ts';
import { defaultCalibrationTextPath } from '../engine/calibration.ts';
import { readCalibrationText } from '../engine/text.ts';
import { pathExists } from '../fs-util.ts';
import { imatrixKvOverrides, loadImatrix, type Imatrix } from '../imatrix/index.ts';
import type { Ftype } from '../quant/ftypes.ts';
import { planQuantization } from '../quant/policy.ts';
import type { GgufHeader } from '../gguf/types.ts';
import type { FitQuality } from '../../../src-shared/types/fit.ts';
import type { Message } from '../../../src-shared/message.ts';
import { fileStem } from './default-names.ts';
import { msg } from '../../../src-shared/messages/index.ts';
import { makeOutputFolder, type FitContext, type FitOutput, type FitTarget, type SourceModel } from './fit-stages.ts';

/** Chunks of 512 tokens the fit's importance matrix is computed over (~16k tokens: minutes for a 7B model on a CPU). */
export const FIT_IMATRIX_CHUNKS = 32;
/** Chunks of 512 tokens the fit's quality check scores (~4k tokens scored). */
export const FIT_EVAL_CHUNKS = 16;
/** Chunk size (tokens) of the fit's llama.cpp passes. */
export const FIT_ENGINE_CTX = 512;

/** Why this job cannot compute an importance matrix itself, or undefined when it can (a folder input can: it is converted for llama.cpp). */
export function cannotMakeImatrix(job: FitContext): Message | undefined {
  if (job.request.makeImatrix === false) return msg('engine.fit.imatrixNotAsked');
  return llamaUnavailableReason();
}

/** True when the 'imatrix' stage will compute one: the type needs it, none was given, and it can. */
export function willMakeImatrix(job: FitContext, source: SourceModel, ftype: Ftype): boolean {
  return source.imatrix === null && typeNeedsImatrix(source.header, ftype) && cannotMakeImatrix(job) === undefined;
}

/** Stage 'imatrix': the target with the importance matrix it needs (computed now, or reused from an earlier run). */
export async function makeFitImatrix(job: FitContext, source: SourceModel, target: FitTarget): Promise<FitTarget> {
  const { runner, request } = job;
  if (!target.makeImatrix || target.plan === null) return target;
  const path = join(job.outDir, `${fileStem(request.source?.stem ?? job.input)}.imatrix.gguf`);
  let imatrix = await reusableImatrix(path, source.header);
  if (imatrix) {
    runner.skip('imatrix', msg('engine.fit.imatrixReused', { file: path, entries: imatrix.entries.size }));
  } else {
    const { text, file } = await readCalibrationText(defaultCalibrationTextPath());
    runner.start('imatrix', msg('engine.fit.imatrixStart', { type: target.typeName, file }));
    await makeOutputFolder(job, job.outDir);
    releaseModelsOnStop(job);
    const data = await makeImatrix(job.input, path, {
      text, textFile: file, ctx: FIT_ENGINE_CTX, chunks: FIT_IMATRIX_CHUNKS, models: job.models,
      ...(request.threads ? { threads: request.threads } : {}), signal: runner.signal, onEvent: runner.emit,
    });
    imatrix = await loadImatrix(path);
    runner.done('imatrix', msg('engine.imatrix.done', { file: path, entries: data.entries.size, chunks: data.chunkCount, ctx: data.chunkSize }));
  }
  const quantizeOptions = { ...target.quantizeOptions, imatrix: imatrix.entries, overrideKv: [...(target.quantizeOptions.overrideKv ?? []), ...imatrixKvOverrides(imatrix)] };
  // Planned again: the output's metadata now records the matrix (quantize.imatrix.*).
  return { ...target, quantizeOptions, plan: planQuantization(source.header, quantizeOptions), imatrixPath: path };
}

/** A matrix an earlier run left at `path` for this model: every entry names one of its tensors. */
async function reusableImatrix(path: string, header: GgufHeader): Promise<Imatrix | null> {
  if (!(await pathExists(path))) return null;
  try {
    const m = await loadImatrix(path);
    const names = new Set(header.tensors.map((t) => t.name));
    return m.entries.size > 0 && [...m.entries.keys()].every((n) => names.has(n)) ? m : null;
  } catch {
    return null;
  }
}

/**
 * A folder input is converted for llama.cpp (into the output folder, made by then) at most once per
 * job; a job that stops removes the conversion before its output folder (the later undo runs first).
 * A finished job releases it after 'evaluate' (runFitJob).
 */
function releaseModelsOnStop(job: FitContext): void {
  job.runner.onStop(() => job.models.release());
}

/**
 * Why the 'evaluate' stage will not score this job's output: null when it will; `undefined` when it was
 * not asked to (no `checkQuality`), a Message when asked but it cannot. The one rule the stage, the room
 * check and the conversion count all follow.
 */
export function cannotEvaluate(job: FitContext, target: Pick<FitTarget, 'plan'>): Message | null | undefined {
  if (job.request.checkQuality !== true) return undefined;
  if (target.plan === null) return msg('engine.fit.nothingQuantized');
  const unavailable = llamaUnavailableReason();
  return unavailable !== undefined ? msg('engine.unavailable', { reason: unavailable }) : null;
}

/** Stage 'evaluate': with `checkQuality`, the output against the input (KL divergence, perplexity). */
export async function checkFitQuality(job: FitContext, source: SourceModel, target: FitTarget, output: FitOutput): Promise<FitQuality | null> {
  const { runner, request } = job;
  const why = cannotEvaluate(job, target);
  if (why === undefined) return null;
  if (why !== null) {
    runner.skip('evaluate', msg('engine.fit.evaluateSkipped', { reason: why }));
    return null;
  }
  const { text, file } = await readCalibrationText(defaultCalibrationTextPath());
  runner.start('evaluate', msg('engine.fit.evaluateStart', { output: output.path, input: job.input, file }));
  releaseModelsOnStop(job);
  const r = await evaluateQuant(job.input, output.path, {
    text, textFile: file, ctx: FIT_ENGINE_CTX, chunks: FIT_EVAL_CHUNKS, cacheDir: job.outDir, models: job.models,
    ...(request.threads ? { threads: request.threads } : {}), signal: runner.signal, onEvent: runner.emit,
  });
  const quality: FitQuality = {
    ctx: r.ctx, chunks: r.chunks, tokens: r.tokens, reference: { ppl: r.reference.ppl }, candidate: { ppl: r.candidate.ppl },
    kld: { mean: r.kld.mean, median: r.kld.median, p99: r.kld.p99, max: r.kld.max }, sameTopP: r.sameTopP, rmsDeltaP: r.rmsDeltaP,
  };
  runner.info('evaluate', msg(r.referenceCache.reused ? 'engine.fit.cacheReused' : 'engine.fit.cacheKept', { path: r.referenceCache.path }));
  runner.done('evaluate', msg('engine.fit.evaluateDone', {
    kld: quality.kld.mean.toFixed(4), p99: quality.kld.p99.toFixed(3), same: `${(100 * quality.sameTopP).toFixed(1)}%`,
    ppl: quality.candidate.ppl.toFixed(3), reference: quality.reference.ppl.toFixed(3),
  }));
  return quality;
}

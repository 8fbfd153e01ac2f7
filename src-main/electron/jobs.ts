// The job registry: which core work runs for each job kind. The host dispatches to it, so a new
// kind (or the core's own fit job) plugs in here without touching the protocol.
import { readFile } from 'node:fs/promises';
import type { FitResult } from '../contract.ts';
import { QuantfitError, throwIfAborted } from '../core/errors.ts';
import { parseLegacyImatrix } from '../core/imatrix/legacy.ts';
import { normaliseImatrix } from '../core/imatrix/normalise.ts';
import { registerGguf } from '../core/ollama/register.ts';
import { quantizeFile } from '../core/quant/pipeline.ts';
import type { JobContext, JobInput, JobRegistry } from './job-protocol.ts';

async function loadImatrix(path: string): Promise<ReadonlyMap<string, Float32Array>> {
  if (path.toLowerCase().endsWith('.gguf')) {
    throw new QuantfitError('GGUF importance matrices are not supported by the app yet; use a legacy .dat file', { file: path });
  }
  return normaliseImatrix(parseLegacyImatrix(new Uint8Array(await readFile(path)), path), path).entries;
}

async function quantizeJob(input: JobInput, ctx: JobContext): Promise<FitResult> {
  const started = performance.now();
  const { request } = input;
  const imatrix = request.imatrixPath ? await loadImatrix(request.imatrixPath) : undefined;
  const r = await quantizeFile(
    request.modelPath,
    input.outputPath,
    { ftype: request.type, ...(imatrix ? { imatrix } : {}) },
    { ...(input.threads > 0 ? { threads: input.threads } : {}), signal: ctx.signal, onEvent: ctx.onEvent },
  );
  ctx.onEvent({ type: 'stage', stage: 'quantize', status: 'done' });
  return {
    outputPath: r.out,
    fileBytes: r.bytes,
    sha256: r.sha256,
    type: r.plan.ftype.name,
    elapsedMs: Math.round(performance.now() - started),
    model: null,
    modelfilePath: null,
    verify: null,
    warnings: [],
  };
}

/** Quantize, then upload, create and verify in Ollama. The finished GGUF stays if Ollama fails. */
async function fitJob(input: JobInput, ctx: JobContext): Promise<FitResult> {
  const started = performance.now();
  const q = await quantizeJob(input, ctx);
  throwIfAborted(ctx.signal);
  const { request } = input;
  const reg = await registerGguf(
    {
      ggufPath: q.outputPath,
      name: request.modelName,
      host: input.ollamaHost,
      sha256: q.sha256,
      numCtx: request.contextLength,
      force: request.force,
      verify: true,
      ...(request.predictedBytes !== null ? { predictedBytes: request.predictedBytes } : {}),
    },
    { signal: ctx.signal, onEvent: ctx.onEvent },
  );
  return {
    ...q,
    elapsedMs: Math.round(performance.now() - started),
    model: reg.model,
    modelfilePath: reg.modelfilePath,
    verify: reg.verify,
    warnings: [...reg.warnings],
  };
}

export const JOB_REGISTRY: JobRegistry = {
  quantize: quantizeJob,
  fit: fitJob,
};

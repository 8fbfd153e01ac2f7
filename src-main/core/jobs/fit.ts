// The fit job: one cancellable job with one stream of JobEvents that takes a GGUF from "a file on
// disk" to "a model in Ollama that answered a test prompt", as the stages of JOB_STAGES
// (src-shared/stages.ts) in order — runFitJob below reads as that list. The fit's own stages are in
// fit-stages.ts, the Ollama ones (shared with `quantfit import`) in core/ollama/register-stages.ts.
// The CLI (`quantfit fit`) and the Electron job host both call runFitJob.
//
// What a failure leaves: never a temp file (the writer removes its partial output, the modelfile
// stage its temp Modelfile). A quantized GGUF that was finished before a later Ollama step failed or was
// cancelled is KEPT: it is a complete, valid output, and re-quantizing can take an hour; the error
// names it and says how to register it (`quantfit import`). A blob uploaded without a model using it
// stays on the Ollama side until Ollama prunes it at its next start (there is no API to delete a
// blob); the error says so. A model this run created is removed again when the job is cancelled
// during verification, so a cancelled job never leaves a model behind; a model replaced with `force`
// is not (the old one is gone by then).

import { dirname, join, resolve } from 'node:path';
import { CancelledError, QuantfitError, errorMessage } from '../errors.ts';
import { ORPHAN_BLOB_NOTE, sha256File } from '../ollama/blobs.ts';
import type { OllamaClient } from '../ollama/client.ts';
import { requireServer } from '../ollama/register.ts';
import { createModel, uploadModelBlob, verifyCreated, writeModelfile, type Registration, type RegisterStageContext } from '../ollama/register-stages.ts';
import type { JobEvent, Stage } from '../progress.ts';
import { JOB_STAGES } from '../../../src-shared/stages.ts';
import type { FitRequest, FitResult } from '../../../src-shared/types/fit.ts';
import { fileStem } from './default-names.ts';
import { importCommand, inspectSource, planFit, quantizeOutput, type FitContext, type FitOutput, type FitTarget, type SourceModel } from './fit-stages.ts';
import { StageRunner, english, stageName, type JobRecord } from './runner.ts';
import type { Message } from '../../../src-shared/message.ts';
import { msg } from '../../../src-shared/messages/index.ts';
import { checkFitQuality, makeFitImatrix } from './engine-stages.ts';
import { EngineModels } from '../engine/model-input.ts';
import type { FitQuality } from '../../../src-shared/types/fit.ts';
import { parseModelReference } from '../sources/reference.ts';
import { fitSourceOf, resolveModelReference } from '../sources/resolve.ts';

// The default names live in a Node-free module the app's renderer shares; callers import them from here too.
export { defaultModelName, defaultOutputName } from './default-names.ts';

// The request and result shapes live in src-shared (the app sends and shows them).
export type { FitRequest, FitResult, FitSource } from '../../../src-shared/types/fit.ts';

export interface FitJobContext {
  readonly signal?: AbortSignal;
  readonly onEvent?: (e: JobEvent) => void;
  /** A client to use instead of one built from `request.host` (the app's shared client, tests). */
  readonly client?: OllamaClient;
}

/** How far a failed or cancelled job got: what exists now because of it. */
export interface FitOutcome {
  /** The stage running when the job stopped. */
  readonly stage: Stage;
  /** A finished quantized GGUF that was kept, or null. */
  readonly keptOutput: string | null;
  /** The name to register keptOutput under (what `quantfit import --name` needs). */
  readonly modelName: string | null;
  /** True when a blob of the GGUF reached Ollama (upload done or already there). */
  readonly blobOnServer: boolean;
  /** sha256 of that blob, when known. */
  readonly blobSha256: string | null;
  /** The model created and still in Ollama, or null. */
  readonly model: string | null;
  /** The model this run created and removed again because the job was cancelled. */
  readonly removedModel: string | null;
}

/** A fit that failed; the message says what failed and what was (not) done. */
export class FitError extends QuantfitError {
  constructor(text: Message, readonly outcome: FitOutcome, options?: { cause?: unknown }) {
    super(english(text), {}, { ...options, code: text.code, ...(text.params ? { params: text.params } : {}) });
    this.name = 'FitError';
  }
}

/** A fit cancelled through its AbortSignal; the message says what was kept. */
export class FitCancelledError extends CancelledError {
  constructor(text: Message, readonly outcome: FitOutcome) {
    super(english(text), { code: text.code, ...(text.params ? { params: text.params } : {}) });
    this.name = 'FitCancelledError';
  }
}

export async function runFitJob(request: FitRequest, ctx: FitJobContext = {}): Promise<FitResult> {
  const started = performance.now();
  const runner = new StageRunner(ctx.signal, ctx.onEvent);
  try {
    const local = await runner.run('source', () => resolveSource(request, runner, ctx.client ?? null));
    const job = fitContext(local, runner, ctx.client ?? null);
    const source = await runner.run('inspect', () => inspectSource(job));
    const advised = await runner.run('advise', () => planFit(job, source));
    const target = await runner.run('imatrix', () => makeFitImatrix(job, source, advised));
    const output = await runner.run('quantize', () => quantizeOutput(job, source, target));
    const quality = await runner.run('evaluate', () => checkFitQuality(job, source, target, output));
    await job.models.release();
    if (source.ollama === null || target.modelName === null) return await unregistered(job, source, target, output, quality, started);

    const rc: RegisterStageContext = { runner, client: source.ollama.client };
    const reg = await registration(job, rc, target, output, target.modelName);
    const draft = await runner.run('modelfile', () => writeModelfile(rc, reg));
    const blob = await runner.run('upload', () => uploadModelBlob(rc, reg));
    const created = await runner.run('create', () => createModel(rc, reg, draft, blob));
    const checked = await runner.run('verify', () => verifyCreated(rc, reg, created));
    return {
      ...resultBase(job, source, target, output, quality, started),
      outputPath: reg.file, sha256: blob.sha256, model: created.model, modelfilePath: created.modelfilePath,
      verify: checked.verify, uploaded: blob.uploaded, verifyError: checked.verifyError,
    };
  } catch (err) {
    throw await stopped(runner, err);
  } finally {
    runner.dispose();
  }
}

/**
 * The 'source' stage: a model reference becomes a local file (downloaded into the hub's cache, or
 * Ollama's blob read in place), with what the fit keeps from where it came from; outputs then go to
 * the current folder, never next to Ollama's or the cache's files. A plain path passes unchanged.
 */
async function resolveSource(request: FitRequest, runner: StageRunner, client: OllamaClient | null): Promise<FitRequest> {
  const ref = parseModelReference(request.modelPath);
  if (ref.kind === 'path') return request;
  if (ref.kind === 'ollama') runner.start('source', msg('common.text', { text: `ollama:${ref.name}` }));
  const model = await resolveModelReference(ref, {
    ...(runner.signal ? { signal: runner.signal } : {}),
    onEvent: runner.emit,
    ...(request.pull ? { pull: true } : {}),
    ...(request.host ? { ollamaHost: request.host } : {}),
    ...(client && ref.kind === 'ollama' ? { ollamaClient: client } : {}),
    ...(request.sourceFiles && request.sourceFiles.length > 0 ? { files: request.sourceFiles } : {}),
  });
  if (ref.kind === 'ollama') runner.done('source', msg('fit.source.readInPlace', { path: model.path }));
  return {
    ...request,
    modelPath: model.path,
    source: request.source ?? fitSourceOf(model),
    outputDir: request.outputDir ?? (request.outputPath ? null : model.outputDir),
  };
}

function fitContext(request: FitRequest, runner: StageRunner, client: OllamaClient | null): FitContext {
  const input = resolve(request.modelPath);
  const outDir = request.outputPath ? dirname(resolve(request.outputPath)) : resolve(request.outputDir ?? dirname(input));
  const force = request.force === true;
  return {
    request,
    runner,
    input,
    outDir,
    register: request.register !== false,
    force,
    replaceOutput: request.replaceOutput ?? force,
    client,
    models: new EngineModels({ workDir: outDir, ...(request.source ? { nameFrom: request.source.stem } : {}) }),
  };
}

/**
 * What the Ollama stages register: the output as written, with the writer's sha256 and metadata.
 * Quantizing can take an hour, so first the server is asked again whether it is still there.
 */
async function registration(job: FitContext, rc: RegisterStageContext, target: FitTarget, output: FitOutput, modelName: string): Promise<Registration> {
  const { request, runner } = job;
  const serverVersion = await requireServer(rc.client, runner.signal, { start: request.startOllama === true, onEvent: runner.emit });
  return {
    file: output.path,
    fileSize: target.fileBytes,
    model: modelName,
    replacing: target.replacing,
    kv: output.kv,
    sha256: output.sha256,
    numCtx: target.ctxTokens,
    // An Ollama source's system prompt, template, options and licence go with it (its bare default
    // is no template).
    system: request.system || request.source?.system || null,
    template: request.source?.template && request.source.template !== '{{ .Prompt }}' ? request.source.template : null,
    parameters: request.source?.parameters ?? {},
    license: request.source?.license ?? [],
    serverVersion,
    goTemplate: request.goTemplate === true,
    modelfilePath: join(job.outDir, `${fileStem(output.path)}.Modelfile`),
    verify: request.verify !== false,
    verifyPrompt: null,
    predictedBytes: target.predictedBytes,
    takeBackOnCancel: true,
  };
}

/** Quantize only: the Ollama stages are skipped (walking the same list), the digest still reported. */
async function unregistered(job: FitContext, source: SourceModel, target: FitTarget, output: FitOutput, quality: FitQuality | null, started: number): Promise<FitResult> {
  const { runner } = job;
  for (const stage of JOB_STAGES.filter((s) => s.ollama)) runner.skip(stage.id, msg('fit.skip.notRegistering'));
  const sha256 = output.sha256 ?? (await sha256File(output.path, { signal: runner.signal }));
  return { ...resultBase(job, source, target, output, quality, started), outputPath: output.path, sha256, model: null, modelfilePath: null, verify: null, uploaded: false, verifyError: null };
}

function resultBase(job: FitContext, source: SourceModel, target: FitTarget, output: FitOutput, quality: FitQuality | null, started: number) {
  return {
    fileBytes: target.fileBytes,
    type: target.typeName,
    elapsedMs: Math.round(performance.now() - started),
    warnings: job.runner.warnings,
    inputPath: job.input,
    quantized: target.plan !== null,
    sourceType: source.type.name,
    ctx: target.ctxTokens,
    predictedBytes: target.predictedBytes,
    recommendation: target.recommendation,
    tensorTypes: output.tensorTypes,
    imatrixPath: target.imatrixPath,
    quality,
  };
}

/** The failure path: undo what the stages left (walking the list backwards), then say what is left. */
async function stopped(runner: StageRunner, err: unknown): Promise<FitError | FitCancelledError> {
  const cancelled = err instanceof CancelledError || runner.signal?.aborted === true;
  await runner.unwind(cancelled);
  const outcome = outcomeOf(runner.record, runner.current ?? JOB_STAGES[0].id);
  const cause = cancelled ? msg('fit.stopped.cancelledDuring', { stage: stageName(runner.abortedIn ?? outcome.stage) }) : errorMessage(err);
  const left = describeOutcome(outcome, runner.record, english(cause)).reduce<Message | null>((first, second) => (first ? msg('fit.join', { first, second }) : second), null);
  const text = left ? msg('fit.stopped', { cause, left }) : cause;
  return cancelled ? new FitCancelledError(text, outcome) : new FitError(text, outcome, { cause: err });
}

function outcomeOf(record: JobRecord, stage: Stage): FitOutcome {
  return {
    stage,
    keptOutput: record.keptOutput,
    modelName: record.modelName,
    blobOnServer: record.blobOnServer,
    blobSha256: record.blobSha256,
    model: record.modelCreated,
    removedModel: record.removedModel,
  };
}

/** What the job leaves behind, each a message, for the end of the error: "the quantized file … is kept", … */
function describeOutcome(o: FitOutcome, record: JobRecord, cause: string): Message[] {
  const parts: Message[] = [];
  if (record.writingOutput) parts.push(msg('fit.outcome.partialRemoved'));
  else if (o.keptOutput === null && !o.blobOnServer && o.model === null && o.removedModel === null) parts.push(msg('fit.outcome.nothingWritten'));
  if (o.keptOutput) {
    parts.push(o.model === null && o.modelName !== null
      ? msg('fit.outcome.keptImport', { path: o.keptOutput, command: importCommand(o.keptOutput, o.modelName) })
      : msg('fit.outcome.kept', { path: o.keptOutput }));
  }
  if (o.blobOnServer && o.model === null) {
    const blob = o.blobSha256 !== null ? msg('fit.outcome.blob', { sha256: o.blobSha256 }) : msg('fit.outcome.blobUnknown');
    // The stages' own messages may already say that Ollama prunes it.
    parts.push(msg(cause.includes(ORPHAN_BLOB_NOTE) ? 'fit.outcome.uploaded' : 'fit.outcome.uploadedOrphan', { blob }));
  }
  if (o.model !== null) parts.push(msg('fit.outcome.modelCreated', { model: o.model }));
  if (o.removedModel !== null) parts.push(msg('fit.outcome.modelRemoved', { model: o.removedModel }));
  if (record.removeError !== null) parts.push(msg('fit.outcome.removeFailed', { model: o.modelName ?? '', reason: record.removeError }));
  return parts;
}

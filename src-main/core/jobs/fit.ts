// The fit job: one cancellable job with one stream of JobEvents that takes a GGUF from "a file on
// disk" to "a model in Ollama that answered a test prompt":
//   inspect  read the header (and the importance matrix); check Ollama answers
//   advise   'auto': ask the advisor for the type (the choice and its reason are a log event);
//            a given type skips it. Either way: the output path, the model name, free disk space.
//   quantize quantizeFile into the output folder (skipped when the input already has the type)
//   modelfile, upload, create, verify   registerGguf with the writer's sha256 (no second read)
// The CLI (`quantfit fit`) and the Electron job host both call runFitJob.
//
// What a failure leaves: never a temp file (the writer removes its partial output, registerGguf its
// temp Modelfile). A quantized GGUF that was finished before a later Ollama step failed or was
// cancelled is KEPT: it is a complete, valid output, and re-quantizing can take an hour; the error
// names it and says how to register it (`quantfit import`). A blob uploaded without a model using it
// stays on the Ollama side until Ollama prunes it at its next start (there is no API to delete a
// blob); the error says so. A model this run created is removed again when the job is cancelled
// during verification, so a cancelled job never leaves a model behind; a model replaced with `force`
// is not (the old one is gone by then).

import { rm, statfs } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { computeBufferBytes, kvCacheBytes } from '../advisor/memory.ts';
import { modelParams } from '../advisor/model-params.ts';
import { recommendModel } from '../advisor/service.ts';
import { DEFAULT_CTX } from '../advisor/constants.ts';
import { formatBytes } from '../advisor/sizes.ts';
import type { Recommendation } from '../advisor/types.ts';
import { CancelledError, QuantfitError, describeError, throwIfAborted } from '../errors.ts';
import { ggmlTypeInfo, ggmlTypeName } from '../gguf/ggml-types.ts';
import { architecture, kvNumber } from '../gguf/metadata.ts';
import { readGgufHeader } from '../gguf/reader.ts';
import type { GgufHeader, GgufKv } from '../gguf/types.ts';
import type { HardwareProfile } from '../hardware/types.ts';
import { loadImatrix, imatrixKvOverrides, type Imatrix } from '../imatrix/index.ts';
import { defaultModelName, defaultOutputName, fileStem } from './default-names.ts';
import { ORPHAN_BLOB_NOTE, sha256File } from '../ollama/blobs.ts';
import { OllamaClient } from '../ollama/client.ts';
import { checkOllamaCompat } from '../ollama/compat.ts';
import { modelfileOwner } from '../ollama/modelfile.ts';
import { resolveOllamaHost } from '../ollama/host.ts';
import { displayName, requireModelName } from '../ollama/names.ts';
import { registerGguf, requireServer } from '../ollama/register.ts';
import type { VerifyResult } from '../ollama/types.ts';
import type { JobEvent, Stage } from '../progress.ts';
import { LLAMA_FTYPE_GUESSED, ftypeById, parseFtype, type Ftype } from '../quant/ftypes.ts';
import { assertNotSameFile, quantizeFile } from '../quant/pipeline.ts';
import { planQuantization, type KvOverride, type QuantPlan, type QuantizeOptions } from '../quant/policy.ts';
import { pathExists } from '../fs-util.ts';
import type { FitRequest, FitResult } from '../../../src-shared/types/fit.ts';
import { defaultNameFromOllama } from '../sources/ollama.ts';

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
  constructor(message: string, readonly outcome: FitOutcome, options?: { cause?: unknown }) {
    super(message, {}, options);
    this.name = 'FitError';
  }
}

/** A fit cancelled through its AbortSignal; the message says what was kept. */
export class FitCancelledError extends CancelledError {
  constructor(message: string, readonly outcome: FitOutcome) {
    super(message);
    this.name = 'FitCancelledError';
  }
}

/** The input's llama ftype: general.file_type when present, else guessed from the weights' types. */
function sourceFtype(header: GgufHeader): { id: number | null; name: string | null; quantized: boolean } {
  let quantized = false;
  const bytesByType = new Map<number, number>();
  for (const t of header.tensors) {
    if (t.shape.length >= 2) bytesByType.set(t.type, (bytesByType.get(t.type) ?? 0) + t.byteSize);
    if (ggmlTypeInfo(t.type)?.quantized === true) quantized = true;
  }
  const stored = kvNumber(header, 'general.file_type');
  if (stored !== undefined) {
    const id = stored & ~LLAMA_FTYPE_GUESSED;
    return { id, name: ftypeById(id)?.name ?? null, quantized };
  }
  const dominant = [...bytesByType.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
  if (dominant === undefined) return { id: null, name: null, quantized };
  const name = ggmlTypeName(dominant).toUpperCase();
  const f = ftypeById(parseFtypeIdByName(name) ?? -1);
  return { id: f?.id ?? null, name: f?.name ?? name, quantized };
}

function parseFtypeIdByName(name: string): number | undefined {
  try {
    return parseFtype(name).id;
  } catch {
    return undefined;
  }
}

/** Memory to run `fileBytes` of this model at ctx, as the advisor counts it; null when the metadata does not allow it. */
function predictMemory(header: GgufHeader, fileBytes: number, ctx: number): number | null {
  try {
    const params = modelParams(header);
    return fileBytes + kvCacheBytes(params, ctx) + computeBufferBytes(params, ctx);
  } catch {
    return null;
  }
}

function defaultCtx(header: GgufHeader): number | null {
  try {
    return Math.min(DEFAULT_CTX, modelParams(header).contextLengthTrain ?? DEFAULT_CTX);
  } catch {
    return null;
  }
}


/** Free bytes for an unprivileged writer in `dir`, or null when the file system does not say. */
async function freeBytes(dir: string): Promise<number | null> {
  try {
    const s = await statfs(dir);
    const n = Number(s.bavail) * Number(s.bsize);
    return Number.isFinite(n) ? n : null;
  } catch {
    return null;
  }
}

export async function runFitJob(request: FitRequest, ctx: FitJobContext = {}): Promise<FitResult> {
  const started = performance.now();
  const { signal } = ctx;
  const input = resolve(request.modelPath);
  const outDir = request.outputPath ? dirname(resolve(request.outputPath)) : resolve(request.outputDir ?? dirname(input));
  const register = request.register !== false;
  const force = request.force === true;
  const replaceOutput = request.replaceOutput ?? force;
  const warnings: string[] = [];

  // What has happened so far, kept up to date from the events, for the failure message.
  let stage: Stage = 'inspect';
  let keptOutput: string | null = null;
  let modelName: string | null = null;
  let blobOnServer = false;
  let blobSha256: string | null = null;
  let modelCreated = false;
  let modelExisted = false;
  let modelfilePath: string | null = null;
  /** True while quantizeFile runs: a failure then has removed a partial output. */
  let quantizing = false;
  const emit = (e: JobEvent): void => {
    if (e.type === 'stage') {
      if (e.status === 'start') stage = e.stage;
      if (e.stage === 'upload' && e.status !== 'start') blobOnServer = true;
      if (e.stage === 'create' && e.status === 'done') modelCreated = true;
    }
    if (e.type === 'log' && e.level === 'warn') warnings.push(e.message);
    ctx.onEvent?.(e);
  };
  const startStage = (s: Stage, message?: string) => emit({ type: 'stage', stage: s, status: 'start', ...(message ? { message } : {}) });
  const doneStage = (s: Stage, message?: string) => emit({ type: 'stage', stage: s, status: 'done', ...(message ? { message } : {}) });
  const skipStage = (s: Stage, message: string) => {
    emit({ type: 'stage', stage: s, status: 'skipped', message });
  };
  const info = (s: Stage, message: string) => emit({ type: 'log', level: 'info', stage: s, message });

  // The stage running when the signal fired (the abort may only be noticed in the next stage).
  let abortedIn: Stage | null = null;
  const onAbort = () => { abortedIn ??= stage; };
  signal?.addEventListener('abort', onAbort, { once: true });

  let client: OllamaClient | null = null;
  let serverVersion: string | null = null;
  try {
    // ---- inspect
    startStage('inspect', input);
    throwIfAborted(signal);
    const header = await readGgufHeader(input);
    const source = sourceFtype(header);
    const arch = architecture(header) ?? 'unknown architecture';
    let imatrix: Imatrix | undefined;
    if (request.imatrixPath) {
      imatrix = await loadImatrix(request.imatrixPath);
      info('inspect', `importance matrix ${request.imatrixPath}: ${imatrix.entries.size} entries`);
    }
    if (register) {
      client = ctx.client ?? new OllamaClient(resolveOllamaHost({ explicit: request.host ?? undefined }));
      // Checked before quantizing: finding out after an hour of work that Ollama is not there helps nobody.
      serverVersion = await requireServer(client, signal, { start: request.startOllama === true, onEvent: emit });
      info('inspect', `Ollama ${serverVersion} at ${client.host.url}`);
    }
    throwIfAborted(signal);
    doneStage('inspect', `${arch}, ${source.name ?? 'unknown type'}, ${header.tensors.length} tensors, ${formatBytes(header.fileSize)}`);

    // ---- advise
    if (request.contextLength !== undefined && request.contextLength !== null && (!Number.isInteger(request.contextLength) || request.contextLength < 1)) {
      throw new QuantfitError(`the context length must be a positive whole number, got ${request.contextLength}`);
    }
    let ftype: Ftype;
    let recommendation: Recommendation | null = null;
    let ctxTokens: number | null = request.contextLength ?? null;
    let advisedTotal: number | null = null;
    if (request.type.trim().toLowerCase() === 'auto') {
      startStage('advise');
      if (source.quantized) {
        throw new QuantfitError(
          `the input is already quantized (${source.name ?? 'quantized tensors'}): the advisor plans from F32, F16 or BF16 models. ` +
            `Register it as it is with type ${source.name ?? 'its own type'} (or quantfit import), or give a type and --allow-requantize to quantize it again`,
          { file: input },
        );
      }
      const report = await recommendModel(input, {
        ...(ctxTokens !== null ? { ctx: ctxTokens } : {}),
        hasImatrix: imatrix !== undefined,
        ...(request.hardware ? { hardware: request.hardware } : {}),
        ...(request.ramBytes !== undefined ? { ramBytes: request.ramBytes } : {}),
        ...(request.vramBytes !== undefined ? { vramBytes: request.vramBytes } : {}),
        ...(request.unified === true ? { unified: true } : {}),
        outputDir: outDir,
        ollamaVersion: serverVersion,
      });
      throwIfAborted(signal);
      recommendation = report.recommended;
      ctxTokens = report.ctx;
      if (report.recommended.type === null) {
        throw new QuantfitError(`no quantization type fits this machine: ${report.recommended.reason} Give a type explicitly to make one anyway`, { file: input });
      }
      ftype = parseFtype(report.recommended.type);
      advisedTotal = report.options.find((o) => o.type === ftype.name)?.totalBytes ?? null;
      info('advise', `chose ${ftype.name}: ${report.recommended.reason}`);
    } else {
      ftype = parseFtype(request.type);
      ctxTokens ??= defaultCtx(header);
    }

    // Nothing to do when the input already is that type (F32 → F32, a Q8_0 file asked for Q8_0).
    const baseOptions: QuantizeOptions = {
      ftype,
      ...(imatrix ? { imatrix: imatrix.entries, overrideKv: imatrixKvOverrides(imatrix) } : {}),
    };
    let plan: QuantPlan | null = planQuantization(header, { ...baseOptions, allowRequantize: true });
    const sameType = source.id !== null && source.id === ftype.id && !ftype.onlyCopy;
    if (sameType || !plan.tensors.some((t) => t.quantize)) {
      plan = null;
    } else if (source.quantized && request.allowRequantize !== true) {
      const requant = plan.tensors.find((t) => t.quantize && ggmlTypeInfo(t.sourceType)?.quantized === true)!;
      throw new QuantfitError(
        `the input is already quantized (${source.name ?? ggmlTypeName(requant.sourceType)}); quantizing it again to ${ftype.name} ` +
          `loses quality. Pass --allow-requantize to do it anyway, or register the input as it is`,
        { file: input, tensor: requant.name },
      );
    } else {
      plan = planQuantization(header, { ...baseOptions, allowRequantize: request.allowRequantize === true });
    }

    const typeName = plan ? ftype.name : (source.name ?? ftype.name);
    const outputPath = plan ? resolve(request.outputPath ?? join(outDir, defaultOutputName(request.source?.stem ?? input, ftype.name))) : input;
    const fileBytes = plan ? plan.fileBytes : header.fileSize;
    const predictedBytes = request.predictedBytes != null && request.predictedBytes > 0
      ? request.predictedBytes
      : plan && advisedTotal !== null ? advisedTotal : ctxTokens !== null ? predictMemory(header, fileBytes, ctxTokens) : null;
    const predicted = predictedBytes !== null && ctxTokens !== null ? `predicted memory ${formatBytes(predictedBytes)} at ${ctxTokens} tokens of context` : 'memory not predicted';

    if (register) {
      // Refused now, before any work, when the user's Ollama could not load the result.
      const tensors = plan ? plan.tensors.map((t) => ({ name: t.name, type: t.targetType })) : header.tensors;
      const problem = checkOllamaCompat({ tensors, architecture: architecture(header) ?? null }, serverVersion);
      if (problem) throw new QuantfitError(problem.text, { file: input }, { code: problem.message.code, params: problem.message.params });
      const src = request.source;
      const fallbackName = src?.ollamaName ? defaultNameFromOllama(src.ollamaName, typeName) : defaultModelName(src?.stem ?? input, typeName);
      modelName = displayName(requireModelName(request.modelName ?? fallbackName));
      // Ollama matches names case-insensitively; a clash is refused now, not after quantizing.
      const existing = await client!.findModel(modelName, { signal });
      if (existing && !force) {
        throw new QuantfitError(
          `Ollama already has a model named '${existing.name}' (quantization ${existing.quantization ?? 'unknown'}); choose another name or pass --force to replace it`,
        );
      }
      modelExisted = existing !== null;
    }

    if (plan) {
      // The output: never the input, never an existing file unless told to replace it, and room for it.
      await assertNotSameFile(input, outputPath).catch((err: unknown) => {
        throw new QuantfitError(`the output would overwrite the input; choose another output folder or name (${describeError(err)})`, { file: outputPath });
      });
      if (await pathExists(outputPath)) {
        if (!replaceOutput) {
          throw new QuantfitError(
            `the output file exists; pass --force to replace it${register ? `, or register it as it is with: ${importCommand(outputPath, modelName!)}` : ''}`,
            { file: outputPath },
          );
        }
        // Allowed (--force, or the app re-running the same fit), but never silently.
        emit({ type: 'log', level: 'warn', stage: 'advise', message: `replacing the existing ${outputPath} (once the new file is complete)` });
      }
      if (!(await pathExists(dirname(outputPath)))) throw new QuantfitError('the output folder does not exist', { file: dirname(outputPath) });
      const free = await freeBytes(dirname(outputPath));
      if (free !== null && free < plan.fileBytes) {
        throw new QuantfitError(`not enough free space for the output: it needs ${formatBytes(plan.fileBytes)}, ${formatBytes(free)} free`, { file: dirname(outputPath) });
      }
    }

    const choice = `${typeName}${plan ? ` → ${outputPath} (${formatBytes(plan.fileBytes)})` : ''}${modelName ? `, model ${modelName}` : ''}; ${predicted}`;
    if (recommendation) doneStage('advise', choice);
    else skipStage('advise', `type ${ftype.name} given: ${choice}`);
    throwIfAborted(signal);

    // ---- quantize
    let sha256: string | null = null;
    let tensorTypes: Record<string, number> | null = null;
    let kv: readonly GgufKv[] = header.kv;
    if (plan) {
      stage = 'quantize';
      quantizing = true;
      const q = await quantizeFile(input, outputPath, { ...baseOptions, allowRequantize: request.allowRequantize === true }, {
        ...(request.threads ? { threads: request.threads } : {}),
        signal,
        onEvent: emit,
      });
      quantizing = false;
      keptOutput = q.out;
      sha256 = q.sha256;
      blobSha256 = q.sha256;
      tensorTypes = q.tensorTypes;
      kv = q.plan.kv;
      info('quantize', `${q.out}: ${formatBytes(q.bytes)} in ${q.seconds.toFixed(1)} s, sha256 ${q.sha256}`);
    } else {
      skipStage('quantize', `the input is already ${typeName}: ${register ? 'registering it as it is' : 'nothing to do'}`);
    }
    throwIfAborted(signal);

    if (!register) {
      for (const s of ['modelfile', 'upload', 'create', 'verify'] as const) skipStage(s, 'not registering with Ollama');
      const digest = sha256 ?? (await sha256File(outputPath, { signal }));
      return {
        outputPath, fileBytes, sha256: digest, type: typeName, elapsedMs: Math.round(performance.now() - started),
        model: null, modelfilePath: null, verify: null, warnings, inputPath: input, quantized: plan !== null,
        sourceType: source.name, ctx: ctxTokens, predictedBytes, recommendation, tensorTypes, uploaded: false, verifyError: null,
      };
    }

    // ---- modelfile, upload, create, verify
    modelfilePath = join(outDir, `${fileStem(outputPath)}.Modelfile`);
    const reg = await registerGguf(
      {
        ggufPath: outputPath,
        name: modelName!,
        ...(request.host ? { host: request.host } : {}),
        ...(sha256 !== null ? { sha256 } : {}),
        ...(ctxTokens !== null ? { numCtx: ctxTokens } : {}),
        ...(request.system ?? request.source?.system ? { system: (request.system ?? request.source?.system)! } : {}),
        // An Ollama source's template, options and licence go with it (its bare default is no template).
        ...(request.source?.template && request.source.template !== '{{ .Prompt }}' ? { template: request.source.template } : {}),
        ...(request.source?.parameters ? { parameters: request.source.parameters } : {}),
        ...(request.source?.license && request.source.license.length > 0 ? { license: request.source.license } : {}),
        force,
        verify: request.verify !== false,
        ...(predictedBytes !== null ? { predictedBytes } : {}),
        modelfilePath,
        kv,
        tensors: plan ? plan.tensors.map((t) => ({ name: t.name, type: t.targetType })) : header.tensors,
      },
      { signal, onEvent: emit, client: client! },
    );
    return {
      outputPath: reg.file,
      fileBytes,
      sha256: reg.sha256,
      type: typeName,
      elapsedMs: Math.round(performance.now() - started),
      model: reg.model,
      modelfilePath: reg.modelfilePath,
      verify: reg.verify,
      warnings,
      inputPath: input,
      quantized: plan !== null,
      sourceType: source.name,
      ctx: ctxTokens,
      predictedBytes,
      recommendation,
      tensorTypes,
      uploaded: reg.uploaded,
      verifyError: reg.verifyError,
    };
  } catch (err) {
    const cancelled = err instanceof CancelledError || signal?.aborted === true;
    let removedModel: string | null = null;
    let removeError: string | null = null;
    if (cancelled && !modelExisted && client && modelName && (modelCreated || (stage as Stage) === 'create')) {
      // Cancelled while creating or verifying: take back a model this run made (and its Modelfile).
      // During create the server may finish the model after the request was dropped, so look first.
      try {
        const found = modelCreated ? modelName : (await client.findModel(modelName))?.name;
        if (found) {
          await client.deleteModel(found);
          removedModel = found;
        }
        // Only a Modelfile we wrote: one the user wrote under that name was kept by registerGguf.
        if (modelCreated && modelfilePath && (await modelfileOwner(modelfilePath)) === 'quantfit') await rm(modelfilePath, { force: true });
      } catch (e) {
        if (modelCreated) removeError = describeError(e);
      }
    }
    const outcome: FitOutcome = {
      stage,
      keptOutput,
      modelName,
      blobOnServer,
      blobSha256,
      model: modelCreated && removedModel === null ? modelName : null,
      removedModel,
    };
    const cause = cancelled ? `cancelled during ${abortedIn ?? stage}` : describeError(err);
    const message = `${cause}${describeOutcome(outcome, quantizing, cause, removeError)}`;
    if (cancelled) throw new FitCancelledError(message, outcome);
    throw new FitError(message, outcome, { cause: err });
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/** The command that registers a kept file, with the path quoted when a shell would split it. */
function importCommand(path: string, name: string): string {
  const arg = /^[\w@%+=:,./\\-]+$/.test(path) ? path : `"${path}"`;
  return `quantfit import ${arg} --name ${name}`;
}

/** "; the quantized file … is kept; …" — what the job leaves behind, for the end of an error message. */
function describeOutcome(o: FitOutcome, quantizing: boolean, cause: string, removeError: string | null): string {
  const parts: string[] = [];
  if (quantizing) parts.push('the partial output was removed and nothing was sent to Ollama');
  else if (o.keptOutput === null && !o.blobOnServer && o.model === null && o.removedModel === null) parts.push('nothing was written');
  if (o.keptOutput) {
    const later = o.model === null && o.modelName !== null
      ? `: register it later with: ${importCommand(o.keptOutput, o.modelName)}`
      : '';
    parts.push(`the quantized file ${o.keptOutput} is complete and kept${later}`);
  }
  if (o.blobOnServer && o.model === null) {
    const blob = o.blobSha256 !== null ? `blob sha256:${o.blobSha256}` : 'the GGUF\'s blob';
    // registerGguf's own messages may already say that Ollama prunes it.
    parts.push(cause.includes(ORPHAN_BLOB_NOTE) ? `uploaded ${blob}` : `uploaded ${blob} but no model uses it — Ollama prunes unreferenced blobs when it restarts`);
  }
  if (o.model !== null) parts.push(`the model ${o.model} was created in Ollama`);
  if (o.removedModel !== null) parts.push(`the model ${o.removedModel} this run had created was removed again`);
  if (removeError !== null) parts.push(`the model ${o.modelName} this run had created could not be removed (${removeError}): remove it with 'ollama rm ${o.modelName}'`);
  return parts.length > 0 ? `; ${parts.join('; ')}` : '';
}

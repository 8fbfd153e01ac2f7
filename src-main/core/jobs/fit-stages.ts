// The fit job's own stages (the Ollama ones are in core/ollama/register-stages.ts):
//   inspect   inspectSource(): the header, the source type, the importance matrix, Ollama's version
//   advise    planFit(): the type (the advisor for 'auto'), the plan, output file, model name and
//             predicted memory; refuses what Ollama cannot load, a taken name, a full disk, and
//             llama.cpp passes (imatrix, evaluate) this machine has no RAM or disk for (engine-room.ts)
//   imatrix   (engine-stages.ts) an importance matrix when the type needs one and none was given
//   quantize  quantizeOutput(): the quantized GGUF (skipped when the input already has the type)
//   evaluate  (engine-stages.ts) KL divergence and perplexity of the output, when asked
// Each is a function over the job context with a typed input and output.

import { dirname, join, resolve } from 'node:path';
import { DEFAULT_CTX } from '../advisor/constants.ts';
import { modelParams } from '../advisor/model-params.ts';
import { estimatePlan, recommendModel, storedPlan } from '../advisor/service.ts';
import { formatBytes } from '../advisor/sizes.ts';
import type { Recommendation } from '../advisor/types.ts';
import { QuantfitError, errorMessage, quantfitError, reasonOf, throwIfAborted } from '../errors.ts';
import { msg } from '../../../src-shared/messages/index.ts';
import { reasonsMessage, type NumberFormat } from '../../../src-shared/reasons.ts';
import { freeBytes, makeFolders, nearestFolder, pathExists } from '../fs-util.ts';
import { ggmlTypeInfo, ggmlTypeName } from '../gguf/ggml-types.ts';
import { architecture, kvNumber } from '../gguf/metadata.ts';
import { readGgufHeader } from '../gguf/reader.ts';
import { isModelFolder, readModelHeader } from '../convert/model.ts';
import type { GgufHeader, GgufKv } from '../gguf/types.ts';
import { imatrixKvOverrides, loadImatrix, type Imatrix } from '../imatrix/index.ts';
import { OllamaClient } from '../ollama/client.ts';
import { checkOllamaCompat } from '../ollama/compat.ts';
import { resolveOllamaHost } from '../ollama/host.ts';
import { displayName, requireModelName } from '../ollama/names.ts';
import { requireServer } from '../ollama/register.ts';
import { LLAMA_FTYPE_GUESSED, ftypeById, findFtype, parseFtype, type Ftype } from '../quant/ftypes.ts';
import { assertNotSameFile, quantizeFile } from '../quant/pipeline.ts';
import { planQuantization, type QuantPlan, type QuantizeOptions } from '../quant/policy.ts';
import { defaultNameFromOllama } from '../sources/ollama.ts';
import type { FitRequest } from '../../../src-shared/types/fit.ts';
import { defaultModelName, defaultOutputName } from './default-names.ts';
import { cannotEvaluate, cannotMakeImatrix, willMakeImatrix } from './engine-stages.ts';
import { checkEngineRoom } from './engine-room.ts';
import type { HardwareProfile } from '../hardware/types.ts';
import type { StageRunner } from './runner.ts';
import type { EngineModels } from '../engine/model-input.ts';

/** The job context every fit stage runs over. */
export interface FitContext {
  readonly request: FitRequest;
  readonly runner: StageRunner;
  /** The source GGUF, resolved. */
  readonly input: string;
  /** The folder the output (and the Modelfile) go to. */
  readonly outDir: string;
  /** Register with Ollama after quantizing. */
  readonly register: boolean;
  readonly force: boolean;
  readonly replaceOutput: boolean;
  /** A client to use instead of one built from `request.host`. */
  readonly client: OllamaClient | null;
  /** The GGUF files llama.cpp runs (a folder input converted once into outDir); released when the job ends. */
  readonly models: EngineModels;
}

/** The input's llama ftype: general.file_type when present, else guessed from the weights' types. */
export interface SourceType {
  readonly id: number | null;
  readonly name: string | null;
  /** True when any tensor is already quantized. */
  readonly quantized: boolean;
}

/** The Ollama server the job registers with, and what it reported. */
export interface OllamaTarget {
  readonly client: OllamaClient;
  readonly version: string;
}

/** inspect → */
export interface SourceModel {
  readonly header: GgufHeader;
  readonly type: SourceType;
  readonly architecture: string | null;
  readonly imatrix: Imatrix | null;
  /** null when not registering. */
  readonly ollama: OllamaTarget | null;
  /** A Hugging Face folder: converted while quantized (never registered as it is). */
  readonly folder?: boolean;
}

/** advise → */
export interface FitTarget {
  readonly ftype: Ftype;
  /** The type registered: the ftype's name, or the input's own type when quantizing is skipped. */
  readonly typeName: string;
  /** null: the input already has the type and is registered as it is. */
  readonly plan: QuantPlan | null;
  readonly quantizeOptions: QuantizeOptions;
  /** The quantized output (or the input when plan is null). */
  readonly outputPath: string;
  readonly fileBytes: number;
  /** The Ollama model name (null when not registering) and whether it replaces an existing one. */
  readonly modelName: string | null;
  readonly replacing: boolean;
  readonly ctxTokens: number | null;
  readonly predictedBytes: number | null;
  readonly recommendation: Recommendation | null;
  /** The 'imatrix' stage computes an importance matrix for this type (none was given). */
  readonly makeImatrix: boolean;
  /** The importance matrix that stage made or reused, once it ran. */
  readonly imatrixPath: string | null;
}

/** quantize → */
export interface FitOutput {
  readonly path: string;
  /** The writer's sha256, or null when nothing was written. */
  readonly sha256: string | null;
  readonly tensorTypes: Record<string, number> | null;
  /** The GGUF's metadata and tensors as written (for the template and the compat check). */
  readonly kv: readonly GgufKv[];
  readonly tensors: ReadonlyArray<{ readonly name: string; readonly type: number }>;
}

// ---- inspect

/** Stage 'inspect': read the header (and the importance matrix); check Ollama answers. */
export async function inspectSource(job: FitContext): Promise<SourceModel> {
  const { runner, request } = job;
  runner.start('inspect', msg('common.text', { text: job.input }));
  throwIfAborted(runner.signal);
  const folder = await isModelFolder(job.input);
  // A folder's header is the GGUF its conversion writes (--outtype auto), from the headers alone.
  const header = folder ? await readModelHeader(job.input, runner.signal) : await readGgufHeader(job.input);
  const type = sourceType(header);
  let imatrix: Imatrix | null = null;
  if (request.imatrixPath) {
    imatrix = await loadImatrix(request.imatrixPath);
    runner.info('inspect', msg('fit.inspect.imatrix', { path: request.imatrixPath, entries: imatrix.entries.size }));
  }
  const ollama = job.register ? await connectOllama(job) : null;
  throwIfAborted(runner.signal);
  const arch = architecture(header) ?? null;
  runner.done('inspect', msg('fit.inspect.done', {
    arch: arch ?? msg('fit.unknownArch'), type: type.name ?? msg('fit.unknownType'), tensors: header.tensors.length, size: formatBytes(header.fileSize),
  }));
  return { header, type, architecture: arch, imatrix, ollama, folder };
}

/** Checked before quantizing: finding out after an hour of work that Ollama is not there helps nobody. */
async function connectOllama(job: FitContext): Promise<OllamaTarget> {
  const { runner, request } = job;
  const client = job.client ?? new OllamaClient(resolveOllamaHost({ explicit: request.host ?? undefined }));
  const version = await requireServer(client, runner.signal, { start: request.startOllama === true, onEvent: runner.emit });
  runner.info('inspect', msg('fit.inspect.ollama', { version, url: client.host.url }));
  return { client, version };
}

function sourceType(header: GgufHeader): SourceType {
  const quantized = header.tensors.some((t) => ggmlTypeInfo(t.type)?.quantized === true);
  const stored = kvNumber(header, 'general.file_type');
  if (stored !== undefined) {
    const id = stored & ~LLAMA_FTYPE_GUESSED;
    return { id, name: ftypeById(id)?.name ?? null, quantized };
  }
  const bytesByType = new Map<number, number>();
  for (const t of header.tensors) {
    if (t.shape.length >= 2) bytesByType.set(t.type, (bytesByType.get(t.type) ?? 0) + t.byteSize);
  }
  const dominant = [...bytesByType.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
  if (dominant === undefined) return { id: null, name: null, quantized };
  const name = ggmlTypeName(dominant).toUpperCase();
  const f = ftypeById(findFtype(name)?.id ?? -1);
  return { id: f?.id ?? null, name: f?.name ?? name, quantized };
}

// ---- advise

/** Stage 'advise': what to make, where, under which name; everything refused now rather than later. */
export async function planFit(job: FitContext, source: SourceModel): Promise<FitTarget> {
  const { runner, request } = job;
  const chosen = await chooseType(job, source);
  const makeImatrix = willMakeImatrix(job, source, chosen.ftype);
  const quantizeOptions: QuantizeOptions = {
    ftype: chosen.ftype,
    ...(source.imatrix ? { imatrix: source.imatrix.entries, overrideKv: imatrixKvOverrides(source.imatrix) } : {}),
    // Planned as with a matrix: the 'imatrix' stage computes it before quantizing.
    ...(makeImatrix ? { hasImatrix: true } : {}),
    allowRequantize: request.allowRequantize === true,
  };
  const plan = planTensors(job, source, chosen.ftype, quantizeOptions);
  const typeName = plan ? chosen.ftype.name : (source.type.name ?? chosen.ftype.name);
  // A hub or Ollama source names the outputs by its own stem (a blob's `sha256-…` makes a poor name).
  const stem = request.source?.stem ?? job.input;
  const outputPath = plan ? resolve(request.outputPath ?? join(job.outDir, defaultOutputName(stem, chosen.ftype.name))) : job.input;
  const fileBytes = plan ? plan.fileBytes : source.header.fileSize;
  const given = request.predictedBytes != null && request.predictedBytes > 0 ? request.predictedBytes : null;
  const advised = plan && chosen.advisedTotal !== null ? chosen.advisedTotal : null;
  const estimated = given === null && advised === null ? await predictMemory(job, source, typeName, plan, chosen.ctxTokens) : null;
  const predictedBytes = given ?? advised ?? estimated?.bytes ?? null;

  const name = source.ollama ? await checkModelName(job, source.ollama, source, plan, typeName) : null;
  // A folder's conversion for llama.cpp sits beside the output while the engine stages need it.
  const converts = source.folder === true && (makeImatrix || cannotEvaluate(job, { plan }) === null);
  if (plan) await checkOutput(job, plan, outputPath, name?.modelName ?? null, converts ? source.header.fileSize : 0);
  // The profile the advisor read is this machine's only without "what if" sizes.
  const whatIf = request.ramBytes !== undefined || request.vramBytes !== undefined || request.unified === true;
  const probed = whatIf ? null : (chosen.hardware ?? estimated?.hardware ?? null);
  await checkEngineRoom(job, source, { plan, makeImatrix, outputPath }, probed, (m) => runner.warn('advise', m));

  const predicted = predictedBytes !== null && chosen.ctxTokens !== null
    ? msg('fit.advise.predicted', { bytes: formatBytes(predictedBytes), ctx: chosen.ctxTokens })
    : msg('fit.advise.notPredicted');
  const made = plan ? msg('fit.advise.target', { type: typeName, path: outputPath, size: formatBytes(plan.fileBytes) }) : msg('common.text', { text: typeName });
  const target = name ? msg('fit.advise.withModel', { target: made, model: name.modelName }) : made;
  const choice = msg('fit.advise.choice', { target, predicted });
  if (chosen.recommendation) runner.done('advise', choice);
  else runner.skip('advise', msg('fit.advise.given', { type: chosen.ftype.name, choice }));
  throwIfAborted(runner.signal);
  return {
    ftype: chosen.ftype, typeName, plan, quantizeOptions, outputPath, fileBytes,
    modelName: name?.modelName ?? null, replacing: name?.replacing ?? false,
    ctxTokens: chosen.ctxTokens, predictedBytes, recommendation: chosen.recommendation, makeImatrix, imatrixPath: null,
  };
}

interface ChosenType {
  readonly ftype: Ftype;
  readonly recommendation: Recommendation | null;
  readonly ctxTokens: number | null;
  /** The advisor's total memory for the chosen type, when it chose. */
  readonly advisedTotal: number | null;
  /** The machine the advisor read (null when it was not asked). */
  readonly hardware: HardwareProfile | null;
}

/** The advisor's reasons as the CLI prints sizes (`quantfit recommend` does the same). */
const REASON_NUMBERS: NumberFormat = { bytes: (n) => (n === undefined ? '-' : formatBytes(n)), integer: String };

/** The given type, or (for 'auto') the advisor's choice for this machine and this Ollama. */
async function chooseType(job: FitContext, source: SourceModel): Promise<ChosenType> {
  const { runner, request } = job;
  const ctxTokens = request.contextLength ?? null;
  if (ctxTokens !== null && (!Number.isInteger(ctxTokens) || ctxTokens < 1)) {
    throw quantfitError('fit.error.ctx', { value: ctxTokens });
  }
  if (request.type.trim().toLowerCase() !== 'auto') {
    return { ftype: parseFtype(request.type), recommendation: null, ctxTokens: ctxTokens ?? defaultCtx(source.header), advisedTotal: null, hardware: null };
  }
  runner.start('advise');
  if (source.type.quantized) {
    throw quantfitError('fit.error.autoQuantized', { type: source.type.name ?? msg('fit.unknownType') }, { file: job.input });
  }
  const report = await recommendModel(job.input, {
    ...(ctxTokens !== null ? { ctx: ctxTokens } : {}),
    // The imatrix-only types too when the job can compute their matrix itself.
    hasImatrix: source.imatrix !== null || cannotMakeImatrix(job) === undefined,
    ...(request.hardware ? { hardware: request.hardware } : {}),
    ...(request.ramBytes !== undefined ? { ramBytes: request.ramBytes } : {}),
    ...(request.vramBytes !== undefined ? { vramBytes: request.vramBytes } : {}),
    ...(request.unified === true ? { unified: true } : {}),
    outputDir: job.outDir,
    ollamaVersion: source.ollama?.version ?? null,
  });
  throwIfAborted(runner.signal);
  const recommended = report.recommended;
  if (recommended.type === null) {
    throw quantfitError('fit.error.nothingFits', { reason: reasonsMessage(recommended.reasons, REASON_NUMBERS) }, { file: job.input });
  }
  const ftype = parseFtype(recommended.type);
  runner.info('advise', msg('fit.advise.chose', { type: ftype.name, reason: reasonsMessage(recommended.reasons, REASON_NUMBERS) }));
  return { ftype, recommendation: recommended, ctxTokens: report.ctx, advisedTotal: report.options.find((o) => o.type === ftype.name)?.totalBytes ?? null, hardware: report.hardware };
}

/** The tensors to write, or null when the input already is that type (F32 → F32, Q8_0 asked for Q8_0). */
function planTensors(job: FitContext, source: SourceModel, ftype: Ftype, options: QuantizeOptions): QuantPlan | null {
  const probe = planQuantization(source.header, { ...options, allowRequantize: true });
  const sameType = source.type.id !== null && source.type.id === ftype.id && !ftype.onlyCopy;
  // A folder always becomes a file, even in its own 16-bit type.
  if (!source.folder && (sameType || !probe.tensors.some((t) => t.quantize))) return null;
  const requant = source.type.quantized ? probe.tensors.find((t) => t.quantize && ggmlTypeInfo(t.sourceType)?.quantized === true) : undefined;
  if (requant !== undefined && job.request.allowRequantize !== true) {
    throw quantfitError('fit.error.requantize', { source: source.type.name ?? ggmlTypeName(requant.sourceType), type: ftype.name }, { file: job.input, tensor: requant.name });
  }
  return planQuantization(source.header, options);
}

/** The model name, checked now: Ollama must be able to load the result, and the name be free (or forced). */
async function checkModelName(
  job: FitContext,
  ollama: OllamaTarget,
  source: SourceModel,
  plan: QuantPlan | null,
  typeName: string,
): Promise<{ modelName: string; replacing: boolean }> {
  // Refused now, before any work, when the user's Ollama could not load the result.
  const tensors = plan ? plannedTensors(plan) : source.header.tensors;
  const problem = checkOllamaCompat({ tensors, architecture: source.architecture }, ollama.version);
  if (problem) throw new QuantfitError(problem.text, { file: job.input }, { code: problem.message.code, params: problem.message.params });
  const src = job.request.source;
  const fallbackName = src?.ollamaName ? defaultNameFromOllama(src.ollamaName, typeName) : defaultModelName(src?.stem ?? job.input, typeName);
  const modelName = displayName(requireModelName(job.request.modelName ?? fallbackName));
  job.runner.record.modelName = modelName;
  // Ollama matches names case-insensitively; a clash is refused now, not after quantizing.
  const existing = await ollama.client.findModel(modelName, { signal: job.runner.signal });
  if (existing && !job.force) {
    throw quantfitError('fit.error.nameTaken', { name: existing.name, quantization: existing.quantization ?? msg('fit.cli.unknown') });
  }
  job.runner.record.modelExisted = existing !== null;
  return { modelName, replacing: existing !== null };
}

/** The output: never the input, never an existing file unless told to replace it, and room for it (and `alongside` bytes more). */
async function checkOutput(job: FitContext, plan: QuantPlan, outputPath: string, modelName: string | null, alongside: number): Promise<void> {
  await assertNotSameFile(job.input, outputPath).catch((err: unknown) => {
    throw quantfitError('fit.error.overwritesInput', { reason: errorMessage(err) }, { file: outputPath });
  });
  if (await pathExists(outputPath)) {
    if (!job.replaceOutput) {
      throw modelName !== null
        ? quantfitError('fit.error.outputExistsImport', { command: importCommand(outputPath, modelName) }, { file: outputPath })
        : quantfitError('fit.error.outputExists', {}, { file: outputPath });
    }
    // Allowed (--force, or the app re-running the same fit), but never silently.
    job.runner.warn('advise', msg('fit.warn.replacingOutput', { path: outputPath }));
  }
  // A missing output folder is made when the output is written (quantizeOutput); its room is
  // measured on the nearest folder that exists.
  const folder = await nearestFolder(dirname(outputPath));
  const free = await freeBytes(folder);
  if (free !== null && free < plan.fileBytes + alongside) {
    throw alongside > 0
      ? quantfitError('engine.input.noSpaceWithOutput', { output: formatBytes(plan.fileBytes), conversion: formatBytes(alongside), free: formatBytes(free) }, { file: dirname(outputPath) })
      : quantfitError('fit.error.noSpace', { needs: formatBytes(plan.fileBytes), free: formatBytes(free) }, { file: dirname(outputPath) });
  }
}

// ---- quantize

/** Stage 'quantize': the quantized GGUF, or (no plan) the input as it is. */
export async function quantizeOutput(job: FitContext, source: SourceModel, target: FitTarget): Promise<FitOutput> {
  const { runner, request } = job;
  if (!target.plan) {
    runner.skip('quantize', msg(job.register ? 'fit.quantize.asIs' : 'fit.quantize.nothingToDo', { type: target.typeName }));
    return { path: job.input, sha256: null, tensorTypes: null, kv: source.header.kv, tensors: source.header.tensors };
  }
  await makeOutputFolder(job, dirname(target.outputPath));
  runner.record.writingOutput = true;
  const run = { ...(request.threads ? { threads: request.threads } : {}), signal: runner.signal, onEvent: runner.emit };
  if (source.folder && FOLDER_FLOAT_OUTTYPES[target.ftype.name]) return convertOutput(job, target, FOLDER_FLOAT_OUTTYPES[target.ftype.name]!);
  const q = source.folder
    ? await (await import('../convert/write.ts')).quantizeFolder(job.input, target.outputPath, target.quantizeOptions, { ...run, ...nameFromSource(job) })
    : await quantizeFile(job.input, target.outputPath, target.quantizeOptions, run);
  runner.record.writingOutput = false;
  runner.record.keptOutput = q.out;
  runner.record.blobSha256 = q.sha256;
  runner.info('quantize', msg('fit.quantize.written', { path: q.out, size: formatBytes(q.bytes), seconds: q.seconds.toFixed(1), sha256: q.sha256 }));
  return { path: q.out, sha256: q.sha256, tensorTypes: q.tensorTypes, kv: q.plan.kv, tensors: plannedTensors(q.plan) };
}

/** A folder to F16/BF16/F32: what convert_hf_to_gguf.py --outtype f16|bf16|f32 writes. */
const FOLDER_FLOAT_OUTTYPES: Readonly<Record<string, 'f16' | 'bf16' | 'f32'>> = { F16: 'f16', BF16: 'bf16', F32: 'f32' };

/** A hub snapshot folder is named by its commit: its model is named after the repo (the source's stem). */
function nameFromSource(job: FitContext): { nameFrom?: string } {
  return job.request.source ? { nameFrom: job.request.source.stem } : {};
}

async function convertOutput(job: FitContext, target: FitTarget, outtype: 'f16' | 'bf16' | 'f32'): Promise<FitOutput> {
  const { runner } = job;
  const { convertFolder } = await import('../convert/write.ts');
  const c = await convertFolder(job.input, target.outputPath, { outtype, signal: runner.signal, onEvent: runner.emit, ...nameFromSource(job) });
  runner.record.writingOutput = false;
  runner.record.keptOutput = c.out;
  runner.record.blobSha256 = c.sha256;
  runner.info('quantize', msg('fit.quantize.written', { path: c.out, size: formatBytes(c.bytes), seconds: c.seconds.toFixed(1), sha256: c.sha256 }));
  const h = await readGgufHeader(c.out);
  return { path: c.out, sha256: c.sha256, tensorTypes: c.tensorTypes, kv: h.kv, tensors: h.tensors };
}

// ---- helpers

/**
 * Makes the output folder (and its parents) when missing; if the job then stops before a finished
 * output is kept, the folders it made are removed again (only while empty).
 */
export async function makeOutputFolder(job: FitContext, dir: string): Promise<void> {
  const made = await makeFolders(dir).catch((err: unknown) => {
    throw quantfitError('fit.error.makeFolder', { reason: reasonOf(err) }, { file: dir }, err);
  });
  if (made === null) return;
  job.runner.info('quantize', msg('fit.quantize.madeFolder', { path: dir }));
  job.runner.onStop(async () => {
    if (job.runner.record.keptOutput === null) await made.undo();
  });
}

function plannedTensors(plan: QuantPlan): Array<{ name: string; type: number }> {
  return plan.tensors.map((t) => ({ name: t.name, type: t.targetType }));
}

/**
 * The advisor's figure for a type it did not choose (a given --type, or the input kept as it is) on this
 * machine at ctx, as `recommend` shows it, with the machine it read; null without a context, bytes null
 * when the metadata does not allow a figure.
 */
async function predictMemory(job: FitContext, source: SourceModel, typeName: string, plan: QuantPlan | null, ctx: number | null): Promise<{ bytes: number | null; hardware: HardwareProfile | null } | null> {
  if (ctx === null) return null;
  const { request } = job;
  try {
    const { estimate, hardware } = await estimatePlan(source.header, typeName, plan ?? storedPlan(source.header), {
      ctx,
      outputDir: job.outDir,
      ...(request.hardware ? { hardware: request.hardware } : {}),
      ...(request.ramBytes !== undefined ? { ramBytes: request.ramBytes } : {}),
      ...(request.vramBytes !== undefined ? { vramBytes: request.vramBytes } : {}),
      ...(request.unified === true ? { unified: true } : {}),
    });
    return { bytes: estimate.totalBytes, hardware };
  } catch (err) {
    // A header the advisor cannot read (no architecture, no layer count) has no figure; other failures stand.
    if (err instanceof QuantfitError && err.code?.startsWith('advisor.')) return { bytes: null, hardware: null };
    throw err;
  }
}

function defaultCtx(header: GgufHeader): number | null {
  try {
    return Math.min(DEFAULT_CTX, modelParams(header).contextLengthTrain ?? DEFAULT_CTX);
  } catch {
    return null;
  }
}

/** The command that registers a kept file, with the path quoted when a shell would split it. */
export function importCommand(path: string, name: string): string {
  const arg = /^[\w@%+=:,./\\-]+$/.test(path) ? path : `"${path}"`;
  return `quantfit import ${arg} --name ${name}`;
}

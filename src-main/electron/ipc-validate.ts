// Validation of every IPC argument the renderer sends. The renderer is treated as untrusted:
// each method has a fixed arity, every value is type-, range- and length-checked, and paths must
// exist and be the right kind (file or folder). Anything else is refused with a clear message.
import type { Message } from '../../src-shared/message.ts';
import { formatMessage, msg } from '../../src-shared/messages/index.ts';
import { QuantfitError, errorMessage } from '../core/errors.ts';
import { stat } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { FIT_REQUEST_FIELDS, LIMITS, MEASURE_TYPES_MAX, type ApiArgs, type FitRequest, type InvokeMethod, type RecommendOptions, type SettingsPatch } from '../../src-shared/contract.ts';
import { parseModelName } from '../../src-shared/ollama-names.ts';
import { findFtype } from '../core/quant/ftypes.ts';
import { isAllowedExternalUrl } from './external-links.ts';
import { SETTINGS_CHECKS } from './settings-schema.ts';
import { hubReference } from './source-services.ts';
import type { FitSource } from '../../src-shared/types/fit.ts';

/** A refused IPC argument: "<what> <why>", each a Message where the user can meet it (a setting, a file gone). */
// The argument names a user can meet in an error (a file moved after it was picked).
const WHERE_MODEL = msg('app.where.model');
const WHERE_OUTPUT = msg('app.where.outputFolder');
const WHERE_IMATRIX = msg('app.where.imatrix');

export class IpcValidationError extends QuantfitError {
  constructor(message: Message) {
    super(formatMessage(message, 'en'), {}, { code: message.code, params: message.params ?? {} });
    this.name = 'IpcValidationError';
  }
}

const fail = (where: Message, why: Message): never => {
  throw new IpcValidationError(msg('app.ipc.invalid', { where, why }));
};

function plainObject(v: unknown, where: Message): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(where, msg('ipc.why.object'));
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) fail(where, msg('ipc.why.plainObject'));
  return v as Record<string, unknown>;
}

function onlyKeys(obj: Record<string, unknown>, allowed: readonly string[], where: Message): void {
  for (const k of Object.keys(obj)) if (!allowed.includes(k)) fail(where, msg('ipc.why.unknownField', { field: k.slice(0, 40) }));
}

export function boundedString(v: unknown, where: Message, max: number, min = 1): string {
  if (typeof v !== 'string') fail(where, msg('app.check.string'));
  const s = v as string;
  if (s.length < min || s.length > max) fail(where, msg('ipc.why.length', { min, max, got: s.length }));
  if (s.includes('\0')) fail(where, msg('app.check.noNul'));
  return s;
}

function pathShape(v: unknown, where: Message): string {
  const p = boundedString(v, where, LIMITS.pathChars);
  if (!isAbsolute(p)) fail(where, msg('ipc.why.absolutePath', { path: p.slice(0, 120) }));
  return p;
}

export async function existingFile(v: unknown, where: Message): Promise<string> {
  const p = pathShape(v, where);
  const st = await stat(p).catch(() => null);
  if (!st) fail(where, msg('app.check.missing', { path: p }));
  if (!st!.isFile()) fail(where, msg('app.check.notFile', { path: p }));
  return p;
}

export async function existingFolder(v: unknown, where: Message): Promise<string> {
  const p = pathShape(v, where);
  const st = await stat(p).catch(() => null);
  if (!st) fail(where, msg('app.check.missing', { path: p }));
  if (!st!.isDirectory()) fail(where, msg('app.check.notFolder', { path: p }));
  return p;
}

export async function existingPath(v: unknown, where: Message): Promise<string> {
  const p = pathShape(v, where);
  const st = await stat(p).catch(() => null);
  if (!st) fail(where, msg('app.check.missing', { path: p }));
  if (!st!.isFile() && !st!.isDirectory()) fail(where, msg('app.check.notFileOrFolder', { path: p }));
  return p;
}

export function integerInRange(v: unknown, where: Message, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) fail(where, msg('app.check.wholeNumber'));
  const n = v as number;
  if (n < min || n > max) fail(where, msg('ipc.why.range', { min, max, got: n }));
  return n;
}

/** Ollama's `[host/][namespace/]model[:tag]` grammar (the core's parser), without a URL scheme. */
export function modelName(v: unknown, where: Message): string {
  const s = boundedString(v, where, LIMITS.nameChars);
  if (s.includes('://') || parseModelName(s) === null) fail(where, msg('ipc.why.modelName', { name: s }));
  return s;
}

/** An upper-case llama-quantize type name from the real table (Q4_K_M, Q8_0 …). */
const FTYPE_NAME = /^[A-Z][A-Z0-9_]{1,15}$/;

function ftypeName(v: unknown, where: Message): string {
  const s = boundedString(v, where, 16);
  if (!FTYPE_NAME.test(s) || findFtype(s) === undefined) fail(where, msg('ipc.why.typeName', { name: s }));
  return s;
}

export { MEASURE_TYPES_MAX };

/** The quant types to measure: 1–MEASURE_TYPES_MAX known type names, none twice. */
export function measureTypeList(v: unknown): string[] {
  const where = msg('ipc.where.measureTypes');
  if (!Array.isArray(v)) fail(where, msg('ipc.why.typeList'));
  const list = v as unknown[];
  if (list.length < 1 || list.length > MEASURE_TYPES_MAX) fail(where, msg('ipc.why.typeCount', { max: MEASURE_TYPES_MAX, got: list.length }));
  const names = list.map((t) => ftypeName(t, where));
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined) fail(where, msg('ipc.why.typeTwice', { name: twice }));
  return names;
}

const JOB_ID = /^job-[0-9a-z]{1,32}$/;

function jobId(v: unknown, where: Message): string {
  const s = boundedString(v, where, 40);
  if (!JOB_ID.test(s)) fail(where, msg('ipc.why.jobId'));
  return s;
}

function bool(v: unknown, where: Message): boolean {
  if (typeof v !== 'boolean') fail(where, msg('ipc.why.boolean'));
  return v as boolean;
}

async function recommendOptions(v: unknown): Promise<RecommendOptions> {
  const where = msg('ipc.where.recommendOptions');
  const o = plainObject(v, where);
  onlyKeys(o, ['imatrixPath'], where);
  const out: RecommendOptions = {};
  if (o.imatrixPath !== undefined && o.imatrixPath !== null) out.imatrixPath = await existingFile(o.imatrixPath, WHERE_IMATRIX);
  return out;
}

async function fitRequest(v: unknown): Promise<FitRequest> {
  const where = msg('ipc.where.fitRequest');
  const o = plainObject(v, where);
  onlyKeys(o, FIT_REQUEST_FIELDS, where);
  for (const k of FIT_REQUEST_FIELDS) if (!(k in o)) fail(where, msg('ipc.why.missingField', { field: k }));
  const predicted = o.predictedBytes;
  if (predicted !== null && (typeof predicted !== 'number' || !Number.isSafeInteger(predicted) || predicted < 0)) {
    fail(msg('ipc.where.predictedMemory'), msg('ipc.why.bytesOrNull'));
  }
  // Required<Pick<…>>: the compiler insists every field the renderer sends is checked here.
  const out: Required<Pick<FitRequest, (typeof FIT_REQUEST_FIELDS)[number]>> = {
    modelPath: await existingPath(o.modelPath, WHERE_MODEL),
    type: ftypeName(o.type, msg('ipc.where.quantType')),
    contextLength: integerInRange(o.contextLength, msg('ipc.where.contextLength'), LIMITS.ctxMin, LIMITS.ctxMax),
    outputDir: o.outputDir === null ? null : await existingFolder(o.outputDir, WHERE_OUTPUT),
    modelName: modelName(o.modelName, msg('ipc.where.modelName')),
    register: bool(o.register, msg('ipc.where.register')),
    force: bool(o.force, msg('ipc.where.force')),
    imatrixPath: o.imatrixPath === null ? null : await existingFile(o.imatrixPath, WHERE_IMATRIX),
    predictedBytes: predicted as number | null,
    allowRequantize: bool(o.allowRequantize, msg('ipc.where.allowRequantize')),
    checkQuality: bool(o.checkQuality, msg('ipc.where.checkQuality')),
    source: fitSource(o.source),
  };
  return out;
}

/** A hub repository as the user typed it: an ORG/REPO id, an hf:/modelscope: reference or a hub URL. */
function hubRef(v: unknown, where: Message): string {
  const s = boundedString(v, where, LIMITS.urlChars).trim();
  try {
    hubReference(s);
  } catch (err) {
    fail(where, errorMessage(err));
  }
  return s;
}

const REPO_PATHS_MAX = 10_000;

/** Repo paths to download: 1–REPO_PATHS_MAX relative `/`-paths without `.`/`..` parts. */
function repoPaths(v: unknown, where: Message): string[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > REPO_PATHS_MAX) fail(where, msg('ipc.why.repoPaths', { max: REPO_PATHS_MAX }));
  return (v as unknown[]).map((p, index) => {
    const item = msg('ipc.where.item', { where, index });
    const s = boundedString(p, item, LIMITS.pathChars);
    if (s.startsWith('/') || s.split('/').some((part) => part === '' || part === '.' || part === '..') || s.includes('\\')) {
      fail(item, msg('ipc.why.notRepoPath', { path: s.slice(0, 120) }));
    }
    return s;
  });
}

function optionalText(v: unknown, where: Message): string | null {
  return v === null || v === undefined ? null : boundedString(v, where, LIMITS.textChars, 0);
}

const SOURCE_PARAMETERS_MAX = 64;
const SOURCE_LICENCES_MAX = 16;

/** Where a model came from (FitRequest.source): names and what the new model keeps, all bounded. */
function fitSource(v: unknown): FitSource | null {
  if (v === null) return null;
  const where = msg('ipc.where.modelSource');
  const o = plainObject(v, where);
  onlyKeys(o, ['stem', 'ollamaName', 'template', 'system', 'parameters', 'license'], where);
  const out: FitSource = { stem: boundedString(o.stem, msg('ipc.where.modelSourceName'), LIMITS.nameChars) };
  if (o.ollamaName !== undefined && o.ollamaName !== null) out.ollamaName = modelName(o.ollamaName, msg('ipc.where.ollamaSourceModel'));
  const template = optionalText(o.template, msg('ipc.where.sourceTemplate'));
  if (template !== null) out.template = template;
  const system = optionalText(o.system, msg('ipc.where.sourceSystem'));
  if (system !== null) out.system = system;
  if (o.parameters !== undefined && o.parameters !== null) {
    const params = msg('ipc.where.sourceParameters');
    const p = plainObject(o.parameters, params);
    const keys = Object.keys(p);
    if (keys.length > SOURCE_PARAMETERS_MAX || keys.some((k) => !/^[A-Za-z0-9_]{1,64}$/.test(k))) fail(params, msg('ipc.why.parameterNames', { max: SOURCE_PARAMETERS_MAX }));
    if (JSON.stringify(p).length > LIMITS.textChars) fail(params, msg('ipc.why.parametersLong'));
    out.parameters = p;
  }
  if (o.license !== undefined && o.license !== null) {
    const licence = msg('ipc.where.sourceLicence');
    if (!Array.isArray(o.license) || o.license.length > SOURCE_LICENCES_MAX) fail(licence, msg('ipc.why.licenceList', { max: SOURCE_LICENCES_MAX }));
    out.license = (o.license as unknown[]).map((t, index) => boundedString(t, msg('ipc.where.item', { where: licence, index }), LIMITS.textChars, 0));
  }
  return out;
}

async function settingsPatch(v: unknown): Promise<SettingsPatch> {
  const where = msg('ipc.where.settings');
  const o = plainObject(v, where);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(o)) {
    if (!Object.hasOwn(SETTINGS_CHECKS, key)) fail(where, msg('ipc.why.unknownField', { field: key.slice(0, 40) }));
    const check = SETTINGS_CHECKS[key as keyof SettingsPatch](value);
    if (!check.ok) fail(msg('app.where.setting', { name: key }), check.why);
    out[key] = (check as { value: unknown }).value;
  }
  if (typeof out.outputDir === 'string') out.outputDir = await existingFolder(out.outputDir, msg('app.where.setting', { name: 'outputDir' }));
  return out as SettingsPatch;
}

function externalUrl(v: unknown): string {
  const where = msg('ipc.where.link');
  const s = boundedString(v, where, LIMITS.urlChars);
  if (!isAllowedExternalUrl(s)) fail(where, msg('ipc.why.linkNotAllowed', { url: s.slice(0, 120) }));
  return s;
}

type Validator<M extends InvokeMethod> = (args: readonly unknown[]) => Promise<ApiArgs<M>> | ApiArgs<M>;

const none = (): [] => [];

const VALIDATORS: { [M in InvokeMethod]: { arity: number; check: Validator<M> } } = {
  appInfo: { arity: 0, check: none },
  hardware: { arity: 0, check: none },
  inspectModel: { arity: 1, check: async ([p]) => [await existingPath(p, WHERE_MODEL)] },
  recommend: {
    arity: 3,
    check: async ([p, ctx, opts]) => [
      await existingPath(p, WHERE_MODEL),
      integerInRange(ctx, msg('ipc.where.contextLength'), LIMITS.ctxMin, LIMITS.ctxMax),
      await recommendOptions(opts),
    ],
  },
  pickModelFile: { arity: 0, check: none },
  pickModelFolder: { arity: 0, check: none },
  pickFolder: { arity: 0, check: none },
  pickImatrixFile: { arity: 0, check: none },
  startFit: { arity: 1, check: async ([r]) => [await fitRequest(r)] },
  // A GGUF file or a Hugging Face folder (the measurement converts it for llama.cpp).
  startMeasure: { arity: 2, check: async ([p, types]) => [await existingPath(p, WHERE_MODEL), measureTypeList(types)] },
  measureUnavailableReason: { arity: 1, check: async ([p]) => [await existingPath(p, WHERE_MODEL)] },
  measuredFor: { arity: 1, check: async ([p]) => [await existingPath(p, WHERE_MODEL)] },
  cancelJob: { arity: 1, check: ([id]) => [jobId(id, msg('ipc.where.jobId'))] },
  listModels: { arity: 0, check: none },
  showModel: { arity: 1, check: ([n]) => [modelName(n, msg('ipc.where.modelName'))] },
  deleteModel: { arity: 1, check: ([n]) => [modelName(n, msg('ipc.where.modelName'))] },
  runningModels: { arity: 0, check: none },
  getSettings: { arity: 0, check: none },
  setSettings: { arity: 1, check: async ([p]) => [await settingsPatch(p)] },
  openPath: { arity: 1, check: async ([p]) => [await existingPath(p, msg('ipc.where.path'))] },
  openExternal: { arity: 1, check: ([u]) => [externalUrl(u)] },
  copyText: { arity: 1, check: ([t]) => [boundedString(t, msg('ipc.where.text'), LIMITS.textChars)] },
  ollamaSources: { arity: 0, check: none },
  openOllamaSource: { arity: 1, check: ([n]) => [modelName(n, msg('ipc.where.ollamaModel'))] },
  ollamaPull: { arity: 1, check: ([n]) => [modelName(n, msg('ipc.where.ollamaModel'))] },
  hubListFiles: { arity: 1, check: ([r]) => [hubRef(r, msg('ipc.where.repository'))] },
  hubDownload: { arity: 2, check: ([r, f]) => [hubRef(r, msg('ipc.where.repository')), repoPaths(f, msg('ipc.where.files'))] },
};

/** Validate the arguments of one IPC call; throws IpcValidationError with what is wrong. */
export async function validateArgs<M extends InvokeMethod>(method: M, args: readonly unknown[]): Promise<ApiArgs<M>> {
  const v = VALIDATORS[method] as { arity: number; check: Validator<M> } | undefined;
  if (!v) throw new IpcValidationError(msg('app.ipc.unknownMethod', { method: String(method).slice(0, 40) }));
  if (args.length !== v.arity) {
    throw new IpcValidationError(msg(v.arity === 1 ? 'app.ipc.arityOne' : 'app.ipc.arity', { method, arity: v.arity, got: args.length }));
  }
  return v.check(args);
}

export function isJobId(v: string): boolean {
  return JOB_ID.test(v);
}

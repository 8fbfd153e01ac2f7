// Validation of every IPC argument the renderer sends. The renderer is treated as untrusted:
// each method has a fixed arity, every value is type-, range- and length-checked, and paths must
// exist and be the right kind (file or folder). Anything else is refused with a clear message.
import type { Message } from '../../src-shared/message.ts';
import { formatMessage, msg } from '../../src-shared/messages/index.ts';
import { QuantfitError } from '../core/errors.ts';
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

const fail = (where: string | Message, why: string | Message): never => {
  throw new IpcValidationError(msg('app.ipc.invalid', { where, why }));
};

function plainObject(v: unknown, where: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(where, 'must be an object');
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) fail(where, 'must be a plain object');
  return v as Record<string, unknown>;
}

function onlyKeys(obj: Record<string, unknown>, allowed: readonly string[], where: string): void {
  for (const k of Object.keys(obj)) if (!allowed.includes(k)) fail(where, `has an unknown field '${k.slice(0, 40)}'`);
}

export function boundedString(v: unknown, where: string | Message, max: number, min = 1): string {
  if (typeof v !== 'string') fail(where, 'must be a string');
  const s = v as string;
  if (s.length < min || s.length > max) fail(where, `must be ${min}–${max} characters (got ${s.length})`);
  if (s.includes('\0')) fail(where, 'must not contain NUL characters');
  return s;
}

function pathShape(v: unknown, where: string | Message): string {
  const p = boundedString(v, where, LIMITS.pathChars);
  if (!isAbsolute(p)) fail(where, `must be an absolute path (got '${p.slice(0, 120)}')`);
  return p;
}

export async function existingFile(v: unknown, where: string | Message): Promise<string> {
  const p = pathShape(v, where);
  const st = await stat(p).catch(() => null);
  if (!st) fail(where, msg('app.check.missing', { path: p }));
  if (!st!.isFile()) fail(where, msg('app.check.notFile', { path: p }));
  return p;
}

export async function existingFolder(v: unknown, where: string | Message): Promise<string> {
  const p = pathShape(v, where);
  const st = await stat(p).catch(() => null);
  if (!st) fail(where, msg('app.check.missing', { path: p }));
  if (!st!.isDirectory()) fail(where, msg('app.check.notFolder', { path: p }));
  return p;
}

export async function existingPath(v: unknown, where: string | Message): Promise<string> {
  const p = pathShape(v, where);
  const st = await stat(p).catch(() => null);
  if (!st) fail(where, msg('app.check.missing', { path: p }));
  if (!st!.isFile() && !st!.isDirectory()) fail(where, msg('app.check.notFileOrFolder', { path: p }));
  return p;
}

export function integerInRange(v: unknown, where: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) fail(where, 'must be a whole number');
  const n = v as number;
  if (n < min || n > max) fail(where, `must be between ${min} and ${max} (got ${n})`);
  return n;
}

/** Ollama's `[host/][namespace/]model[:tag]` grammar (the core's parser), without a URL scheme. */
export function modelName(v: unknown, where: string): string {
  const s = boundedString(v, where, LIMITS.nameChars);
  if (s.includes('://') || parseModelName(s) === null) {
    fail(where, `'${s}' is not a valid Ollama model name (letters, digits, '.', '_', '-', optional 'namespace/' and ':tag')`);
  }
  return s;
}

/** An upper-case llama-quantize type name from the real table (Q4_K_M, Q8_0 …). */
const FTYPE_NAME = /^[A-Z][A-Z0-9_]{1,15}$/;

function ftypeName(v: unknown, where: string): string {
  const s = boundedString(v, where, 16);
  if (!FTYPE_NAME.test(s) || findFtype(s) === undefined) fail(where, `'${s}' is not a quant type name (e.g. Q4_K_M)`);
  return s;
}

export { MEASURE_TYPES_MAX };

/** The quant types to measure: 1–MEASURE_TYPES_MAX known type names, none twice. */
export function measureTypeList(v: unknown): string[] {
  const where = 'types to measure';
  if (!Array.isArray(v)) fail(where, 'must be a list of quant type names');
  const list = v as unknown[];
  if (list.length < 1 || list.length > MEASURE_TYPES_MAX) fail(where, `must name 1–${MEASURE_TYPES_MAX} types (got ${list.length})`);
  const names = list.map((t) => ftypeName(t, where));
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined) fail(where, `names '${twice}' twice`);
  return names;
}

const JOB_ID = /^job-[0-9a-z]{1,32}$/;

function jobId(v: unknown, where: string): string {
  const s = boundedString(v, where, 40);
  if (!JOB_ID.test(s)) fail(where, 'is not a job id');
  return s;
}

function bool(v: unknown, where: string): boolean {
  if (typeof v !== 'boolean') fail(where, 'must be true or false');
  return v as boolean;
}

async function recommendOptions(v: unknown): Promise<RecommendOptions> {
  const o = plainObject(v, 'recommend options');
  onlyKeys(o, ['imatrixPath'], 'recommend options');
  const out: RecommendOptions = {};
  if (o.imatrixPath !== undefined && o.imatrixPath !== null) out.imatrixPath = await existingFile(o.imatrixPath, WHERE_IMATRIX);
  return out;
}

async function fitRequest(v: unknown): Promise<FitRequest> {
  const o = plainObject(v, 'fit request');
  onlyKeys(o, FIT_REQUEST_FIELDS, 'fit request');
  for (const k of FIT_REQUEST_FIELDS) if (!(k in o)) fail('fit request', `is missing '${k}'`);
  const predicted = o.predictedBytes;
  if (predicted !== null && (typeof predicted !== 'number' || !Number.isSafeInteger(predicted) || predicted < 0)) {
    fail('predicted memory', 'must be a whole number of bytes or null');
  }
  // Required<Pick<…>>: the compiler insists every field the renderer sends is checked here.
  const out: Required<Pick<FitRequest, (typeof FIT_REQUEST_FIELDS)[number]>> = {
    modelPath: await existingPath(o.modelPath, WHERE_MODEL),
    type: ftypeName(o.type, 'quant type'),
    contextLength: integerInRange(o.contextLength, 'context length', LIMITS.ctxMin, LIMITS.ctxMax),
    outputDir: o.outputDir === null ? null : await existingFolder(o.outputDir, WHERE_OUTPUT),
    modelName: modelName(o.modelName, 'model name'),
    register: bool(o.register, 'register'),
    force: bool(o.force, 'force'),
    imatrixPath: o.imatrixPath === null ? null : await existingFile(o.imatrixPath, WHERE_IMATRIX),
    predictedBytes: predicted as number | null,
    allowRequantize: bool(o.allowRequantize, 'allow re-quantizing'),
    checkQuality: bool(o.checkQuality, 'check quality'),
    source: fitSource(o.source),
  };
  return out;
}

/** A hub repository as the user typed it: an ORG/REPO id, an hf:/modelscope: reference or a hub URL. */
function hubRef(v: unknown, where: string): string {
  const s = boundedString(v, where, LIMITS.urlChars).trim();
  try {
    hubReference(s);
  } catch (err) {
    fail(where, err instanceof Error ? err.message : String(err));
  }
  return s;
}

/** Repo paths to download: 1–10000 relative `/`-paths without `.`/`..` parts. */
function repoPaths(v: unknown, where: string): string[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > 10_000) fail(where, 'must be a list of 1–10000 repository paths');
  return (v as unknown[]).map((p, i) => {
    const s = boundedString(p, `${where} [${i}]`, LIMITS.pathChars);
    if (s.startsWith('/') || s.split('/').some((part) => part === '' || part === '.' || part === '..') || s.includes('\\')) {
      fail(`${where} [${i}]`, `'${s.slice(0, 120)}' is not a path inside the repository`);
    }
    return s;
  });
}

function optionalText(v: unknown, where: string): string | null {
  return v === null || v === undefined ? null : boundedString(v, where, LIMITS.textChars, 0);
}

/** Where a model came from (FitRequest.source): names and what the new model keeps, all bounded. */
function fitSource(v: unknown): FitSource | null {
  if (v === null) return null;
  const o = plainObject(v, 'model source');
  onlyKeys(o, ['stem', 'ollamaName', 'template', 'system', 'parameters', 'license'], 'model source');
  const out: FitSource = { stem: boundedString(o.stem, 'model source name', LIMITS.nameChars) };
  if (o.ollamaName !== undefined && o.ollamaName !== null) out.ollamaName = modelName(o.ollamaName, 'Ollama source model');
  const template = optionalText(o.template, 'source template');
  if (template !== null) out.template = template;
  const system = optionalText(o.system, 'source system prompt');
  if (system !== null) out.system = system;
  if (o.parameters !== undefined && o.parameters !== null) {
    const p = plainObject(o.parameters, 'source parameters');
    const keys = Object.keys(p);
    if (keys.length > 64 || keys.some((k) => !/^[A-Za-z0-9_]{1,64}$/.test(k))) fail('source parameters', 'must be at most 64 Ollama option names');
    if (JSON.stringify(p).length > LIMITS.textChars) fail('source parameters', 'are too long');
    out.parameters = p;
  }
  if (o.license !== undefined && o.license !== null) {
    if (!Array.isArray(o.license) || o.license.length > 16) fail('source licence', 'must be a list of at most 16 texts');
    out.license = (o.license as unknown[]).map((t, i) => boundedString(t, `source licence [${i}]`, LIMITS.textChars, 0));
  }
  return out;
}

async function settingsPatch(v: unknown): Promise<SettingsPatch> {
  const o = plainObject(v, 'settings');
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(o)) {
    if (!Object.hasOwn(SETTINGS_CHECKS, key)) fail('settings', `has an unknown field '${key.slice(0, 40)}'`);
    const check = SETTINGS_CHECKS[key as keyof SettingsPatch](value);
    if (!check.ok) fail(msg('app.where.setting', { name: key }), check.why);
    out[key] = (check as { value: unknown }).value;
  }
  if (typeof out.outputDir === 'string') out.outputDir = await existingFolder(out.outputDir, msg('app.where.setting', { name: 'outputDir' }));
  return out as SettingsPatch;
}

function externalUrl(v: unknown): string {
  const s = boundedString(v, 'link', LIMITS.urlChars);
  if (!isAllowedExternalUrl(s)) fail('link', `'${s.slice(0, 120)}' is not one the app may open`);
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
      integerInRange(ctx, 'context length', LIMITS.ctxMin, LIMITS.ctxMax),
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
  cancelJob: { arity: 1, check: ([id]) => [jobId(id, 'job id')] },
  listModels: { arity: 0, check: none },
  showModel: { arity: 1, check: ([n]) => [modelName(n, 'model name')] },
  deleteModel: { arity: 1, check: ([n]) => [modelName(n, 'model name')] },
  runningModels: { arity: 0, check: none },
  getSettings: { arity: 0, check: none },
  setSettings: { arity: 1, check: async ([p]) => [await settingsPatch(p)] },
  openPath: { arity: 1, check: async ([p]) => [await existingPath(p, 'path')] },
  openExternal: { arity: 1, check: ([u]) => [externalUrl(u)] },
  copyText: { arity: 1, check: ([t]) => [boundedString(t, 'text', LIMITS.textChars)] },
  ollamaSources: { arity: 0, check: none },
  openOllamaSource: { arity: 1, check: ([n]) => [modelName(n, 'Ollama model')] },
  ollamaPull: { arity: 1, check: ([n]) => [modelName(n, 'Ollama model')] },
  hubListFiles: { arity: 1, check: ([r]) => [hubRef(r, 'repository')] },
  hubDownload: { arity: 2, check: ([r, f]) => [hubRef(r, 'repository'), repoPaths(f, 'files')] },
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

// The Ollama stages of a job, shared by `quantfit import` (registerGguf) and the fit job:
//   modelfile  choose the template and stop strings; write the Modelfile's temp file
//   upload     hash unless known; HEAD, then upload what the server lacks
//   create     /api/create from the blob; confirm what Ollama stored; keep the Modelfile
//   verify     the test prompt (a failure is reported, not thrown: the model exists)
// Each takes the Registration (what to register) and returns what the next needs.

import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CancelledError, QuantfitError, errorMessage } from '../errors.ts';
import type { Message } from '../../../src-shared/message.ts';
import { msg } from '../../../src-shared/messages/index.ts';
import { english, type StageRunner } from '../jobs/runner.ts';
import type { GgufKv } from '../gguf/types.ts';
import { blobDigest, sha256File } from './blobs.ts';
import type { OllamaClient } from './client.ts';
import { rendersGgufTemplate } from './compat.ts';
import { modelfileFrom, modelfileOwner, renderModelfile } from './modelfile.ts';
import { planTemplate, type TemplatePlan } from './templates.ts';
import type { TemplateChoice, VerifyResult } from './types.ts';
import { verifyModel } from './verify.ts';

/** What to register, checked and resolved (registerGguf's prepareRegistration, or the fit job). */
export interface Registration {
  /** Absolute path of the GGUF. */
  readonly file: string;
  readonly fileSize: number;
  /** The model name as created: the existing spelling when replacing one (Ollama keeps it). */
  readonly model: string;
  /** True when a model of that name exists and is replaced. */
  readonly replacing: boolean;
  readonly kv: readonly GgufKv[];
  /** The GGUF's sha256 when the writer already computed it. */
  readonly sha256: string | null;
  readonly numCtx: number | null;
  readonly system: string | null;
  /** A Go template the user gave (or the `ollama:` source model had). */
  readonly template: string | null;
  /** Options kept from the model it was made from (`ollama:` sources); ours (num_ctx) win, its `stop` wins over ours. */
  readonly parameters: Readonly<Record<string, unknown>>;
  /** Licence texts, one layer each. */
  readonly license: readonly string[];
  /** The server's version (decides the chat template, compat.ts); null when unknown. */
  readonly serverVersion: string | null;
  /** Write Quantfit's Go template even where the server renders the GGUF's own (drops tool calling). */
  readonly goTemplate: boolean;
  /** Where the Modelfile goes; null writes none. */
  readonly modelfilePath: string | null;
  readonly verify: boolean;
  readonly verifyPrompt: string | null;
  readonly predictedBytes: number | null;
  /** Take the model back when the job is cancelled after creating it (the fit job does). */
  readonly takeBackOnCancel: boolean;
}

export interface RegisterStageContext {
  readonly runner: StageRunner;
  readonly client: OllamaClient;
}

/** What Ollama shows for a model that has no template layer. */
const BARE_TEMPLATE = '{{ .Prompt }}';

/** The Modelfile next to the GGUF: written to a temp file first, renamed once the model exists. */
class ModelfileDraft {
  private temp: string | null = null;
  constructor(
    readonly path: string,
    private readonly reg: Registration,
    private readonly runner: StageRunner,
  ) {}

  /** Writes (or rewrites) the temp file; on failure warns and carries on without a Modelfile. */
  async write(template: string | null, stop: readonly string[]): Promise<void> {
    const temp = this.temp ?? join(dirname(this.path), `.${basename(this.path)}.${randomBytes(4).toString('hex')}.tmp`);
    try {
      // The API request carries every value exactly; only the Modelfile has quoting limits.
      const text = renderModelfile({ from: modelfileFrom(this.path, this.reg.file), template, system: this.reg.system, stop, numCtx: this.reg.numCtx, parameters: modelfileParameters(this.reg.parameters) });
      await writeFile(temp, text, { flag: this.temp === null ? 'wx' : 'w' });
      this.temp = temp;
    } catch (err) {
      await this.discard();
      this.runner.warn('modelfile', msg('ollama.modelfile.cannotWrite', { path: this.path, reason: errorMessage(err) }));
    }
  }

  get written(): boolean {
    return this.temp !== null;
  }

  /** Renames the temp file into place, unless a Modelfile the user wrote is there; the path, or null. */
  async commit(model: string): Promise<string | null> {
    if (this.temp === null) return null;
    if ((await modelfileOwner(this.path)) === 'other') {
      this.runner.warn('create', msg('ollama.modelfile.keptTheirs', { path: this.path, model }));
      await this.discard();
      return null;
    }
    await rename(this.temp, this.path);
    this.temp = null;
    return this.path;
  }

  async discard(): Promise<void> {
    if (this.temp !== null) await rm(this.temp, { force: true });
    this.temp = null;
  }
}

export interface TemplateDraft {
  readonly plan: TemplatePlan;
  /** Stop strings sent with create. */
  readonly stop: readonly string[];
  readonly parameters: Readonly<Record<string, unknown>>;
  readonly modelfile: ModelfileDraft | null;
}

/** Stage 'modelfile': the template and stop strings, and the Modelfile's temp file. */
export async function writeModelfile(rc: RegisterStageContext, reg: Registration): Promise<TemplateDraft> {
  const { runner } = rc;
  runner.start('modelfile');
  const plan = planTemplate(reg.kv, reg.template ?? undefined, { serverRendersGgufTemplate: !reg.goTemplate && rendersGgufTemplate(reg.serverVersion) });
  for (const w of plan.warningTexts) runner.warn('modelfile', w);
  // Without a template of ours, sending `stop` would replace the stop list Ollama adds when it
  // recognises the template itself (request parameters win); the runner ends at EOS regardless.
  // A source model's own stop list (an `ollama:` source) is kept as it was.
  const inheritedStop = Array.isArray(reg.parameters.stop) ? reg.parameters.stop.filter((s): s is string => typeof s === 'string') : null;
  const stop = inheritedStop ?? (plan.template !== null ? plan.stop : []);
  const parameters: Record<string, unknown> = { ...reg.parameters };
  if (stop.length > 0) parameters.stop = [...stop];
  if (reg.numCtx !== null) parameters.num_ctx = reg.numCtx;
  const modelfile = reg.modelfilePath === null ? null : new ModelfileDraft(reg.modelfilePath, reg, runner);
  if (modelfile !== null) {
    runner.onStop(() => modelfile.discard());
    await modelfile.write(plan.template, stop);
  }
  runner.done('modelfile', describeChoice(plan.choice));
  return { plan, stop, parameters, modelfile };
}

export interface UploadedBlob {
  readonly sha256: string;
  readonly digest: string;
  /** False when Ollama already had it. */
  readonly uploaded: boolean;
}

/** Stage 'upload': hash (unless the writer did), then upload what the server lacks. */
export async function uploadModelBlob(rc: RegisterStageContext, reg: Registration): Promise<UploadedBlob> {
  const { runner, client } = rc;
  const { signal } = runner;
  runner.start('upload');
  const sha256 = reg.sha256 ?? (await sha256File(reg.file, { signal, onEvent: runner.emit, stage: 'upload' }));
  const digest = blobDigest(sha256);
  runner.record.blobSha256 = sha256;
  if (await client.hasBlob(sha256, { signal })) {
    runner.record.blobOnServer = true;
    runner.skip('upload', msg('ollama.upload.had', { digest }));
    return { sha256, digest, uploaded: false };
  }
  const r = await client.uploadBlob(reg.file, sha256, { signal, onEvent: runner.emit, stage: 'upload' });
  runner.record.blobOnServer = true;
  runner.done('upload', msg('ollama.upload.sent', { bytes: reg.fileSize }));
  return { sha256, digest, uploaded: r.status === 201 };
}

export interface CreatedModel {
  readonly model: string;
  readonly template: TemplateChoice;
  readonly stop: readonly string[];
  /** The Modelfile written, or null. */
  readonly modelfilePath: string | null;
}

/** Stage 'create': the model from the blob, what Ollama stored, and the Modelfile put in place. */
export async function createModel(rc: RegisterStageContext, reg: Registration, draft: TemplateDraft, blob: UploadedBlob): Promise<CreatedModel> {
  const { runner, client } = rc;
  const { signal } = runner;
  const { model } = reg;
  if (reg.takeBackOnCancel) runner.onStop((cancelled) => takeBackModel(rc, reg, cancelled));
  runner.start('create', msg('ollama.create.start', { model }));
  if (reg.replacing) runner.warn('create', msg('ollama.create.replacing', { model }));
  try {
    await client.createModel(
      {
        model,
        files: { [basename(reg.file)]: blob.digest },
        ...(draft.plan.template !== null ? { template: draft.plan.template } : {}),
        ...(reg.system !== null ? { system: reg.system } : {}),
        parameters: draft.parameters,
        ...(reg.license.length > 0 ? { license: [...reg.license] } : {}),
      },
      { signal, onEvent: runner.emit },
    );
  } catch (err) {
    if (err instanceof CancelledError) throw err;
    const error = errorMessage(err);
    const text = blob.uploaded ? msg('ollama.create.failedOrphan', { error }) : error;
    throw new QuantfitError(english(text), { file: reg.file }, { cause: err, code: text.code, ...(text.params ? { params: text.params } : {}) });
  }
  runner.record.modelCreated = model;

  const shown = await confirmTemplate(rc, reg, draft);
  // Ollama ≥ 0.30 stores a rewritten copy of the GGUF; the upload then waits for pruning.
  const stored = /^FROM .*sha256[-:]([0-9a-f]{64})\s*$/m.exec(shown.modelfileText)?.[1];
  if (blob.uploaded && stored !== undefined && stored !== blob.sha256) {
    runner.info('create', msg('ollama.create.rewritten', { bytes: reg.fileSize }));
  }
  runner.done('create', msg('ollama.create.done', { model }));
  // Ours from an earlier run is replaced; a Modelfile the user wrote under this name is kept.
  const modelfilePath = draft.modelfile !== null ? await draft.modelfile.commit(model) : null;
  return { model, template: shown.choice, stop: shown.stop, modelfilePath };
}

/** Confirms Ollama stored the template we meant, or takes over the one Ollama picked itself. */
async function confirmTemplate(
  rc: RegisterStageContext,
  reg: Registration,
  draft: TemplateDraft,
): Promise<{ choice: TemplateChoice; stop: readonly string[]; modelfileText: string }> {
  const { runner, client } = rc;
  const { model } = reg;
  const shown = await client.showModel(model, { signal: runner.signal });
  const sent = draft.plan.template;
  if (sent !== null && shown.template !== sent) {
    runner.warn('create', msg('ollama.create.templateDiffers', { model }));
  } else if (sent === null && shown.template !== '' && shown.template !== BARE_TEMPLATE) {
    // Ollama matched the Jinja template to one of its own: keep its template and stops, and write
    // them into the Modelfile so `ollama create -f` gives the same model on any Ollama version.
    const stop = parseShownStops(shown.parameters);
    runner.info('create', msg('ollama.create.recognised'));
    if (draft.modelfile?.written === true) await draft.modelfile.write(shown.template, stop);
    const reason = msg('ollama.template.recognised', { reason: draft.plan.choice.reasonText });
    return { choice: { kind: 'ollama', reason: english(reason), reasonText: reason }, stop, modelfileText: shown.modelfile };
  }
  return { choice: draft.plan.choice, stop: draft.stop, modelfileText: shown.modelfile };
}

/**
 * Undo of 'create' for a cancelled job: remove the model this run made (and its Modelfile). During
 * create the server may finish the model after the request was dropped, so look first. A model that
 * existed before (replaced with force) is not touched: the old one is gone by then.
 */
async function takeBackModel(rc: RegisterStageContext, reg: Registration, cancelled: boolean): Promise<void> {
  const { record } = rc.runner;
  if (!cancelled || reg.replacing) return;
  const created = record.modelCreated;
  try {
    const found = created ?? (await rc.client.findModel(reg.model))?.name;
    if (found === undefined) return;
    await rc.client.deleteModel(found);
    record.removedModel = found;
    record.modelCreated = null;
    // Only a Modelfile we wrote: one the user wrote under that name was kept by commit().
    if (created !== null && reg.modelfilePath !== null && (await modelfileOwner(reg.modelfilePath)) === 'quantfit') {
      await rm(reg.modelfilePath, { force: true });
    }
  } catch (e) {
    if (created !== null) record.removeError = errorMessage(e);
  }
}

export interface VerifyOutcome {
  /** The test run, or null when skipped or failed. */
  readonly verify: VerifyResult | null;
  /** Why the test run failed; the model is registered regardless. */
  readonly verifyError: Message | null;
}

/** Stage 'verify': the test prompt. A failure is a warning and `verifyError`, not an exception. */
export async function verifyCreated(rc: RegisterStageContext, reg: Registration, created: CreatedModel): Promise<VerifyOutcome> {
  const { runner, client } = rc;
  if (!reg.verify) {
    runner.skip('verify', msg('ollama.verify.notRequested'));
    return { verify: null, verifyError: null };
  }
  try {
    const verify = await verifyModel(client, created.model, {
      ...(reg.verifyPrompt !== null ? { prompt: reg.verifyPrompt } : {}),
      ...(reg.predictedBytes !== null ? { predictedBytes: reg.predictedBytes } : {}),
      signal: runner.signal,
      onEvent: runner.emit,
    });
    return { verify, verifyError: null };
  } catch (err) {
    if (err instanceof CancelledError) throw err;
    const verifyError = errorMessage(err);
    runner.warn('verify', msg('ollama.verify.failed', { model: created.model, error: verifyError }));
    return { verify: null, verifyError };
  }
}

/** The inherited options other than stop and num_ctx, as Modelfile PARAMETER lines (lists: one line each). */
function modelfileParameters(inherited: Readonly<Record<string, unknown>>): Array<readonly [string, string | number]> {
  return Object.entries(inherited)
    .filter(([k]) => k !== 'stop' && k !== 'num_ctx')
    .flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => [k, typeof x === 'number' ? x : String(x)] as const));
}

/** The `stop` values of /api/show's `parameters` text (one `name value` line each, Go-quoted strings). */
export function parseShownStops(parameters: string): string[] {
  const out: string[] = [];
  for (const line of parameters.split('\n')) {
    const value = /^stop\s+(.*)$/.exec(line.trim())?.[1]?.trim();
    if (value === undefined) continue;
    try {
      out.push(value.startsWith('"') ? (JSON.parse(value) as string) : value);
    } catch {
      out.push(value.replace(/^"|"$/g, ''));
    }
  }
  return out;
}

/** The modelfile stage's note: what was chosen and why. */
export function describeChoice(choice: TemplateChoice): Message {
  const reason = choice.reasonText;
  switch (choice.kind) {
    case 'own':
      return msg('ollama.choice.own', { family: choice.family, reason });
    case 'user':
      return msg('ollama.choice.user');
    case 'ollama':
      return msg('ollama.choice.ollama', { reason });
    case 'none':
      return msg('ollama.choice.none', { reason });
    case 'gguf':
      return msg('ollama.choice.gguf', { reason });
  }
}

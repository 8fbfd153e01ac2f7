// Register one GGUF with Ollama: check the name and the server, choose the chat template and stop
// strings, write the Modelfile, upload the blob (skipped when Ollama has it), create, confirm with
// /api/show, and run the smoke test. The fit job calls this after quantizing, passing the sha256 and
// metadata the writer already has so the file is not read twice.

import { randomBytes } from 'node:crypto';
import { rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { CancelledError, QuantfitError, describeError, throwIfAborted } from '../errors.ts';
import { readGgufHeader } from '../gguf/reader.ts';
import type { GgufKv } from '../gguf/types.ts';
import type { JobEvent, Stage } from '../progress.ts';
import { ORPHAN_BLOB_NOTE, blobDigest, sha256File } from './blobs.ts';
import { OllamaClient, networkErrorCode } from './client.ts';
import { checkOllamaCompat } from './compat.ts';
import { resolveOllamaHost } from './host.ts';
import { modelfileFrom, modelfileOwner, modelfilePathFor, renderModelfile } from './modelfile.ts';
import { displayName, requireModelName } from './names.ts';
import { probeServer, startServer } from './server.ts';
import { planTemplate } from './templates.ts';
import type { RegisterOptions, RegisterResult, TemplateChoice, VerifyResult } from './types.ts';
import { verifyModel } from './verify.ts';

export interface JobContext {
  readonly signal?: AbortSignal;
  readonly onEvent?: (e: JobEvent) => void;
  /** A client to use instead of one built from `options.host` (tests, the app's shared client). */
  readonly client?: OllamaClient;
}

/** What Ollama shows for a model that has no template layer. */
const BARE_TEMPLATE = '{{ .Prompt }}';

/**
 * Checks the server answers; if not, starts it when `start` is set and an `ollama` binary exists,
 * otherwise says whether to start it or install it.
 */
export async function requireServer(
  client: OllamaClient,
  signal?: AbortSignal,
  opts: { start?: boolean; onEvent?: (e: JobEvent) => void } = {},
): Promise<string> {
  try {
    return await client.version({ signal });
  } catch (err) {
    if (err instanceof CancelledError || networkErrorCode((err as Error).cause ?? err) === null) throw err;
    const status = await probeServer(client, { signal, timeoutMs: 500 });
    if (status.state === 'running') return status.version;
    if (status.state === 'stopped' && opts.start && client.host.loopback) {
      opts.onEvent?.({ type: 'log', level: 'info', message: `starting '${status.binary} serve' for ${client.host.url}` });
      return (await startServer(client, status.binary, { signal })).version;
    }
    if (status.state === 'stopped') {
      throw new QuantfitError(`Ollama is not running at ${client.host.url}: start it with '${status.binary} serve' (or open the Ollama app) and try again`, {}, { cause: err });
    }
    throw new QuantfitError(`nothing answers at ${client.host.url}. ${status.message}`, {}, { cause: err });
  }
}

/**
 * Imports `options.ggufPath` into Ollama as `options.name`. Events: 'modelfile' (template choice),
 * 'upload' (hashing + byte progress, or skipped), 'create' (the server's status lines), 'verify'.
 * Throws QuantfitError (bad input, name taken without `force`, server unreachable or refusing) or
 * CancelledError; on any failure no Modelfile or temp file is left, and the message says when an
 * uploaded blob is left for Ollama to prune. A failed smoke test does not throw: see `verifyError`.
 * The fit job passes `sha256` and `kv` from the writer so the file is read only by the upload.
 */
export async function registerGguf(options: RegisterOptions, ctx: JobContext = {}): Promise<RegisterResult> {
  const { signal } = ctx;
  const emit = (e: JobEvent) => ctx.onEvent?.(e);
  const warnings: string[] = [];
  const warn = (message: string, stage: Stage) => {
    warnings.push(message);
    emit({ type: 'log', level: 'warn', stage, message });
  };

  const file = resolve(options.ggufPath);
  const name = requireModelName(options.name);
  let model = displayName(name);
  if (options.numCtx !== undefined && (!Number.isInteger(options.numCtx) || options.numCtx < 1)) {
    throw new QuantfitError(`num_ctx must be a positive whole number, got ${options.numCtx}`);
  }
  let fileSize: number;
  try {
    const st = await stat(file);
    if (!st.isFile()) throw new QuantfitError('not a file', { file });
    fileSize = st.size;
  } catch (err) {
    if (err instanceof QuantfitError) throw err;
    throw new QuantfitError(`cannot read: ${(err as Error).message}`, { file }, { cause: err });
  }
  // A precomputed digest is checked now, before anything is written or sent.
  const knownSha256 = options.sha256 !== undefined ? blobDigest(options.sha256).slice('sha256:'.length) : undefined;
  const modelfilePath = options.modelfilePath === null ? null : resolve(options.modelfilePath ?? modelfilePathFor(file));
  if (modelfilePath === file) throw new QuantfitError('the Modelfile path is the GGUF itself', { file });
  const header = options.kv !== undefined && options.tensors !== undefined ? null : await readGgufHeader(file);
  const kv: readonly GgufKv[] = options.kv ?? header?.kv ?? [];
  const tensors = options.tensors ?? header?.tensors ?? [];
  throwIfAborted(signal);

  const client = ctx.client ?? new OllamaClient(resolveOllamaHost({ explicit: options.host }));
  const version = await requireServer(client, signal, { start: options.startServer, onEvent: emit });
  const problem = checkOllamaCompat({ tensors, architecture: kvString(kv, 'general.architecture') }, version);
  if (problem) throw new QuantfitError(problem.text, { file }, { code: problem.message.code, params: problem.message.params });

  // Never replace someone's model by accident: Ollama matches names case-insensitively.
  const existing = await client.findModel(model, { signal });
  if (existing && !options.force) {
    throw new QuantfitError(
      `Ollama already has a model named '${existing.name}' (quantization ${existing.quantization ?? 'unknown'}, modified ${existing.modifiedAt}); ` +
        `choose another name or pass --force to replace it`,
    );
  }
  if (existing) {
    // Ollama keeps the existing name's spelling when it overwrites, so report that one.
    model = existing.name;
    warn(`replacing the existing model '${existing.name}' (--force)`, 'create');
  }

  // Template, stop strings and the Modelfile.
  emit({ type: 'stage', stage: 'modelfile', status: 'start' });
  const plan = planTemplate(kv, options.template);
  for (const w of plan.warnings) warn(w, 'modelfile');
  const inherited = options.parameters ?? {};
  const parameters: Record<string, unknown> = { ...inherited };
  // Without a template of ours, sending `stop` would replace the stop list Ollama adds when it
  // recognises the template itself (request parameters win); the runner ends at EOS regardless.
  // A source model's own stop list (an `ollama:` source) is kept as it was.
  const inheritedStop = Array.isArray(inherited.stop) ? inherited.stop.filter((s): s is string => typeof s === 'string') : null;
  const sendStop = inheritedStop ?? (plan.choice.kind !== 'none' ? plan.stop : []);
  if (sendStop.length > 0) parameters.stop = [...sendStop];
  const otherParameters = Object.entries(inherited)
    .filter(([k]) => k !== 'stop' && k !== 'num_ctx')
    .flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => [k, typeof x === 'number' ? x : String(x)] as const));
  if (options.numCtx !== undefined) parameters.num_ctx = options.numCtx;
  let modelfileTemp: string | null = null;
  /** Writes the Modelfile's temp file (again, once Ollama has said which template it picked). */
  const writeModelfileTemp = async (template: string | null, stop: readonly string[]): Promise<void> => {
    if (modelfilePath === null) return;
    const temp = modelfileTemp ?? join(dirname(modelfilePath), `.${basename(modelfilePath)}.${randomBytes(4).toString('hex')}.tmp`);
    try {
      // The API request carries every value exactly; only the Modelfile has quoting limits.
      const text = renderModelfile({ from: modelfileFrom(modelfilePath, file), template, system: options.system ?? null, stop, numCtx: options.numCtx ?? null, parameters: otherParameters });
      await writeFile(temp, text, { flag: modelfileTemp === null ? 'wx' : 'w' });
      modelfileTemp = temp;
    } catch (err) {
      if (modelfileTemp !== null) await rm(modelfileTemp, { force: true });
      modelfileTemp = null;
      warn(`cannot write the Modelfile ${modelfilePath} (${describeError(err)}); continuing without it`, 'modelfile');
    }
  };
  await writeModelfileTemp(plan.template, sendStop);
  emit({ type: 'stage', stage: 'modelfile', status: 'done', message: describeChoice(plan.choice) });

  let uploaded = false;
  let renamed = false;
  try {
    // Hash (unless the writer already did), then upload what the server lacks.
    emit({ type: 'stage', stage: 'upload', status: 'start' });
    const sha256 = knownSha256 ?? (await sha256File(file, { signal, onEvent: emit, stage: 'upload' }));
    const digest = blobDigest(sha256);
    if (await client.hasBlob(sha256, { signal })) {
      emit({ type: 'stage', stage: 'upload', status: 'skipped', message: `Ollama already has ${digest}` });
    } else {
      const r = await client.uploadBlob(file, sha256, { signal, onEvent: emit, stage: 'upload' });
      uploaded = r.status === 201;
      emit({ type: 'stage', stage: 'upload', status: 'done', message: `${fileSize} bytes sent` });
    }

    // Create. Errors in the stream are shown as the server wrote them.
    emit({ type: 'stage', stage: 'create', status: 'start', message: `creating ${model}` });
    try {
      await client.createModel(
        {
          model,
          files: { [basename(file)]: digest },
          ...(plan.template !== null ? { template: plan.template } : {}),
          ...(options.system ? { system: options.system } : {}),
          parameters,
          ...(options.license && options.license.length > 0 ? { license: [...options.license] } : {}),
        },
        { signal, onEvent: emit },
      );
    } catch (err) {
      if (err instanceof CancelledError) throw err;
      const note = uploaded ? ` (the upload finished but ${ORPHAN_BLOB_NOTE})` : '';
      throw new QuantfitError(`${describeError(err)}${note}`, { file }, { cause: err });
    }

    // Confirm Ollama stored the template we meant.
    let choice: TemplateChoice = plan.choice;
    let stop: readonly string[] = sendStop;
    const shown = await client.showModel(model, { signal });
    if (plan.template !== null && shown.template !== plan.template) {
      warn(`Ollama reports a different template for ${model} than the one sent; check 'ollama show ${model} --template'`, 'create');
    } else if (plan.template === null && shown.template !== '' && shown.template !== BARE_TEMPLATE) {
      // Ollama matched the Jinja template to one of its own: keep its template and stops, and write
      // them into the Modelfile so `ollama create -f` gives the same model on any Ollama version.
      choice = { kind: 'ollama', reason: `${plan.choice.reason}; Ollama recognised the template itself` };
      stop = parseShownStops(shown.parameters);
      emit({ type: 'log', level: 'info', stage: 'create', message: 'Ollama recognised the chat template itself' });
      if (modelfileTemp !== null) await writeModelfileTemp(shown.template, stop);
    }
    // Ollama ≥ 0.30 stores a rewritten copy of the GGUF; the upload then waits for pruning.
    const stored = /^FROM .*sha256[-:]([0-9a-f]{64})\s*$/m.exec(shown.modelfile)?.[1];
    if (uploaded && stored !== undefined && stored !== sha256) {
      emit({
        type: 'log',
        level: 'info',
        stage: 'create',
        message: `Ollama stored its own rewritten copy of the GGUF; the uploaded blob (${fileSize} bytes) stays on disk until Ollama restarts and prunes it`,
      });
    }
    emit({ type: 'stage', stage: 'create', status: 'done', message: `${model} created` });

    if (modelfileTemp !== null && modelfilePath !== null) {
      // Ours from an earlier run is replaced; a Modelfile the user wrote under this name is kept.
      if ((await modelfileOwner(modelfilePath)) === 'other') {
        warn(`kept the existing ${modelfilePath} (not written by Quantfit); the Modelfile for ${model} was not written`, 'create');
      } else {
        await rename(modelfileTemp, modelfilePath);
        renamed = true;
      }
    }

    let verify: VerifyResult | null = null;
    let verifyError: string | null = null;
    if (options.verify === false) {
      emit({ type: 'stage', stage: 'verify', status: 'skipped', message: 'verification not requested' });
    } else {
      try {
        verify = await verifyModel(client, model, { prompt: options.verifyPrompt, predictedBytes: options.predictedBytes, signal, onEvent: emit });
      } catch (err) {
        if (err instanceof CancelledError) throw err;
        verifyError = describeError(err);
        warn(`${model} was created, but the test run failed: ${verifyError}`, 'verify');
      }
    }

    return {
      model,
      file,
      sha256,
      uploaded,
      modelfilePath: renamed ? modelfilePath : null,
      template: choice,
      stop,
      verify,
      verifyError,
      warnings,
    };
  } finally {
    if (modelfileTemp !== null && !renamed) await rm(modelfileTemp, { force: true });
  }
}

function kvString(kv: readonly GgufKv[], key: string): string | null {
  const v = kv.find((e) => e.key === key)?.value;
  return typeof v === 'string' ? v : null;
}

/** The `stop` values of /api/show's `parameters` text (one `name value` line each, Go-quoted strings). */
export function parseShownStops(parameters: string): string[] {
  const out: string[] = [];
  for (const line of parameters.split('\n')) {
    const m = /^stop\s+(.*)$/.exec(line.trim());
    if (!m) continue;
    const raw = m[1]!.trim();
    try {
      out.push(raw.startsWith('"') ? (JSON.parse(raw) as string) : raw);
    } catch {
      out.push(raw.replace(/^"|"$/g, ''));
    }
  }
  return out;
}

export function describeChoice(choice: TemplateChoice): string {
  switch (choice.kind) {
    case 'own':
      return `using Quantfit's ${choice.family} template: ${choice.reason}`;
    case 'user':
      return 'using the template given';
    case 'ollama':
      return `template chosen by Ollama: ${choice.reason}`;
    case 'none':
      return `no chat template: ${choice.reason}`;
  }
}

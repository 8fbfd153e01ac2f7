// Register one GGUF with Ollama (`quantfit import`): check the file, the name and the server, then
// run the Ollama stages (register-stages.ts): modelfile → upload → create → verify. The fit job runs
// the same stages after quantizing, passing the sha256 and metadata the writer already has.

import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { CancelledError, QuantfitError, quantfitError, reasonOf, throwIfAborted } from '../errors.ts';
import { msg } from '../../../src-shared/messages/index.ts';
import { english } from '../jobs/runner.ts';
import { readGgufHeader } from '../gguf/reader.ts';
import { StageRunner } from '../jobs/runner.ts';
import type { JobEvent } from '../progress.ts';
import { blobDigest } from './blobs.ts';
import { OllamaClient, networkErrorCode } from './client.ts';
import { checkOllamaCompat } from './compat.ts';
import { resolveOllamaHost } from './host.ts';
import { modelfilePathFor } from './modelfile.ts';
import { displayName, requireModelName } from './names.ts';
import { createModel, uploadModelBlob, verifyCreated, writeModelfile, type Registration, type RegisterStageContext } from './register-stages.ts';
import { installMessage, probeServer, startServer } from './server.ts';
import type { RegisterOptions, RegisterResult } from './types.ts';

export { describeChoice, parseShownStops } from './register-stages.ts';

export interface JobContext {
  readonly signal?: AbortSignal;
  readonly onEvent?: (e: JobEvent) => void;
  /** A client to use instead of one built from `options.host` (tests, the app's shared client). */
  readonly client?: OllamaClient;
}

/**
 * Checks the server answers and returns its version; if not, starts it when `start` is set and an
 * `ollama` binary exists, otherwise says whether to start it or install it.
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
      const starting = msg('ollama.starting', { binary: status.binary, url: client.host.url });
      opts.onEvent?.({ type: 'log', level: 'info', message: english(starting), text: starting });
      return (await startServer(client, status.binary, { signal })).version;
    }
    if (status.state === 'stopped') {
      throw quantfitError('ollama.error.notRunning', { url: client.host.url, binary: status.binary }, {}, err);
    }
    throw quantfitError('ollama.error.nothingAnswers', { url: client.host.url, install: installMessage() }, {}, err);
  }
}

/** The file's size; a clear error when it is not a readable file. */
async function fileSize(file: string): Promise<number> {
  try {
    const st = await stat(file);
    if (!st.isFile()) throw quantfitError('ollama.error.notAFile', {}, { file });
    return st.size;
  } catch (err) {
    if (err instanceof QuantfitError) throw err;
    throw quantfitError('ollama.error.cannotRead', { reason: reasonOf(err) }, { file }, err);
  }
}

/**
 * Everything checked before anything is written or sent: the file, num_ctx, a known digest, the
 * server, whether it can load this GGUF, and the name (an existing model is refused without force).
 */
async function prepareRegistration(options: RegisterOptions, client: OllamaClient, runner: StageRunner): Promise<Registration> {
  const { signal } = runner;
  const file = resolve(options.ggufPath);
  const name = displayName(requireModelName(options.name));
  if (options.numCtx !== undefined && (!Number.isInteger(options.numCtx) || options.numCtx < 1)) {
    throw quantfitError('ollama.error.numCtx', { value: options.numCtx });
  }
  const size = await fileSize(file);
  const sha256 = options.sha256 !== undefined ? blobDigest(options.sha256).slice('sha256:'.length) : null;
  const modelfilePath = options.modelfilePath === null ? null : resolve(options.modelfilePath ?? modelfilePathFor(file));
  if (modelfilePath === file) throw quantfitError('ollama.error.modelfileIsGguf', {}, { file });
  const header = options.kv !== undefined && options.tensors !== undefined ? null : await readGgufHeader(file);
  const kv = options.kv ?? header?.kv ?? [];
  const tensors = options.tensors ?? header?.tensors ?? [];
  throwIfAborted(signal);

  const version = await requireServer(client, signal, { start: options.startServer, onEvent: runner.emit });
  const architecture = kv.find((e) => e.key === 'general.architecture')?.value;
  const problem = checkOllamaCompat({ tensors, architecture: typeof architecture === 'string' ? architecture : null }, version);
  if (problem) throw new QuantfitError(problem.text, { file }, { code: problem.message.code, params: problem.message.params });

  // Never replace someone's model by accident: Ollama matches names case-insensitively.
  const existing = await client.findModel(name, { signal });
  if (existing && !options.force) {
    throw quantfitError('ollama.error.nameTaken', { name: existing.name, quantization: existing.quantization ?? msg('fit.cli.unknown'), modified: existing.modifiedAt });
  }
  return {
    file,
    fileSize: size,
    // Ollama keeps the existing name's spelling when it overwrites, so report that one.
    model: existing?.name ?? name,
    replacing: existing !== null,
    kv,
    sha256,
    numCtx: options.numCtx ?? null,
    system: options.system ?? null,
    template: options.template ?? null,
    parameters: options.parameters ?? {},
    license: options.license ?? [],
    serverVersion: version,
    goTemplate: options.goTemplate === true,
    modelfilePath,
    verify: options.verify !== false,
    verifyPrompt: options.verifyPrompt ?? null,
    predictedBytes: options.predictedBytes ?? null,
    takeBackOnCancel: false,
  };
}

/**
 * Imports `options.ggufPath` into Ollama as `options.name`. Events: 'modelfile' (template choice),
 * 'upload' (hashing + byte progress, or skipped), 'create' (the server's status lines), 'verify'.
 * Throws QuantfitError (bad input, name taken without `force`, server unreachable or refusing, a
 * GGUF this server cannot load) or CancelledError; on any failure no Modelfile or temp file is
 * left, and the message says when an uploaded blob is left for Ollama to prune. A failed smoke test
 * does not throw: see `verifyError`.
 */
export async function registerGguf(options: RegisterOptions, ctx: JobContext = {}): Promise<RegisterResult> {
  const runner = new StageRunner(ctx.signal, ctx.onEvent);
  try {
    const client = ctx.client ?? new OllamaClient(resolveOllamaHost({ explicit: options.host }));
    const reg = await prepareRegistration(options, client, runner);
    const rc: RegisterStageContext = { runner, client };
    const draft = await runner.run('modelfile', () => writeModelfile(rc, reg));
    const blob = await runner.run('upload', () => uploadModelBlob(rc, reg));
    const created = await runner.run('create', () => createModel(rc, reg, draft, blob));
    const checked = await runner.run('verify', () => verifyCreated(rc, reg, created));
    return {
      model: created.model,
      file: reg.file,
      sha256: blob.sha256,
      uploaded: blob.uploaded,
      modelfilePath: created.modelfilePath,
      template: created.template,
      stop: created.stop,
      verify: checked.verify,
      verifyError: checked.verifyError,
      warnings: runner.warnings,
    };
  } catch (err) {
    await runner.unwind(err instanceof CancelledError || ctx.signal?.aborted === true);
    throw err;
  } finally {
    runner.dispose();
  }
}

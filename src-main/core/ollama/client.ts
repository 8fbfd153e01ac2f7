// One client for everything Quantfit asks of Ollama: the JSON endpoints through the `ollama` npm
// client, and (as ollama-js's Node class adds file methods to its base) the blob HEAD/upload and the
// quick version probe, all through the same host, fetch and timeouts. Every failure becomes a
// QuantfitError that says which server, what was asked, and the server's own words.

import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Ollama } from 'ollama';
import { CancelledError, QuantfitError, quantfitError, reasonOf, throwIfAborted } from '../errors.ts';
import type { JobEvent, Stage } from '../progress.ts';
import { RateMeter } from '../progress.ts';
import { blobDigest } from './blobs.ts';
import type { Message } from '../../../src-shared/message.ts';
import { formatMessage, msg } from '../../../src-shared/messages/index.ts';
import { displayName, parseModelName } from './names.ts';
import type { OllamaHost, OllamaModelDetails, OllamaModelSummary, RunningModel } from './types.ts';

/** The parts of `/api/create` we send (ollama-js does not type `files`). */
export interface CreateModelRequest {
  readonly model: string;
  readonly files: Readonly<Record<string, string>>;
  readonly template?: string;
  readonly system?: string;
  readonly parameters?: Readonly<Record<string, unknown>>;
  readonly license?: readonly string[];
}

export interface GenerateResult {
  readonly response: string;
  readonly doneReason: string | null;
  readonly totalDurationNs: number;
  readonly loadDurationNs: number;
  readonly promptEvalCount: number;
  readonly evalCount: number;
  readonly evalDurationNs: number;
}

interface OperationOptions {
  readonly signal?: AbortSignal;
}

export interface TransferOptions extends OperationOptions {
  readonly onEvent?: (e: JobEvent) => void;
  /** Stage named in progress events (default 'upload'). */
  readonly stage?: Stage;
}

export interface UploadResult {
  /** 201 = stored now; 200 = the server already had it and did not read the body. */
  readonly status: 200 | 201;
  readonly bytesSent: number;
}

/** How long the quick "is anybody there" probe waits before calling the server absent. */
export const PROBE_TIMEOUT_MS = 2000;
/** Progress events at most this often while hashing or uploading. */
const PROGRESS_INTERVAL_MS = 100;

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EHOSTUNREACH', 'ETIMEDOUT', 'EPIPE', 'UND_ERR_SOCKET', 'EAI_AGAIN']);

/** The error code of a network failure (fetch wraps it in `cause`), or null. */
export function networkErrorCode(err: unknown): string | null {
  for (let e: unknown = err, depth = 0; e && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  if (err instanceof TypeError && /fetch failed/.test(err.message)) return 'fetch failed';
  return null;
}

/** The first `code` along the cause chain, or 'error'. */
function errorCode(err: unknown): string {
  for (let e: unknown = err, depth = 0; e && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return 'error';
}

/** The innermost error's message (fetch says only "fetch failed"; its cause says what broke). */
function innermostMessage(err: unknown): string {
  let e: unknown = err;
  for (let depth = 0; depth < 4 && (e as { cause?: unknown }).cause instanceof Error; depth++) e = (e as { cause: unknown }).cause;
  return e instanceof Error ? e.message : String(e);
}

function isAbortError(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || (err as { code?: unknown }).code === 'ABORT_ERR');
}

function asRecord(v: unknown): Record<string, unknown> {
  return v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : {};
}
function str(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}
function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}
function strList(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** Ollama's create status lines, mapped to messages where known; others as the server wrote them. */
const CREATE_STATUSES: ReadonlyArray<readonly [RegExp, (m: RegExpExecArray) => Message]> = [
  [/^parsing GGUF$/, () => msg('ollama.status.parsing')],
  [/^using existing layer (\S+)$/, (m) => msg('ollama.status.usingLayer', { digest: m[1] ?? '' })],
  [/^creating new layer (\S+)$/, (m) => msg('ollama.status.creatingLayer', { digest: m[1] ?? '' })],
  [/^writing manifest$/, () => msg('ollama.status.writingManifest')],
  [/^success$/, () => msg('ollama.status.success')],
  [/^validating GGUF model$/, () => msg('ollama.status.validating')],
  [/^verifying conversion$/, () => msg('ollama.status.verifying')],
  [/^using autodetected template (\S+)$/, (m) => msg('ollama.status.autodetected', { name: m[1] ?? '' })],
];

export function createStatusMessage(status: string): Message {
  for (const [re, make] of CREATE_STATUSES) {
    const m = re.exec(status);
    if (m) return make(m);
  }
  return msg('common.text', { text: status });
}

/** The error when nothing answers at `url`. */
export function unreachableError(url: string, code: string, cause: unknown): QuantfitError {
  return quantfitError('ollama.error.unreachable', { url, code }, {}, cause);
}

/** unreachableError's text in English. */
export function unreachableMessage(url: string, code: string): string {
  return formatMessage(msg('ollama.error.unreachable', { url, code }), 'en');
}

/** The same server placement `ollama ps` prints in its PROCESSOR column. */
export function placementOf(size: number, sizeVram: number): { placement: RunningModel['placement']; gpuPercent: number } {
  if (size <= 0 || sizeVram <= 0) return { placement: 'cpu', gpuPercent: 0 };
  if (sizeVram >= size) return { placement: 'gpu', gpuPercent: 100 };
  return { placement: 'split', gpuPercent: Math.round((sizeVram / size) * 100) };
}

export class OllamaClient {
  readonly host: OllamaHost;
  private readonly fetchImpl: typeof fetch;
  private readonly probeTimeoutMs: number;

  constructor(host: OllamaHost, options: { fetch?: typeof fetch; probeTimeoutMs?: number } = {}) {
    this.host = host;
    this.fetchImpl = options.fetch ?? fetch;
    this.probeTimeoutMs = options.probeTimeoutMs ?? PROBE_TIMEOUT_MS;
  }

  /** `fetch` against this server's `path`, ending when either signal fires. */
  private send(path: string, init: RequestInit, signals: ReadonlyArray<AbortSignal | undefined>): Promise<Response> {
    const live = signals.filter((s): s is AbortSignal => s !== undefined);
    return this.fetchImpl(`${this.host.url}${path}`, { ...init, ...(live.length > 0 ? { signal: AbortSignal.any(live) } : {}) });
  }

  /** An ollama-js instance whose requests also end when `signal` aborts. */
  private api(signal?: AbortSignal): Ollama {
    const base = this.fetchImpl;
    const wrapped: typeof fetch = async (input, init) => {
      const signals = [init?.signal, signal].filter((s): s is AbortSignal => s != null);
      const res = await base(input, { ...init, signal: signals.length > 0 ? AbortSignal.any(signals) : undefined });
      // ollama-js console.logs while reading a non-JSON error body (gin's "404 page not found"),
      // which would corrupt --json output: hand it the same text as a JSON error instead.
      if (!res.ok && !(res.headers.get('content-type') ?? '').includes('application/json')) {
        const text = (await res.text()).trim() || `HTTP ${res.status}`;
        return new Response(JSON.stringify({ error: text }), { status: res.status, headers: { 'Content-Type': 'application/json' } });
      }
      return res;
    };
    return new Ollama({ host: this.host.url, fetch: wrapped });
  }

  /** Turns any failure of a request into a QuantfitError (or CancelledError). */
  fail(err: unknown, what: Message, signal?: AbortSignal): Error {
    if (signal?.aborted || err instanceof CancelledError) return new CancelledError();
    if (err instanceof QuantfitError) return err;
    const status = (err as { status_code?: unknown }).status_code;
    if (typeof status === 'number') {
      const text = String((err as { error?: unknown }).error ?? (err as Error).message);
      return quantfitError('ollama.error.refused', { what, status, text }, {}, err);
    }
    const code = networkErrorCode(err);
    if (code !== null) return unreachableError(this.host.url, code, err);
    if (isAbortError(err)) return new CancelledError();
    const reason = err instanceof Error ? err.message : String(err);
    return quantfitError('ollama.error.failed', { what, reason }, {}, err);
  }

  /** `GET /api/version`. */
  async version(opts: OperationOptions = {}): Promise<string> {
    try {
      return (await this.api(opts.signal).version()).version;
    } catch (err) {
      throw this.fail(err, msg('ollama.op.version'), opts.signal);
    }
  }

  /**
   * `GET /api/version` with a short timeout: the version string, or null when nothing (or something
   * that is not Ollama) answers in time. Only the caller's own cancel throws.
   */
  async probeVersion(opts: OperationOptions & { timeoutMs?: number } = {}): Promise<string | null> {
    const timeout = AbortSignal.timeout(opts.timeoutMs ?? this.probeTimeoutMs);
    try {
      const res = await this.send('/api/version', {}, [opts.signal, timeout]);
      if (!res.ok) return null;
      const body = (await res.json()) as { version?: unknown };
      return typeof body.version === 'string' ? body.version : null;
    } catch {
      if (opts.signal?.aborted) throw new CancelledError();
      return null;
    }
  }

  /** `HEAD /api/blobs/<digest>`: true if the server has the blob, false if not. */
  async hasBlob(hex: string, opts: OperationOptions = {}): Promise<boolean> {
    const digest = blobDigest(hex);
    let res: Response;
    try {
      res = await this.send(`/api/blobs/${digest}`, { method: 'HEAD' }, [opts.signal]);
    } catch (err) {
      if (opts.signal?.aborted) throw new CancelledError();
      const code = networkErrorCode(err);
      throw code ? unreachableError(this.host.url, code, err) : quantfitError('ollama.error.blobCheck', { digest, reason: (err as Error).message }, {}, err);
    }
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw quantfitError('ollama.error.blobStatus', { status: res.status, digest });
  }

  /**
   * `POST /api/blobs/<digest>` with the file as a streamed body of exactly its size (a file that
   * shrinks or grows while being sent fails the request). Progress counts the bytes handed to the
   * request. Cancelling drops the connection; the server then discards its partial temp file.
   */
  async uploadBlob(path: string, hex: string, opts: TransferOptions = {}): Promise<UploadResult> {
    const { signal, onEvent, stage = 'upload' } = opts;
    const digest = blobDigest(hex);
    throwIfAborted(signal);
    const total = (await stat(path)).size;
    const meter = new RateMeter(total);
    let sent = 0;
    let lastEmit = -Infinity;
    let readError: Error | null = null;
    const file = createReadStream(path, { highWaterMark: 1 << 20 });
    async function* counted(): AsyncGenerator<Uint8Array> {
      try {
        for await (const chunk of file) {
          const bytes = chunk as Buffer;
          sent += bytes.length;
          const now = performance.now();
          if (onEvent && (now - lastEmit > PROGRESS_INTERVAL_MS || sent === total)) {
            lastEmit = now;
            const { rate, etaSeconds } = meter.update(sent);
            onEvent({ type: 'progress', stage, unit: 'bytes', done: sent, total, rate, etaSeconds, status: 'uploading', statusText: msg('ollama.progress.uploading') });
          }
          yield bytes;
        }
      } catch (err) {
        readError = err as Error;
        throw err;
      }
    }
    let res: Response;
    try {
      res = await this.send(
        `/api/blobs/${digest}`,
        {
          method: 'POST',
          headers: { 'Content-Length': String(total), 'Content-Type': 'application/octet-stream' },
          // undici streams an async iterable body as it is read.
          body: counted() as unknown as BodyInit,
          duplex: 'half',
        } as RequestInit,
        [signal],
      );
    } catch (err) {
      file.destroy();
      if (signal?.aborted) throw new CancelledError();
      if (readError !== null) throw quantfitError('ollama.error.uploadRead', { reason: reasonOf(readError) }, { file: path }, readError);
      const code = networkErrorCode(err) ?? errorCode(err);
      if (sent === 0 && code === 'ECONNREFUSED') throw unreachableError(this.host.url, code, err);
      throw quantfitError('ollama.error.uploadBroke', { url: this.host.url, sent, total, code, reason: innermostMessage(err) }, { file: path }, err);
    }
    // 200 means the server already had the blob and may not have read everything we sent.
    file.destroy();
    const text = await res.text().catch(() => '');
    if (res.status === 201 || res.status === 200) return { status: res.status, bytesSent: sent };
    let message = text.trim();
    try {
      const parsed = JSON.parse(text) as { error?: unknown };
      if (typeof parsed.error === 'string') message = parsed.error;
    } catch {
      // not JSON: keep the text as it came
    }
    throw quantfitError(/digest mismatch/.test(message) ? 'ollama.error.uploadMismatch' : 'ollama.error.uploadRefused', { status: res.status, text: message, digest }, { file: path });
  }

  /** `GET /api/tags`, newest first as the server sorts them. */
  async listModels(opts: OperationOptions = {}): Promise<OllamaModelSummary[]> {
    let models: unknown[];
    try {
      models = (await this.api(opts.signal).list()).models as unknown[];
    } catch (err) {
      throw this.fail(err, msg('ollama.op.list'), opts.signal);
    }
    return models.map((m) => {
      const r = asRecord(m);
      const d = asRecord(r.details);
      return {
        name: str(r.name) ?? str(r.model) ?? '',
        sizeBytes: num(r.size) ?? 0,
        digest: str(r.digest) ?? '',
        modifiedAt: typeof r.modified_at === 'string' ? r.modified_at : r.modified_at instanceof Date ? r.modified_at.toISOString() : '',
        format: str(d.format),
        family: str(d.family),
        families: strList(d.families),
        parameterSize: str(d.parameter_size),
        quantization: str(d.quantization_level),
        contextLength: num(d.context_length),
        capabilities: strList(r.capabilities),
      };
    });
  }

  /** The installed model with this name (Ollama's case-insensitive match), or null. */
  async findModel(name: string, opts: OperationOptions = {}): Promise<OllamaModelSummary | null> {
    const wanted = parseModelName(name);
    if (!wanted) return null;
    const key = displayName(wanted).toLowerCase();
    const models = await this.listModels(opts);
    return models.find((m) => {
      const parsed = parseModelName(m.name);
      return parsed !== null && displayName(parsed).toLowerCase() === key;
    }) ?? null;
  }

  /** `POST /api/show`. */
  async showModel(name: string, opts: OperationOptions = {}): Promise<OllamaModelDetails> {
    let r: Record<string, unknown>;
    try {
      r = asRecord(await this.api(opts.signal).show({ model: name }));
    } catch (err) {
      throw this.fail(err, msg('ollama.op.show', { name }), opts.signal);
    }
    const d = asRecord(r.details);
    return {
      name,
      template: typeof r.template === 'string' ? r.template : '',
      system: typeof r.system === 'string' ? r.system : '',
      parameters: typeof r.parameters === 'string' ? r.parameters : '',
      license: typeof r.license === 'string' ? r.license : '',
      modelfile: typeof r.modelfile === 'string' ? r.modelfile : '',
      family: str(d.family),
      parameterSize: str(d.parameter_size),
      quantization: str(d.quantization_level),
      capabilities: strList(r.capabilities),
      modifiedAt: typeof r.modified_at === 'string' ? r.modified_at : null,
      modelInfo: asRecord(r.model_info),
    };
  }

  /**
   * `POST /api/pull`, streaming: layer download lines (`pulling <digest>` with total/completed) become
   * progress events of `stage`, the others log lines. Throws with the server's words on an error line.
   */
  async pullModel(name: string, opts: OperationOptions & { onEvent?: (e: JobEvent) => void; stage?: Stage } = {}): Promise<void> {
    const { signal, onEvent } = opts;
    const stage = opts.stage ?? 'source';
    const meters = new Map<string, RateMeter>();
    let sawSuccess = false;
    try {
      const stream = await this.api(signal).pull({ model: name, stream: true });
      for await (const line of abortWith(stream, signal)) {
        const status = typeof line.status === 'string' ? line.status : '';
        if (status === 'success') sawSuccess = true;
        const total = num((line as { total?: unknown }).total);
        const completed = num((line as { completed?: unknown }).completed) ?? 0;
        const digest = str((line as { digest?: unknown }).digest) ?? status;
        if (total !== null && total > 0) {
          let meter = meters.get(digest);
          if (!meter) meters.set(digest, (meter = new RateMeter(total)));
          const { rate, etaSeconds } = meter.update(completed);
          onEvent?.({ type: 'progress', stage, unit: 'bytes', done: completed, total, rate, etaSeconds, status });
        } else if (status !== '') {
          onEvent?.({ type: 'log', level: 'info', stage, message: status });
        }
      }
    } catch (err) {
      if (signal?.aborted) throw new CancelledError();
      const status = (err as { status_code?: unknown }).status_code;
      if (typeof status === 'number' || networkErrorCode(err) !== null || err instanceof QuantfitError) throw this.fail(err, msg('ollama.op.pull', { name }), signal);
      const message = err instanceof Error ? err.message : String(err);
      throw new QuantfitError(`Ollama could not pull '${name}': ${message}`, {}, { cause: err, code: 'sources.ollama.pullFailed', params: { name, reason: message } });
    }
    if (!sawSuccess) throw new QuantfitError(`Ollama stopped answering while pulling '${name}'`);
  }

  /** `POST /api/copy`. */
  async copyModel(source: string, destination: string, opts: OperationOptions = {}): Promise<void> {
    try {
      await this.api(opts.signal).copy({ source, destination });
    } catch (err) {
      throw this.fail(err, msg('ollama.op.copy', { source, destination }), opts.signal);
    }
  }

  /** `DELETE /api/delete`. */
  async deleteModel(name: string, opts: OperationOptions = {}): Promise<void> {
    try {
      await this.api(opts.signal).delete({ model: name });
    } catch (err) {
      throw this.fail(err, msg('ollama.op.delete', { name }), opts.signal);
    }
  }

  /** `GET /api/ps`: the models loaded right now. */
  async runningModels(opts: OperationOptions = {}): Promise<RunningModel[]> {
    let models: unknown[];
    try {
      models = (await this.api(opts.signal).ps()).models as unknown[];
    } catch (err) {
      throw this.fail(err, msg('ollama.op.ps'), opts.signal);
    }
    return models.map((m) => {
      const r = asRecord(m);
      const d = asRecord(r.details);
      const sizeBytes = num(r.size) ?? 0;
      const sizeVramBytes = num(r.size_vram) ?? 0;
      return {
        name: str(r.name) ?? str(r.model) ?? '',
        digest: str(r.digest) ?? '',
        sizeBytes,
        sizeVramBytes,
        ...placementOf(sizeBytes, sizeVramBytes),
        contextLength: num(r.context_length),
        expiresAt: typeof r.expires_at === 'string' ? r.expires_at : r.expires_at instanceof Date ? r.expires_at.toISOString() : null,
        family: str(d.family),
        quantization: str(d.quantization_level),
        parameterSize: str(d.parameter_size),
      };
    });
  }

  /** `POST /api/generate` without streaming. */
  async generate(
    request: { model: string; prompt: string; options?: Record<string, unknown>; keepAlive?: string | number },
    opts: OperationOptions = {},
  ): Promise<GenerateResult> {
    let r: Record<string, unknown>;
    try {
      r = asRecord(
        await this.api(opts.signal).generate({
          model: request.model,
          prompt: request.prompt,
          stream: false,
          options: request.options,
          keep_alive: request.keepAlive,
        }),
      );
    } catch (err) {
      throw this.fail(err, msg('ollama.op.run', { name: request.model }), opts.signal);
    }
    return {
      response: typeof r.response === 'string' ? r.response : '',
      doneReason: str(r.done_reason),
      totalDurationNs: num(r.total_duration) ?? 0,
      loadDurationNs: num(r.load_duration) ?? 0,
      promptEvalCount: num(r.prompt_eval_count) ?? 0,
      evalCount: num(r.eval_count) ?? 0,
      evalDurationNs: num(r.eval_duration) ?? 0,
    };
  }

  /**
   * `POST /api/create` with `files` (already uploaded blobs), streaming its status lines as JobEvents
   * (stage 'create'). An error line from the server is thrown with the server's text unchanged.
   */
  async createModel(request: CreateModelRequest, opts: OperationOptions & { onEvent?: (e: JobEvent) => void } = {}): Promise<void> {
    const { signal, onEvent } = opts;
    const body = { ...request, stream: true as const };
    let meter: RateMeter | null = null;
    let meterTotal = 0;
    let sawSuccess = false;
    try {
      // `files` is accepted by the server and passed through by ollama-js, but not in its types.
      const stream = await this.api(signal).create(body as Parameters<Ollama['create']>[0] & { stream: true });
      for await (const line of abortWith(stream, signal)) {
        const status = typeof line.status === 'string' ? line.status : '';
        if (status === 'success') sawSuccess = true;
        const total = num((line as { total?: unknown }).total);
        const completed = num((line as { completed?: unknown }).completed);
        if (total !== null && completed !== null && total > 0) {
          if (!meter || meterTotal !== total) {
            meter = new RateMeter(total);
            meterTotal = total;
          }
          const { rate, etaSeconds } = meter.update(completed);
          onEvent?.({ type: 'progress', stage: 'create', unit: 'bytes', done: completed, total, rate, etaSeconds, status, statusText: createStatusMessage(status) });
        } else if (status !== '') {
          onEvent?.({ type: 'log', level: 'info', stage: 'create', message: status, text: createStatusMessage(status) });
        }
      }
    } catch (err) {
      if (signal?.aborted) throw new CancelledError();
      const status = (err as { status_code?: unknown }).status_code;
      if (typeof status === 'number' || networkErrorCode(err) !== null || err instanceof QuantfitError) {
        throw this.fail(err, msg('ollama.op.create', { name: request.model }), signal);
      }
      const message = err instanceof Error ? err.message : String(err);
      if (/Did not receive done or success/.test(message)) throw quantfitError('ollama.error.createEnded', { model: request.model }, {}, err);
      // An {"error": …} line: the server's words, as it wrote them.
      throw quantfitError('ollama.error.createFailed', { model: request.model, reason: message }, {}, err);
    }
    if (!sawSuccess) throw quantfitError('ollama.error.createStopped', { model: request.model });
  }
}

/** An ollama-js stream's lines, the stream aborted as soon as `signal` fires (the listener goes when iteration ends). */
async function* abortWith<T>(stream: AsyncIterable<T> & { abort(): void }, signal: AbortSignal | undefined): AsyncGenerator<T> {
  const onAbort = () => stream.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    yield* stream;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

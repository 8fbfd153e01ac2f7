// Content-addressed blobs: hash a GGUF (streaming), ask whether Ollama has it, and upload it as a
// streamed request body with byte progress. ollama-js has no blob API, so this is plain node:http.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { CancelledError, QuantfitError, throwIfAborted } from '../errors.ts';
import { RateMeter, type JobEvent, type Stage } from '../progress.ts';
import { networkErrorCode, unreachableMessage } from './client.ts';

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** `sha256:<hex>` for a lowercase hex digest (the only form Ollama's POST accepts). */
export function blobDigest(hex: string): string {
  const h = hex.toLowerCase();
  if (!SHA256_HEX.test(h)) throw new QuantfitError(`not a sha256 hex digest: '${hex}'`);
  return `sha256:${h}`;
}

/** The note to add whenever bytes may sit on the server without a model using them. */
export const ORPHAN_BLOB_NOTE =
  'no model was created; Ollama deletes blobs that no model uses when it restarts, so nothing needs cleaning up by hand';

export interface ProgressOptions {
  readonly signal?: AbortSignal;
  readonly onEvent?: (e: JobEvent) => void;
  /** Stage named in progress events. */
  readonly stage?: Stage;
}

/** Streams a file through sha256; returns lowercase hex. Emits progress events while it reads. */
export async function sha256File(path: string, opts: ProgressOptions = {}): Promise<string> {
  const { signal, onEvent, stage = 'upload' } = opts;
  throwIfAborted(signal);
  const total = (await stat(path)).size;
  const meter = new RateMeter(total);
  const hash = createHash('sha256');
  let done = 0;
  let lastEmit = 0;
  const stream = createReadStream(path, { highWaterMark: 1 << 20, signal });
  try {
    for await (const chunk of stream) {
      hash.update(chunk as Buffer);
      done += (chunk as Buffer).length;
      const now = performance.now();
      if (onEvent && (now - lastEmit > 100 || done === total)) {
        lastEmit = now;
        const { rate, etaSeconds } = meter.update(done);
        onEvent({ type: 'progress', stage, unit: 'bytes', done, total, rate, etaSeconds, status: 'hashing' });
      }
    }
  } catch (err) {
    if (signal?.aborted) throw new CancelledError();
    throw new QuantfitError(`cannot read the file to hash it: ${(err as Error).message}`, { file: path }, { cause: err });
  }
  return hash.digest('hex');
}

function requestModule(url: URL): typeof http | typeof https {
  return url.protocol === 'https:' ? https : http;
}

/** `HEAD /api/blobs/<digest>`: true if the server has the blob, false if not. */
export async function blobExists(hostUrl: string, hex: string, signal?: AbortSignal): Promise<boolean> {
  const digest = blobDigest(hex);
  let res: Response;
  try {
    res = await fetch(`${hostUrl}/api/blobs/${digest}`, { method: 'HEAD', signal });
  } catch (err) {
    if (signal?.aborted) throw new CancelledError();
    const code = networkErrorCode(err);
    throw new QuantfitError(code ? unreachableMessage(hostUrl, code) : `checking blob ${digest} failed: ${(err as Error).message}`, {}, { cause: err });
  }
  if (res.status === 200) return true;
  if (res.status === 404) return false;
  throw new QuantfitError(`Ollama answered HTTP ${res.status} when asked for blob ${digest}`);
}

export interface UploadResult {
  /** 201 = stored now; 200 = the server already had it and did not read the body. */
  readonly status: 200 | 201;
  readonly bytesSent: number;
}

/**
 * `POST /api/blobs/<digest>` with the file as a streamed body. Progress is counted on the bytes handed
 * to the socket. Cancelling destroys the request; the server then discards its partial temp file.
 */
export function uploadBlob(hostUrl: string, path: string, hex: string, opts: ProgressOptions = {}): Promise<UploadResult> {
  const { signal, onEvent, stage = 'upload' } = opts;
  const digest = blobDigest(hex);
  return (async () => {
    throwIfAborted(signal);
    const total = (await stat(path)).size;
    const url = new URL(`${hostUrl}/api/blobs/${digest}`);
    const meter = new RateMeter(total);

    return await new Promise<UploadResult>((resolve, reject) => {
      let sent = 0;
      let settled = false;
      let lastEmit = 0;
      const file = createReadStream(path, { highWaterMark: 1 << 20 });
      const req = requestModule(url).request(url, {
        method: 'POST',
        headers: { 'Content-Length': String(total), 'Content-Type': 'application/octet-stream' },
      });
      // A file that shrinks or grows while being sent must fail here, not hang the server.
      (req as unknown as { strictContentLength: boolean }).strictContentLength = true;

      const finish = (err: Error | null, result?: UploadResult) => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        if (err) {
          file.destroy();
          req.destroy();
          reject(err);
        } else resolve(result!);
      };
      const onAbort = () => finish(new CancelledError());
      if (signal) signal.addEventListener('abort', onAbort, { once: true });

      const interrupted = (err: unknown): Error => {
        const code = networkErrorCode(err) ?? (err as { code?: string }).code ?? 'error';
        if (sent === 0 && code === 'ECONNREFUSED') return new QuantfitError(unreachableMessage(hostUrl, code), {}, { cause: err });
        return new QuantfitError(
          `upload to Ollama at ${hostUrl} broke off after ${sent} of ${total} bytes (${code}: ${(err as Error).message}); ` +
            `${ORPHAN_BLOB_NOTE}. Check that Ollama is still running and try again`,
          { file: path },
          { cause: err },
        );
      };

      file.on('data', (chunk) => {
        sent += (chunk as Buffer).length;
        const now = performance.now();
        if (onEvent && (now - lastEmit > 100 || sent === total)) {
          lastEmit = now;
          const { rate, etaSeconds } = meter.update(sent);
          onEvent({ type: 'progress', stage, unit: 'bytes', done: sent, total, rate, etaSeconds, status: 'uploading' });
        }
      });
      file.on('error', (err) => finish(new QuantfitError(`cannot read the file while uploading it: ${err.message}`, { file: path }, { cause: err })));
      req.on('error', (err) => finish(interrupted(err)));
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => finish(interrupted(err)));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const text = Buffer.concat(chunks).toString('utf8');
          if (status === 201 || status === 200) {
            // 200 means the server already had the blob and may not have read everything we sent.
            file.destroy();
            finish(null, { status, bytesSent: sent });
            return;
          }
          let message = text.trim();
          try {
            const parsed = JSON.parse(text) as { error?: unknown };
            if (typeof parsed.error === 'string') message = parsed.error;
          } catch {
            // not JSON: keep the text as it came
          }
          const hint = /digest mismatch/.test(message)
            ? `; the file's bytes did not hash to ${digest} on arrival (did the file change during the upload?). ${ORPHAN_BLOB_NOTE}`
            : '';
          finish(new QuantfitError(`Ollama refused the upload (HTTP ${status}): ${message}${hint}`, { file: path }));
        });
      });
      file.pipe(req);
    });
  })();
}

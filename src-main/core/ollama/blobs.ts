// Content-addressed blobs, the local half: a GGUF's sha256 (streamed, with progress) and the digest
// form Ollama accepts. Asking the server for a blob and uploading one are OllamaClient methods.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { CancelledError, quantfitError, reasonOf, throwIfAborted } from '../errors.ts';
import { RateMeter, type JobEvent, type Stage } from '../progress.ts';

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** `sha256:<hex>` for a lowercase hex digest (the only form Ollama's POST accepts). */
export function blobDigest(hex: string): string {
  const h = hex.toLowerCase();
  if (!SHA256_HEX.test(h)) throw quantfitError('ollama.error.digest', { value: hex });
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
        onEvent({ type: 'progress', stage, unit: 'bytes', done, total, rate, etaSeconds, status: 'hashing', statusText: { code: 'ollama.progress.hashing' } });
      }
    }
  } catch (err) {
    if (signal?.aborted) throw new CancelledError();
    throw quantfitError('ollama.error.hashRead', { reason: reasonOf(err) }, { file: path }, err);
  }
  return hash.digest('hex');
}

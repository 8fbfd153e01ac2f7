// Helpers for the fit job tests: models, event capture, "what is left behind" listings, and the
// request sequence the stand-in Ollama saw.

import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { JobEvent } from '../../src-main/core/progress.ts';
import type { FakeOllama, RecordedRequest } from '../support/fake-ollama.ts';
import { tinyLlama, writeSyntheticGguf, type TinyLlamaOptions } from '../support/synthetic-gguf.ts';

/** A tiny llama GGUF (F32 unless told) at `dir/<name>.gguf`. nVocab 512 makes a Q8_0 output of about 100 KiB. */
export async function writeTinyLlama(dir: string, name: string, o: TinyLlamaOptions = {}): Promise<string> {
  const path = join(dir, `${name}.gguf`);
  await writeSyntheticGguf(path, tinyLlama(o));
  return path;
}

export function collect(): { events: JobEvent[]; onEvent: (e: JobEvent) => void } {
  const events: JobEvent[] = [];
  return { events, onEvent: (e) => events.push(e) };
}

/** "stage:status" for every stage event, in order. */
export function stageTrail(events: readonly JobEvent[]): string[] {
  return events.filter((e): e is Extract<JobEvent, { type: 'stage' }> => e.type === 'stage').map((e) => `${e.stage}:${e.status}`);
}

export async function listDir(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort();
}

/** Blob file names that are not finished content-addressed blobs (partial uploads). */
export async function partialBlobs(fake: FakeOllama): Promise<string[]> {
  return (await fake.blobNames()).filter((n) => !/^sha256-[0-9a-f]{64}$/.test(n));
}

/** The requests that do the work, digests masked: what a real Ollama 0.33 is asked, in order. */
export function workRequests(requests: readonly RecordedRequest[]): string[] {
  return requests
    .filter((r) => !(r.method === 'GET' && (r.path === '/api/version' || r.path === '/api/tags')))
    .map((r) => `${r.method} ${r.path.replace(/sha256:[0-9a-f]{64}/, 'sha256:<digest>')}`);
}

export const REAL_OLLAMA_SEQUENCE = [
  'HEAD /api/blobs/sha256:<digest>',
  'POST /api/blobs/sha256:<digest>',
  'POST /api/create',
  'POST /api/show',
  'POST /api/generate',
  'GET /api/ps',
];

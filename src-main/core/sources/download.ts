// One file over HTTP into a cache, the way the hubs' own clients do it: into `<final>.incomplete`
// first, resumed with `Range: bytes=N-` after a cut connection or a cancel, checked against its size
// and (for LFS files) its sha256, and only then renamed to its final name — a half-written file never
// carries a final name. Big files use a few connections, each fetching one segment into its place in
// `<final>.parts` (a side file records how far each got, so that resumes too); a Python client that
// finds that file ignores it, while `.incomplete` stays what huggingface_hub expects (a valid prefix).

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readFile, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CancelledError, QuantfitError, throwIfAborted } from '../errors.ts';

export interface DownloadRequest {
  /** Where the bytes are (after the hub's redirect, when the caller resolved it). */
  readonly url: string;
  /** Request headers (Authorization only when the URL is the hub's own host). */
  readonly headers: Readonly<Record<string, string>>;
  /** The size the hub announced. */
  readonly size: number;
  /** Lowercase hex sha256 to verify (LFS files), or null. */
  readonly sha256: string | null;
  /** The final path; work happens in `<finalPath>.incomplete` / `.parts`. */
  readonly finalPath: string;
  /** What to call the file in messages (`model-f16.gguf`). */
  readonly label: string;
  /** Parallel connections for files over `parallelMinBytes` (default 4). */
  readonly connections?: number;
  readonly parallelMinBytes?: number;
  readonly signal?: AbortSignal;
  /** Called with the number of new bytes as they land (resumed bytes are reported once, at the start). */
  readonly onBytes?: (n: number) => void;
  readonly fetch?: typeof fetch;
}

export interface DownloadResult {
  /** Bytes fetched over the network by this call. */
  readonly fetched: number;
  /** Bytes found from an earlier, interrupted attempt. */
  readonly resumed: number;
}

const DEFAULT_PARALLEL_MIN = 64 * 1024 * 1024;
const RETRIES = 5;

/** A failure worth retrying with a Range request: the connection broke, not the server said no. */
class TransientError extends Error {}

export function incompletePath(finalPath: string): string {
  return `${finalPath}.incomplete`;
}
export function partsPath(finalPath: string): string {
  return `${finalPath}.parts`;
}
function partsStatePath(finalPath: string): string {
  return `${finalPath}.parts.json`;
}

async function sizeOf(path: string): Promise<number | null> {
  try {
    return (await stat(path)).size;
  } catch {
    return null;
  }
}

function diskError(err: unknown, label: string): Error {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new QuantfitError(`the disk is full while downloading ${label}; free some space and run again (the download resumes where it stopped)`, {}, { cause: err, code: 'sources.download.diskFull', params: { file: label } });
  }
  return err instanceof Error ? err : new Error(String(err));
}

/** GETs `url` from `start` (to `end` inclusive, or the end) and hands each chunk to `sink`. */
async function fetchRange(req: DownloadRequest, start: number, end: number | null, sink: (chunk: Uint8Array) => Promise<void>): Promise<void> {
  const headers: Record<string, string> = { ...req.headers, 'Accept-Encoding': 'identity' };
  const ranged = start > 0 || end !== null;
  if (ranged) headers.Range = `bytes=${start}-${end ?? ''}`;
  let res: Response;
  try {
    res = await (req.fetch ?? fetch)(req.url, { headers, ...(req.signal ? { signal: req.signal } : {}) });
  } catch (err) {
    if (req.signal?.aborted) throw new CancelledError();
    throw new TransientError(`cannot reach ${new URL(req.url).host}: ${(err as Error).message}`, { cause: err });
  }
  if (res.status >= 500 || res.status === 429) {
    await res.body?.cancel();
    throw new TransientError(`the server answered HTTP ${res.status}`);
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new QuantfitError(`downloading ${req.label} failed: HTTP ${res.status}`, {}, { code: 'sources.download.http', params: { file: req.label, status: res.status } });
  }
  if (ranged && res.status !== 206) {
    await res.body?.cancel();
    throw new QuantfitError(`the server ignored the Range request for ${req.label} (HTTP ${res.status} instead of 206)`, {}, { code: 'sources.download.noRange', params: { file: req.label } });
  }
  if (!res.body) throw new TransientError('empty response');
  const reader = res.body.getReader();
  try {
    for (;;) {
      let r: ReadableStreamReadResult<Uint8Array>;
      try {
        r = await reader.read();
      } catch (err) {
        if (req.signal?.aborted) throw new CancelledError();
        throw new TransientError(`the connection broke: ${(err as Error).message}`, { cause: err });
      }
      if (r.done) break;
      await sink(r.value);
    }
  } finally {
    reader.releaseLock();
  }
}

/** Retries `step` after transient failures while it keeps making progress. */
async function withRetries(req: DownloadRequest, progress: () => number, step: () => Promise<void>): Promise<void> {
  let failures = 0;
  for (;;) {
    const before = progress();
    try {
      await step();
      return;
    } catch (err) {
      if (!(err instanceof TransientError)) throw err;
      throwIfAborted(req.signal);
      failures = progress() > before ? 1 : failures + 1;
      if (failures > RETRIES) {
        throw new QuantfitError(`downloading ${req.label} failed: ${err.message}; run again to resume`, {}, { cause: err, code: 'sources.download.network', params: { file: req.label, reason: err.message } });
      }
      await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** failures)));
    }
  }
}

/** One connection, appending to `.incomplete` (resumed from its size). */
async function downloadSequential(req: DownloadRequest): Promise<DownloadResult> {
  const temp = incompletePath(req.finalPath);
  let fh: FileHandle;
  try {
    fh = await open(temp, 'a');
  } catch (err) {
    throw diskError(err, req.label);
  }
  let have = (await fh.stat()).size;
  const resumed = Math.min(have, req.size);
  if (have > req.size) {
    await fh.truncate(0);
    have = 0;
  }
  req.onBytes?.(have);
  let fetched = 0;
  try {
    await withRetries(req, () => have, async () => {
      if (have >= req.size) return;
      await fetchRange(req, have, null, async (chunk) => {
        if (have + chunk.length > req.size) throw new QuantfitError(`the server sent more than the ${req.size} bytes announced for ${req.label}`, {}, { code: 'sources.download.size', params: { file: req.label } });
        try {
          await fh.write(chunk);
        } catch (err) {
          throw diskError(err, req.label);
        }
        have += chunk.length;
        fetched += chunk.length;
        req.onBytes?.(chunk.length);
      });
      if (have < req.size) throw new TransientError(`the connection ended after ${have} of ${req.size} bytes`);
    });
  } finally {
    await fh.close();
  }
  return { fetched, resumed };
}

interface Segment {
  start: number;
  end: number;
  done: number;
}

/** Several connections, each filling its segment of `.parts`; the side file makes it resumable. */
async function downloadParallel(req: DownloadRequest, connections: number): Promise<DownloadResult> {
  const path = partsPath(req.finalPath);
  const statePath = partsStatePath(req.finalPath);
  let segments: Segment[] | null = null;
  try {
    const state = JSON.parse(await readFile(statePath, 'utf8')) as { size?: unknown; segments?: unknown };
    if (state.size === req.size && Array.isArray(state.segments) && (await sizeOf(path)) !== null) segments = state.segments as Segment[];
  } catch {
    segments = null;
  }
  if (segments === null) {
    const per = Math.ceil(req.size / connections);
    segments = [];
    for (let s = 0; s < req.size; s += per) segments.push({ start: s, end: Math.min(req.size, s + per), done: 0 });
    await rm(path, { force: true });
  }
  const resumed = segments.reduce((a, s) => a + s.done, 0);
  req.onBytes?.(resumed);
  let fh: FileHandle;
  try {
    fh = await open(path, (await sizeOf(path)) === null ? 'w+' : 'r+');
  } catch (err) {
    throw diskError(err, req.label);
  }
  let fetched = 0;
  let lastSave = 0;
  const save = () => writeFile(statePath, JSON.stringify({ size: req.size, segments }));
  try {
    await save();
    await Promise.all(segments.map((seg) =>
      withRetries(req, () => seg.done, async () => {
        if (seg.start + seg.done >= seg.end) return;
        await fetchRange(req, seg.start + seg.done, seg.end - 1, async (chunk) => {
          const room = seg.end - (seg.start + seg.done);
          const data = chunk.length > room ? chunk.subarray(0, room) : chunk;
          try {
            await fh.write(data, 0, data.length, seg.start + seg.done);
          } catch (err) {
            throw diskError(err, req.label);
          }
          seg.done += data.length;
          fetched += data.length;
          req.onBytes?.(data.length);
          if (fetched - lastSave > 8 * 1024 * 1024) {
            lastSave = fetched;
            await save();
          }
        });
        if (seg.start + seg.done < seg.end) throw new TransientError(`the connection ended inside bytes ${seg.start}-${seg.end - 1}`);
      }),
    ));
  } finally {
    await fh.close();
    await save().catch(() => undefined);
  }
  return { fetched, resumed };
}

async function sha256Of(path: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * 1024 * 1024 })) {
    throwIfAborted(signal);
    hash.update(chunk as Buffer);
  }
  return hash.digest('hex');
}

/**
 * Downloads `req.url` to `req.finalPath` (resuming an earlier attempt), verifies it, and renames it
 * into place. On a wrong size or checksum the partial file is removed and the error says so; on a
 * cancel or a network failure it is kept for the next attempt.
 */
export async function downloadFile(req: DownloadRequest): Promise<DownloadResult> {
  throwIfAborted(req.signal);
  const connections = Math.max(1, req.connections ?? 4);
  const parallel = connections > 1 && req.size >= (req.parallelMinBytes ?? DEFAULT_PARALLEL_MIN);
  // A parallel attempt left earlier takes precedence; otherwise `.incomplete` (ours or Python's).
  const usePartsFile = parallel && ((await sizeOf(incompletePath(req.finalPath))) ?? 0) === 0;
  const result = usePartsFile ? await downloadParallel(req, connections) : await downloadSequential(req);
  const temp = usePartsFile ? partsPath(req.finalPath) : incompletePath(req.finalPath);
  const size = await sizeOf(temp);
  if (size !== req.size) {
    await discard(req.finalPath);
    throw new QuantfitError(`${req.label}: expected ${req.size} bytes, got ${size ?? 0}; the partial download was removed`, {}, { code: 'sources.download.size', params: { file: req.label } });
  }
  if (req.sha256 !== null) {
    const got = await sha256Of(temp, req.signal);
    if (got !== req.sha256) {
      await discard(req.finalPath);
      throw new QuantfitError(
        `${req.label}: the download's sha256 is ${got}, but the hub says ${req.sha256}; the file was removed — run again to download it anew`,
        {},
        { code: 'sources.download.checksum', params: { file: req.label, expected: req.sha256, got } },
      );
    }
  }
  await rename(temp, req.finalPath);
  await rm(partsStatePath(req.finalPath), { force: true });
  return result;
}

/** Removes every partial file of a download. */
export async function discard(finalPath: string): Promise<void> {
  await rm(incompletePath(finalPath), { force: true });
  await rm(partsPath(finalPath), { force: true });
  await rm(partsStatePath(finalPath), { force: true });
}

/** Bytes already on disk from an earlier attempt at this file. */
export async function partialBytes(finalPath: string): Promise<number> {
  return Math.max((await sizeOf(incompletePath(finalPath))) ?? 0, 0) + (await partsDone(finalPath));
}

async function partsDone(finalPath: string): Promise<number> {
  try {
    const state = JSON.parse(await readFile(partsStatePath(finalPath), 'utf8')) as { segments?: Segment[] };
    return (state.segments ?? []).reduce((a, s) => a + (typeof s.done === 'number' ? s.done : 0), 0);
  } catch {
    return 0;
  }
}

/**
 * Runs `work` holding `lockPath` against other Quantfit processes fetching the same file (two writers
 * appending to one `.incomplete` would corrupt it). The lock file holds our pid; one whose process is
 * gone is taken over. A lock file in another format (huggingface_hub's filelock leaves empty ones
 * behind) is not ours to interpret and is ignored.
 */
export async function withFileLock<T>(lockPath: string, signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> {
  const { mkdir } = await import('node:fs/promises');
  await mkdir(dirname(lockPath), { recursive: true });
  const mine = JSON.stringify({ quantfit: process.pid });
  for (;;) {
    throwIfAborted(signal);
    try {
      await writeFile(lockPath, mine, { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = await readFile(lockPath, 'utf8').then((t) => (JSON.parse(t) as { quantfit?: unknown }).quantfit, () => undefined);
    if (typeof holder !== 'number' || !alive(holder)) {
      await rm(lockPath, { force: true });
      continue;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  try {
    return await work();
  } finally {
    await rm(lockPath, { force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

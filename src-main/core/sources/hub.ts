// `hf:` and `modelscope:` references: pick the files that make the model, find them in the hub's own
// cache or download them there, and hand back a local path. Both hubs share the choice of files, the
// disk-space check, the progress (one byte stream over every file, with rate and ETA) and the
// downloader; each has its own listing, URLs and cache layout (hf-cache.ts, modelscope.ts).

import { statfs } from 'node:fs/promises';
import { CancelledError, QuantfitError, throwIfAborted } from '../errors.ts';
import { RateMeter, type JobEvent } from '../progress.ts';
import { formatBytes } from '../advisor/sizes.ts';
import { huggingFaceHub } from './huggingface.ts';
import { hubSettings, type HubSettings } from './hub-settings.ts';
import { modelScopeHub } from './modelscope.ts';
import type { HubName, ModelReference } from './reference.ts';

export type { HubSettings } from './hub-settings.ts';

/** One file of a repo listing. */
export interface HubFile {
  /** Repo path, `/`-separated. */
  readonly path: string;
  readonly size: number;
  /** sha256 of an LFS file (what the download is checked against), or null. */
  readonly sha256: string | null;
}

/** A repo at one commit, as the hub lists it. */
export interface HubListing {
  readonly revision: string;
  readonly commit: string;
  readonly files: readonly HubFile[];
  /** True when the listing came from the cache because the hub could not be reached. */
  readonly offline: boolean;
}

/** A file to fetch: in the cache already (`cached`), or partly (`partial` bytes). */
export interface PlannedFile extends HubFile {
  readonly cached: boolean;
  readonly partial: number;
}

/** What each hub implements. */
export interface HubBackend {
  readonly name: HubName;
  readonly endpoint: string;
  /** Lists the repo at `revision` (null = the hub's default branch). */
  list(repo: string, revision: string | null, signal?: AbortSignal): Promise<HubListing>;
  /** Where the cached copy of each file is, and how much of each is there. */
  plan(repo: string, listing: HubListing, files: readonly HubFile[]): Promise<PlannedFile[]>;
  /** Fetches one file into the cache (resuming), reporting bytes as they land. */
  fetchFile(repo: string, listing: HubListing, file: PlannedFile, opts: { signal?: AbortSignal; onBytes: (n: number) => void }): Promise<number>;
  /** The local folder the files are in (the snapshot), after they are all there. */
  localRoot(repo: string, listing: HubListing): string;
  /** The folder the disk-space check is about. */
  storageDir(repo: string): string;
}

export interface HubResolveOptions {
  readonly signal?: AbortSignal;
  readonly onEvent?: (e: JobEvent) => void;
  readonly settings?: Partial<HubSettings>;
  /** Explicit repo paths to fetch (the app's file list); default: chosen by chooseModelFiles. */
  readonly files?: readonly string[];
}

export interface HubResolved {
  readonly path: string;
  readonly kind: 'gguf-file' | 'hf-folder';
  readonly revision: string;
  readonly commit: string;
  readonly endpoint: string;
  readonly files: readonly string[];
  readonly downloadedBytes: number;
}

/** GGUF types in the order they are the best starting point for quantizing. */
const GGUF_PREFERENCE = ['bf16', 'f16', 'fp16', 'f32', 'fp32', 'q8_0'];

/** The weight type a GGUF file name says (`qwen2.5-0.5b-instruct-fp16.gguf` → `fp16`), or null. */
export function ggufTypeFromName(path: string): string | null {
  const base = path.split('/').pop()!.toLowerCase().replace(/\.gguf$/, '').replace(/-\d{5}-of-\d{5}$/, '');
  const m = /(?:^|[-_.])((?:bf|fp?)(?:16|32)|i?q\d(?:_[a-z0-9]+)*|tq\d_\d)$/.exec(base);
  return m ? m[1]! : null;
}

/** Files that belong to a Hugging Face model folder (config, tokenizer, weights, chat template). */
function isFolderFile(path: string): boolean {
  const base = path.split('/').pop()!;
  return /\.(safetensors|json|model|tiktoken|jinja|txt)$/i.test(base) && !/^(README|LICENSE|NOTICE)/i.test(base) && !/^training_args/i.test(base);
}

/** What to fetch when nothing was picked: the best GGUF, else the safetensors model folder. */
export function chooseModelFiles(files: readonly HubFile[], under: string | null): { files: HubFile[]; kind: 'gguf-file' | 'hf-folder'; gguf: HubFile | null } {
  const prefix = under === null ? '' : `${under}/`;
  const exact = under !== null ? files.find((f) => f.path === under) : undefined;
  if (exact) {
    if (!/\.gguf$/i.test(exact.path)) {
      throw new QuantfitError(`'${exact.path}' is not a GGUF file; name a .gguf file or a folder with safetensors`, {}, { code: 'sources.hub.notModelFile', params: { file: exact.path } });
    }
    return { files: [exact], kind: 'gguf-file', gguf: exact };
  }
  const inside = files.filter((f) => f.path.startsWith(prefix));
  const ggufs = inside.filter((f) => /\.gguf$/i.test(f.path) && !/-0000[2-9]-of-|-000[1-9]\d-of-/.test(f.path) && !/mmproj/i.test(f.path));
  const single = ggufs.filter((f) => !/-\d{5}-of-\d{5}\.gguf$/i.test(f.path));
  if (single.length > 0) {
    const rank = (f: HubFile) => {
      const t = ggufTypeFromName(f.path);
      const i = t === null ? -1 : GGUF_PREFERENCE.indexOf(t);
      return i < 0 ? GGUF_PREFERENCE.length : i;
    };
    const best = [...single].sort((a, b) => rank(a) - rank(b) || b.size - a.size)[0]!;
    return { files: [best], kind: 'gguf-file', gguf: best };
  }
  const weights = inside.filter((f) => /\.safetensors$/i.test(f.path) && !f.path.slice(prefix.length).includes('/'));
  if (weights.length > 0 && inside.some((f) => f.path === `${prefix}config.json`)) {
    return { files: inside.filter((f) => !f.path.slice(prefix.length).includes('/') && isFolderFile(f.path)), kind: 'hf-folder', gguf: null };
  }
  if (ggufs.length > 0) {
    throw new QuantfitError('the repository has only split GGUF files (…-00001-of-0000N.gguf), which Quantfit cannot read yet', {}, { code: 'sources.hub.splitGguf', params: {} });
  }
  throw new QuantfitError(
    `the repository${under ? ` folder '${under}'` : ''} has neither a GGUF file nor a safetensors model (config.json + *.safetensors)`,
    {},
    { code: 'sources.hub.noModel', params: { folder: under ?? '' } },
  );
}

async function freeBytes(dir: string): Promise<number | null> {
  try {
    const s = await statfs(dir);
    return Number(s.bavail) * Number(s.bsize);
  } catch {
    return null;
  }
}

export function backendFor(hub: HubName, settings: HubSettings, endpoint: string | null): HubBackend {
  return hub === 'huggingface' ? huggingFaceHub(settings, endpoint) : modelScopeHub(settings, endpoint);
}

/** Lists a repo for the app's file box: every file with its size, and the files picked by default. */
export async function listHubRepo(ref: Extract<ModelReference, { kind: 'hub' }>, opts: HubResolveOptions = {}): Promise<{ listing: HubListing; chosen: string[]; kind: 'gguf-file' | 'hf-folder' }> {
  const backend = backendFor(ref.hub, hubSettings(opts.settings), ref.endpoint);
  const listing = await backend.list(ref.repo, ref.revision, opts.signal);
  const choice = chooseModelFiles(listing.files, ref.path);
  return { listing, chosen: choice.files.map((f) => f.path), kind: choice.kind };
}

/** Finds or downloads the model a hub reference names; returns the local GGUF file or model folder. */
export async function resolveHubSource(ref: Extract<ModelReference, { kind: 'hub' }>, opts: HubResolveOptions = {}): Promise<HubResolved> {
  const { signal } = opts;
  const emit = (e: JobEvent) => opts.onEvent?.(e);
  const settings = hubSettings(opts.settings);
  const backend = backendFor(ref.hub, settings, ref.endpoint);
  const where = `${ref.hub === 'huggingface' ? 'hf' : 'modelscope'}:${ref.repo}`;
  // The stage starts once the hub has answered, so a refused reference is one line and nothing else.
  const listing = await backend.list(ref.repo, ref.revision, signal);
  emit({ type: 'stage', stage: 'source', status: 'start', message: `${where}@${listing.commit.slice(0, 12)} from ${backend.endpoint}` });
  if (listing.offline) emit({ type: 'log', level: 'warn', stage: 'source', message: `${backend.endpoint} cannot be reached: using the copy in the cache (commit ${listing.commit})` });
  throwIfAborted(signal);

  let chosen: HubFile[];
  let kind: 'gguf-file' | 'hf-folder';
  if (opts.files && opts.files.length > 0) {
    const byPath = new Map(listing.files.map((f) => [f.path, f]));
    chosen = opts.files.map((p) => {
      const f = byPath.get(p);
      if (!f) throw new QuantfitError(`${where} has no file '${p}' at ${listing.revision}`, {}, { code: 'sources.hub.noFile', params: { repo: ref.repo, file: p } });
      return f;
    });
    kind = chosen.length === 1 && /\.gguf$/i.test(chosen[0]!.path) ? 'gguf-file' : 'hf-folder';
  } else {
    ({ files: chosen, kind } = chooseModelFiles(listing.files, ref.path));
  }

  const planned = await backend.plan(ref.repo, listing, chosen);
  const missing = planned.filter((f) => !f.cached);
  const total = missing.reduce((a, f) => a + f.size, 0);
  const already = missing.reduce((a, f) => a + f.partial, 0);
  if (missing.length > 0 && listing.offline) {
    throw new QuantfitError(`${backend.endpoint} cannot be reached and ${missing.length} file(s) of ${where} are not in the cache`, {}, { code: 'sources.hub.offline', params: { repo: ref.repo, endpoint: backend.endpoint } });
  }
  const free = missing.length > 0 ? await freeBytes(backend.storageDir(ref.repo)) : null;
  if (free !== null && free < total - already) {
    throw new QuantfitError(
      `not enough free space to download ${where}: it needs ${formatBytes(total - already)}, ${formatBytes(free)} free in ${backend.storageDir(ref.repo)}`,
      { file: backend.storageDir(ref.repo) },
      { code: 'sources.hub.diskSpace', params: { repo: ref.repo, needed: formatBytes(total - already), free: formatBytes(free) } },
    );
  }

  let downloaded = 0;
  if (missing.length === 0) {
    emit({ type: 'log', level: 'info', stage: 'source', message: `${chosen.length} file(s) already in the cache at commit ${listing.commit}` });
  } else {
    emit({ type: 'log', level: 'info', stage: 'source', message: `downloading ${missing.length} file(s), ${formatBytes(total)}${already > 0 ? ` (${formatBytes(already)} there from an earlier attempt)` : ''}` });
    const meter = new RateMeter(total);
    let done = 0;
    let lastEmit = 0;
    for (const file of missing) {
      const progress = (n: number) => {
        done += n;
        const now = performance.now();
        if (now - lastEmit < 100 && done < total) return;
        lastEmit = now;
        const { rate, etaSeconds } = meter.update(done);
        emit({ type: 'progress', stage: 'source', unit: 'bytes', done, total, rate, etaSeconds, status: file.path });
      };
      try {
        downloaded += await backend.fetchFile(ref.repo, listing, file, { ...(signal ? { signal } : {}), onBytes: progress });
      } catch (err) {
        if (signal?.aborted) throw new CancelledError();
        throw err;
      }
    }
  }
  const root = backend.localRoot(ref.repo, listing);
  const path = kind === 'gguf-file' ? `${root}/${chosen[0]!.path}` : chosen.length > 0 && chosen[0]!.path.includes('/') ? `${root}/${chosen[0]!.path.slice(0, chosen[0]!.path.lastIndexOf('/'))}` : root;
  emit({ type: 'stage', stage: 'source', status: 'done', message: `${path}${downloaded > 0 ? ` (${formatBytes(downloaded)} downloaded)` : ' (from the cache)'}` });
  return { path, kind, revision: listing.revision, commit: listing.commit, endpoint: backend.endpoint, files: chosen.map((f) => f.path), downloadedBytes: downloaded };
}

// Hugging Face (or a mirror at HF_ENDPOINT) through @huggingface/hub for the API calls (model info for
// the commit, the recursive tree listing with LFS sizes and sha256s), and huggingface_hub's own cache
// layout (file_download.py) for the files, so huggingface-cli, Python and Quantfit share downloads:
//   <cache>/models--ORG--REPO/blobs/<etag>            the bytes (etag: LFS sha256, or the git blob id)
//   <cache>/models--ORG--REPO/snapshots/<commit>/<path>  relative symlink to ../../blobs/<etag>
//   <cache>/models--ORG--REPO/refs/<revision>         the commit a branch or tag pointed at
// Each file: HEAD on /ORG/REPO/resolve/<commit>/<path> without following the CDN redirect (commit in
// X-Repo-Commit, etag in X-Linked-Etag or ETag, size in X-Linked-Size or Content-Length, the bytes at
// Location), then a GET of Location — with the token only when Location is on the hub's own host.

import { getRepoFolderName, listFiles, modelInfo } from '@huggingface/hub';
import { copyFile, mkdir, readFile, readdir, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { CancelledError, QuantfitError } from '../errors.ts';
import { networkErrorCode } from '../ollama/client.ts';
import { downloadFile, partialBytes, withFileLock } from './download.ts';
import type { HubBackend, HubFile, HubListing, PlannedFile } from './hub.ts';
import type { HubSettings } from './hub-settings.ts';

const COMMIT = /^[0-9a-f]{40}$/;

interface HubError {
  status: number;
  code: string | null;
  message: string | null;
}

/** huggingface_hub's _normalize_etag: drop a weak marker and the quotes. */
export function normalizeEtag(etag: string | null): string | null {
  if (etag === null) return null;
  return etag.replace(/^W\//, '').replace(/^"|"$/g, '');
}

function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

export function hfRepoFolder(cache: string, repo: string): string {
  return join(cache, getRepoFolderName({ name: repo, type: 'model' }));
}

/** The pointer of `path` at `commit`, refusing paths that would leave the snapshot (huggingface_hub does too). */
function pointerPath(storage: string, commit: string, path: string): string {
  const p = join(storage, 'snapshots', commit, ...path.split('/'));
  if (relative(join(storage, 'snapshots', commit), p).startsWith('..')) throw new QuantfitError(`invalid file path '${path}' in the repository`);
  return p;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** The files of a cached snapshot (for offline use), with their sizes. */
async function snapshotFiles(dir: string, prefix = ''): Promise<HubFile[]> {
  const out: HubFile[] = [];
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return out;
  }
  for (const name of entries) {
    const st = await stat(join(dir, name)).catch(() => null);
    if (!st) continue;
    if (st.isDirectory()) out.push(...(await snapshotFiles(join(dir, name), `${prefix}${name}/`)));
    else out.push({ path: `${prefix}${name}`, size: st.size, sha256: null });
  }
  return out;
}

/** A relative symlink from the snapshot to the blob (a copy where symlinks are not allowed). */
async function linkPointer(blob: string, pointer: string): Promise<void> {
  await mkdir(dirname(pointer), { recursive: true });
  try {
    await symlink(relative(dirname(pointer), blob), pointer);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      if (await exists(pointer)) return;
      await unlink(pointer);
      await symlink(relative(dirname(pointer), blob), pointer);
    } else if (code === 'EPERM' || code === 'ENOTSUP') {
      await copyFile(blob, pointer);
    } else throw err;
  }
}

export function huggingFaceHub(settings: HubSettings, endpointOverride: string | null): HubBackend {
  const endpoint = (endpointOverride ?? settings.hfEndpoint).replace(/\/+$/, '');
  const token = settings.hfToken;
  const baseFetch = settings.fetch ?? fetch;
  let lastError: HubError | null = null;
  /** The library's fetch: adds the token, and remembers the hub's error header of a refusal. */
  const apiFetch: typeof fetch = async (input, init) => {
    const headers = new Headers(init?.headers);
    if (token) headers.set('Authorization', `Bearer ${token}`);
    const res = await baseFetch(input, { ...init, headers });
    if (!res.ok) lastError = { status: res.status, code: res.headers.get('X-Error-Code'), message: res.headers.get('X-Error-Message') };
    return res;
  };
  const where = (repo: string) => `hf:${repo}`;

  const refuse = (repo: string, e: HubError, what: { revision?: string; file?: string }): QuantfitError => {
    const page = `${endpoint}/${repo}`;
    if (e.code === 'GatedRepo') {
      return token
        ? new QuantfitError(`${where(repo)} is gated and the account of your token has no access yet: ask for access at ${page}`, {}, { code: 'sources.hf.gatedNoAccess', params: { repo, page } })
        : new QuantfitError(`${where(repo)} is gated: accept its terms at ${page}, then set HF_TOKEN (or the token in Settings) to a token of that account`, {}, { code: 'sources.hf.gated', params: { repo, page } });
    }
    if (e.code === 'RevisionNotFound') {
      return new QuantfitError(`${where(repo)} has no revision '${what.revision ?? ''}'`, {}, { code: 'sources.hf.noRevision', params: { repo, revision: what.revision ?? '' } });
    }
    if (e.code === 'EntryNotFound') {
      return new QuantfitError(`${where(repo)} has no file '${what.file ?? ''}'`, {}, { code: 'sources.hub.noFile', params: { repo, file: what.file ?? '' } });
    }
    if (e.code === 'RepoNotFound' || e.status === 404 || (e.status === 401 && !token)) {
      return new QuantfitError(
        `${where(repo)}: no such model repository on ${endpoint}${token ? '' : ' (if it is private, set HF_TOKEN)'}`,
        {},
        { code: 'sources.hf.noRepo', params: { repo, endpoint } },
      );
    }
    if (e.status === 401) return new QuantfitError(`${endpoint} refused the token (HTTP 401): check HF_TOKEN`, {}, { code: 'sources.hf.badToken', params: { endpoint } });
    if (e.status === 403) return new QuantfitError(`${endpoint} refused access to ${where(repo)} (HTTP 403${e.message ? `: ${e.message}` : ''})`, {}, { code: 'sources.hf.forbidden', params: { repo, endpoint } });
    return new QuantfitError(`${endpoint} answered HTTP ${e.status} for ${where(repo)}${e.message ? `: ${e.message}` : ''}`, {}, { code: 'sources.hub.http', params: { repo, endpoint, status: e.status } });
  };

  const unreachable = (err: unknown): QuantfitError | null => {
    const code = networkErrorCode(err);
    if (code === null) return null;
    return new QuantfitError(
      `cannot reach ${endpoint} (${code}); if huggingface.co is blocked where you are, set HF_ENDPOINT (or the endpoint in Settings) to a mirror such as https://hf-mirror.com`,
      {},
      { cause: err, code: 'sources.hf.unreachable', params: { endpoint, reason: code } },
    );
  };

  const storageOf = (repo: string) => hfRepoFolder(settings.hfCache, repo);

  /** The listing from the cache alone (huggingface_hub's fallback when the hub is unreachable). */
  const cachedListing = async (repo: string, revision: string): Promise<HubListing | null> => {
    const storage = storageOf(repo);
    let commit: string | null = COMMIT.test(revision) ? revision : null;
    if (commit === null) commit = (await readFile(join(storage, 'refs', revision), 'utf8').catch(() => null))?.trim() ?? null;
    if (commit === null) return null;
    const files = await snapshotFiles(join(storage, 'snapshots', commit));
    return files.length > 0 ? { revision, commit, files, offline: true } : null;
  };

  const call = async <T>(repo: string, what: { revision?: string; file?: string }, signal: AbortSignal | undefined, f: () => Promise<T>): Promise<T> => {
    lastError = null;
    try {
      return await f();
    } catch (err) {
      if (signal?.aborted) throw new CancelledError();
      const e = lastError as HubError | null;
      if (e !== null) throw refuse(repo, e, what);
      throw unreachable(err) ?? err;
    }
  };

  /** HEAD on the resolve URL, following relative redirects only (a renamed repo), not the CDN one. */
  const head = async (repo: string, commit: string, path: string, signal?: AbortSignal) => {
    let url = `${endpoint}/${repo}/resolve/${commit}/${encodePath(path)}`;
    for (let hop = 0; hop < 5; hop++) {
      let res: Response;
      try {
        res = await baseFetch(url, {
          method: 'HEAD',
          redirect: 'manual',
          headers: { 'Accept-Encoding': 'identity', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
          ...(signal ? { signal } : {}),
        });
      } catch (err) {
        if (signal?.aborted) throw new CancelledError();
        throw unreachable(err) ?? err;
      }
      const location = res.headers.get('Location');
      if (res.status >= 300 && res.status < 400 && location !== null && !/^[a-z]+:\/\//i.test(location)) {
        url = new URL(location, url).toString();
        continue;
      }
      if (res.status >= 400) throw refuse(repo, { status: res.status, code: res.headers.get('X-Error-Code'), message: res.headers.get('X-Error-Message') }, { file: path });
      const etag = normalizeEtag(res.headers.get('X-Linked-Etag') ?? res.headers.get('ETag'));
      const size = Number(res.headers.get('X-Linked-Size') ?? res.headers.get('Content-Length') ?? NaN);
      const repoCommit = res.headers.get('X-Repo-Commit');
      if (repoCommit === null) {
        throw new QuantfitError(`${endpoint} does not look like a Hugging Face hub (no X-Repo-Commit header); check HF_ENDPOINT and any proxy`, {}, { code: 'sources.hf.notAHub', params: { endpoint } });
      }
      if (etag === null || !Number.isFinite(size)) throw new QuantfitError(`${endpoint} sent no ETag or size for ${path} of ${where(repo)}`, {}, { code: 'sources.hf.noEtag', params: { file: path } });
      return { etag, size, location: location ?? url, url };
    }
    throw new QuantfitError(`too many redirects for ${path} of ${where(repo)}`);
  };

  return {
    name: 'huggingface',
    endpoint,

    async list(repo, revision, signal) {
      const rev = revision ?? 'main';
      try {
        const info = await call(repo, { revision: rev }, signal, () => modelInfo({ name: repo, revision: rev, hubUrl: endpoint, fetch: apiFetch, additionalFields: ['sha'] }));
        const commit = (info as { sha?: unknown }).sha;
        if (typeof commit !== 'string' || !COMMIT.test(commit)) throw new QuantfitError(`${endpoint} gave no commit for ${where(repo)}@${rev}`);
        const files: HubFile[] = [];
        await call(repo, { revision: rev }, signal, async () => {
          for await (const f of listFiles({ repo: { type: 'model', name: repo }, revision: commit, recursive: true, hubUrl: endpoint, fetch: apiFetch })) {
            if (f.type !== 'file') continue;
            files.push({ path: f.path, size: f.lfs?.size ?? f.size, sha256: f.lfs?.oid ?? null, ...(f.oid ? { etag: f.lfs?.oid ?? f.oid } : {}) } as HubFile);
          }
        });
        return { revision: rev, commit, files, offline: false };
      } catch (err) {
        const e = err as QuantfitError;
        if (e instanceof QuantfitError && e.code === 'sources.hf.unreachable') {
          const cached = await cachedListing(repo, rev);
          if (cached) return cached;
        }
        throw err;
      }
    },

    async plan(repo, listing, files) {
      const storage = storageOf(repo);
      await mkdir(join(storage, 'blobs'), { recursive: true });
      if (!listing.offline && listing.revision !== listing.commit) {
        await mkdir(join(storage, 'refs', ...listing.revision.split('/').slice(0, -1)), { recursive: true });
        await writeFile(join(storage, 'refs', ...listing.revision.split('/')), listing.commit);
      }
      const out: PlannedFile[] = [];
      for (const f of files) {
        const etag = (f as HubFile & { etag?: string }).etag;
        const pointer = pointerPath(storage, listing.commit, f.path);
        const blob = etag ? join(storage, 'blobs', etag) : null;
        const cached = (await exists(pointer)) || (blob !== null && (await exists(blob)));
        out.push({ ...f, cached, partial: !cached && blob !== null ? await partialBytes(blob) : 0 });
      }
      return out;
    },

    async fetchFile(repo, listing, file, { signal, onBytes }) {
      const storage = storageOf(repo);
      const pointer = pointerPath(storage, listing.commit, file.path);
      const meta = await head(repo, listing.commit, file.path, signal);
      const blob = join(storage, 'blobs', meta.etag);
      await mkdir(dirname(blob), { recursive: true });
      if (await exists(blob)) {
        await linkPointer(blob, pointer);
        return 0;
      }
      // The token goes only to the hub itself; a CDN's signed URL must not get it.
      const sameHost = new URL(meta.location).host === new URL(meta.url).host;
      // One writer per blob, in huggingface_hub's lock folder (.locks/<repo folder>/<etag>.lock).
      const lock = join(settings.hfCache, '.locks', getRepoFolderName({ name: repo, type: 'model' }), `${meta.etag}.lock`);
      const r = await withFileLock(lock, signal, async () => (await exists(blob)) ? { fetched: 0, resumed: 0 } : downloadFile({
        url: meta.location,
        headers: token && sameHost ? { Authorization: `Bearer ${token}` } : {},
        size: meta.size,
        sha256: file.sha256 ?? (/^[0-9a-f]{64}$/.test(meta.etag) ? meta.etag : null),
        finalPath: blob,
        label: file.path,
        connections: settings.connections,
        ...(signal ? { signal } : {}),
        onBytes,
        fetch: baseFetch,
      }));
      await linkPointer(blob, pointer);
      return r.fetched;
    },

    localRoot(repo, listing) {
      return join(storageOf(repo), 'snapshots', listing.commit);
    },

    storageDir(repo) {
      return join(storageOf(repo), 'blobs');
    },
  };
}

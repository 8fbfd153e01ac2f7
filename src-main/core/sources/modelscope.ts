// ModelScope (modelscope.cn, or MODELSCOPE_ENDPOINT) with its own API and cache layout, as the
// `modelscope` Python package uses them (hub/api.py, hub/file_download.py, hub/utils/caching.py):
//   list   GET {endpoint}/api/v1/models/{owner}/{name}/repo/files?Revision={rev}&Recursive=True
//          → {Code: 200, Data: {Files: [{Path, Type: 'blob'|'tree', Size, Sha256, Revision}]}}
//   file   GET {endpoint}/api/v1/models/{owner}/{name}/repo?Revision={rev}&FilePath={path}  (Range works)
//   cache  {cache}/models/{owner}/{name, '.' → '___'}/{path}, with `.msc` (pickled [{Path, Revision}]:
//          which files are there, at which commit) and `.mdl` (pickled {id}); downloads in progress
//          live in {cache}/._____temp/{owner}/{name}/ and are moved in when complete and verified.
// A file is reused when `.msc` lists it at the same commit and its sha256 matches, as modelscope does.

import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { CancelledError, QuantfitError } from '../errors.ts';
import { networkErrorCode } from '../ollama/client.ts';
import { downloadFile, partialBytes, withFileLock } from './download.ts';
import type { HubBackend, HubFile, HubListing, PlannedFile } from './hub.ts';
import type { HubSettings } from './hub-settings.ts';
import { pickle, unpickle, type PickleValue } from './pickle.ts';

const TEMP_FOLDER = '._____temp';
const DEFAULT_REVISION = 'master';

interface MsFile {
  Path?: unknown;
  Type?: unknown;
  Size?: unknown;
  Sha256?: unknown;
  Revision?: unknown;
}

export function modelscopeRepoFolder(cache: string, repo: string): string {
  const [owner, name] = repo.split('/') as [string, string];
  return join(cache, 'models', owner, name.replace(/\./g, '___'));
}

async function readIndex(folder: string): Promise<Array<{ Path: string; Revision: string }>> {
  try {
    const v = unpickle(await readFile(join(folder, '.msc')));
    if (!Array.isArray(v)) return [];
    return v.filter((x): x is { Path: string; Revision: string } => typeof x === 'object' && x !== null && !Array.isArray(x) && typeof (x as Record<string, PickleValue>).Path === 'string' && typeof (x as Record<string, PickleValue>).Revision === 'string');
  } catch {
    return [];
  }
}

/** Rewrites `.msc` through a temp file and a rename, as modelscope does (never half-written). */
async function writeIndex(folder: string, entries: Array<{ Path: string; Revision: string }>): Promise<void> {
  const temp = join(folder, `.msc.${randomBytes(4).toString('hex')}.tmp`);
  await writeFile(temp, pickle(entries));
  await rename(temp, join(folder, '.msc'));
}

async function sha256Of(path: string): Promise<string | null> {
  try {
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
    return hash.digest('hex');
  } catch {
    return null;
  }
}

function sameRevision(a: string, b: string): boolean {
  return a.startsWith(b) || b.startsWith(a);
}

export function modelScopeHub(settings: HubSettings, endpointOverride: string | null): HubBackend {
  const endpoint = (endpointOverride ?? settings.modelscopeEndpoint).replace(/\/+$/, '');
  const token = settings.modelscopeToken;
  const baseFetch = settings.fetch ?? fetch;
  const auth: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};
  const where = (repo: string) => `modelscope:${repo}`;
  const folderOf = (repo: string) => modelscopeRepoFolder(settings.modelscopeCache, repo);
  const tempOf = (repo: string) => join(settings.modelscopeCache, TEMP_FOLDER, ...repo.split('/'));

  const unreachable = (err: unknown): QuantfitError =>
    new QuantfitError(`cannot reach ${endpoint} (${networkErrorCode(err) ?? (err as Error).message}); check MODELSCOPE_ENDPOINT (or the endpoint in Settings)`, {}, {
      cause: err, code: 'sources.modelscope.unreachable', params: { endpoint, reason: networkErrorCode(err) ?? 'error' },
    });

  const offlineListing = async (repo: string, revision: string): Promise<HubListing | null> => {
    const entries = await readIndex(folderOf(repo));
    if (entries.length === 0) return null;
    const files: HubFile[] = [];
    for (const e of entries) {
      const st = await stat(join(folderOf(repo), e.Path)).catch(() => null);
      if (st?.isFile()) files.push({ path: e.Path, size: st.size, sha256: null });
    }
    return files.length > 0 ? { revision, commit: entries[0]!.Revision, files, offline: true } : null;
  };

  return {
    name: 'modelscope',
    endpoint,

    async list(repo, revision, signal) {
      const rev = revision ?? DEFAULT_REVISION;
      const url = `${endpoint}/api/v1/models/${repo}/repo/files?Revision=${encodeURIComponent(rev)}&Recursive=True`;
      let res: Response;
      try {
        res = await baseFetch(url, { headers: { Accept: 'application/json', ...auth }, ...(signal ? { signal } : {}) });
      } catch (err) {
        if (signal?.aborted) throw new CancelledError();
        if (networkErrorCode(err) !== null) {
          const cached = await offlineListing(repo, rev);
          if (cached) return cached;
        }
        throw unreachable(err);
      }
      const body = (await res.json().catch(() => null)) as { Code?: unknown; Message?: unknown; Data?: { Files?: unknown } } | null;
      const message = typeof body?.Message === 'string' ? body.Message : '';
      if (res.status === 401 || res.status === 403) {
        throw new QuantfitError(
          `${where(repo)} needs access${token ? ' your token does not have' : ''}: request it at ${endpoint}/models/${repo}${token ? '' : ', then set MODELSCOPE_API_TOKEN (or the token in Settings)'}`,
          {},
          { code: token ? 'sources.modelscope.forbidden' : 'sources.modelscope.needsToken', params: { repo, page: `${endpoint}/models/${repo}` } },
        );
      }
      if (!res.ok || body === null || body.Code !== 200 || !Array.isArray(body.Data?.Files)) {
        if (/revision/i.test(message)) {
          throw new QuantfitError(`${where(repo)} has no revision '${rev}'`, {}, { code: 'sources.modelscope.noRevision', params: { repo, revision: rev } });
        }
        if (res.status === 404 || /not exist|not found/i.test(message)) {
          throw new QuantfitError(`${where(repo)}: no such model on ${endpoint}`, {}, { code: 'sources.modelscope.noRepo', params: { repo, endpoint } });
        }
        throw new QuantfitError(`${endpoint} answered HTTP ${res.status} for ${where(repo)}${message ? `: ${message}` : ''}`, {}, { code: 'sources.hub.http', params: { repo, endpoint, status: res.status } });
      }
      const files: HubFile[] = [];
      let commit: string | null = null;
      for (const f of body.Data!.Files as MsFile[]) {
        if (f.Type !== 'blob' || typeof f.Path !== 'string') continue;
        if (typeof f.Revision === 'string' && commit === null) commit = f.Revision;
        files.push({ path: f.Path, size: typeof f.Size === 'number' ? f.Size : 0, sha256: typeof f.Sha256 === 'string' && /^[0-9a-f]{64}$/.test(f.Sha256) ? f.Sha256 : null });
      }
      return { revision: rev, commit: commit ?? rev, files, offline: false };
    },

    async plan(repo, listing, files) {
      const folder = folderOf(repo);
      await mkdir(folder, { recursive: true });
      await mkdir(tempOf(repo), { recursive: true });
      const index = await readIndex(folder);
      const out: PlannedFile[] = [];
      for (const f of files) {
        const entry = index.find((e) => e.Path === f.path && sameRevision(e.Revision, listing.commit));
        let cached = false;
        if (entry) {
          const path = join(folder, f.path);
          cached = f.sha256 === null ? (await stat(path).catch(() => null))?.isFile() === true : (await sha256Of(path)) === f.sha256;
        }
        out.push({ ...f, cached, partial: cached ? 0 : await partialBytes(join(tempOf(repo), f.path)) });
      }
      return out;
    },

    async fetchFile(repo, listing, file, { signal, onBytes }) {
      const folder = folderOf(repo);
      const final = join(folder, file.path);
      if (relative(folder, final).startsWith('..')) throw new QuantfitError(`invalid file path '${file.path}' in the repository`);
      const temp = join(tempOf(repo), file.path);
      await mkdir(dirname(temp), { recursive: true });
      const r = await withFileLock(`${temp}.lock`, signal, () => downloadFile({
        url: `${endpoint}/api/v1/models/${repo}/repo?Revision=${encodeURIComponent(listing.revision)}&FilePath=${encodeURIComponent(file.path)}`,
        headers: auth,
        size: file.size,
        sha256: file.sha256,
        finalPath: temp,
        label: file.path,
        connections: settings.connections,
        ...(signal ? { signal } : {}),
        onBytes,
        fetch: baseFetch,
      }));
      await mkdir(dirname(final), { recursive: true });
      await rename(temp, final);
      // The index says which commit the file is from: a later run (or modelscope itself) reuses it.
      const index = (await readIndex(folder)).filter((e) => e.Path !== file.path);
      index.push({ Path: file.path, Revision: listing.commit });
      await writeIndex(folder, index);
      // modelscope records the id with the folder's spelling of the name.
      await writeFile(join(folder, '.mdl'), pickle({ id: relative(join(settings.modelscopeCache, 'models'), folder).split(/[\\/]/).join('/') }));
      return r.fetched;
    },

    localRoot(repo) {
      return folderOf(repo);
    },

    storageDir(repo) {
      return tempOf(repo);
    },
  };
}

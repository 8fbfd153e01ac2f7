// A stand-in for huggingface.co on 127.0.0.1, for the endpoints huggingface_hub and @huggingface/hub
// use to download a model, answering as the real hub does:
//   GET  /api/models/ORG/REPO/revision/REV        model info ({id, sha, gated, private, …})
//   GET  /api/models/ORG/REPO/tree/REV[/PATH]     listing (?recursive, Link: rel="next" paging)
//   HEAD|GET /ORG/REPO/resolve/REV/PATH           small files served directly (ETag = git blob id);
//        LFS files answered with 302 to a CDN URL on another host name (localhost instead of
//        127.0.0.1) with X-Linked-Etag (sha256) and X-Linked-Size; X-Repo-Commit on both
//   GET  /cdn/<sha256>                             the bytes, with Range (206 + Content-Range)
// Refusals carry X-Error-Code / X-Error-Message: RepoNotFound (401 without a token, 404 with one),
// RevisionNotFound, EntryNotFound (404), GatedRepo (401 without a token, 403 without access).
// Faults: a connection dropped mid-file, a corrupted byte (wrong checksum), a slow server, and a size
// too big for any disk (the "disk full" case is refused before downloading).

import { createHash, randomBytes } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface FakeRepoFile {
  readonly path: string;
  readonly data: Buffer;
}

export interface FakeRepoOptions {
  /** Branches/tags → files; each gets its own commit. Default: `main`. */
  readonly revisions?: Readonly<Record<string, readonly FakeRepoFile[]>>;
  readonly files?: readonly FakeRepoFile[];
  /** Gated: downloads need a token in `allowedTokens`. */
  readonly gated?: boolean;
  readonly private?: boolean;
  readonly allowedTokens?: readonly string[];
}

export interface HubFaults {
  /** Drop the connection of the next file GET longer than this after this many body bytes. */
  dropAfterBytes?: number;
  /** Flip a byte of the next file served (the client's sha256 check must catch it). */
  corruptNext?: boolean;
  /** Send file bodies at this many bytes per second. */
  bytesPerSecond?: number;
  /** Announce this size for every LFS file (tree, X-Linked-Size): more than any disk has. */
  announceSize?: number;
}

export interface HubRequest {
  readonly method: string;
  readonly path: string;
  readonly range: string | null;
  readonly authorized: boolean;
  readonly host: string;
}

interface Commit {
  readonly sha: string;
  readonly files: Map<string, FakeRepoFile & { lfs: boolean; sha256: string; gitOid: string }>;
}

interface Repo {
  readonly id: string;
  readonly revisions: Map<string, Commit>;
  readonly gated: boolean;
  readonly private: boolean;
  readonly allowed: Set<string>;
}

/** Files at or over this size are LFS (the hub's rule is by extension and size; weights always are). */
const LFS_MIN = 1024;

export function gitBlobOid(data: Buffer): string {
  return createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex');
}

/** Serves `data` (or the Range of it the request asks for), with the faults. */
export async function serveBytes(req: IncomingMessage, res: ServerResponse, data: Buffer, headers: Record<string, string>, faults: HubFaults): Promise<void> {
  let body = data;
  if (faults.corruptNext) {
    delete faults.corruptNext;
    body = Buffer.from(data);
    body[Math.floor(body.length / 2)] = body[Math.floor(body.length / 2)]! ^ 0x5a;
  }
  const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  let start = 0;
  let end = body.length - 1;
  let status = 200;
  const out: Record<string, string> = { ...headers, 'Accept-Ranges': 'bytes', 'Content-Type': 'application/octet-stream' };
  if (req.headers.range !== undefined) {
    if (!range || Number(range[1]) >= body.length) {
      res.writeHead(416, { 'Content-Range': `bytes */${body.length}` });
      res.end();
      return;
    }
    start = Number(range[1]);
    end = range[2] ? Math.min(Number(range[2]), body.length - 1) : body.length - 1;
    status = 206;
    out['Content-Range'] = `bytes ${start}-${end}/${body.length}`;
  }
  out['Content-Length'] = String(end - start + 1);
  res.writeHead(status, out);
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  const slice = body.subarray(start, end + 1);
  // The drop hits the next body long enough to be cut.
  const drop = faults.dropAfterBytes !== undefined && slice.length > faults.dropAfterBytes ? faults.dropAfterBytes : undefined;
  if (drop !== undefined) delete faults.dropAfterBytes;
  const chunk = 16 * 1024;
  let sent = 0;
  for (let at = 0; at < slice.length; at += chunk) {
    const piece = slice.subarray(at, Math.min(slice.length, at + chunk));
    if (drop !== undefined && sent + piece.length > drop) {
      res.write(piece.subarray(0, Math.max(0, drop - sent)));
      await new Promise((r) => setTimeout(r, 20));
      res.socket?.destroy();
      return;
    }
    if (!res.write(piece)) await new Promise((r) => res.once('drain', r));
    sent += piece.length;
    if (faults.bytesPerSecond) await new Promise((r) => setTimeout(r, (piece.length / faults.bytesPerSecond!) * 1000));
    if (res.destroyed) return;
  }
  res.end();
}

export class FakeHfHub {
  readonly repos = new Map<string, Repo>();
  readonly requests: HubRequest[] = [];
  faults: HubFaults = {};
  private server: http.Server | null = null;
  private readonly sockets = new Set<Socket>();
  private port = 0;

  static async start(): Promise<FakeHfHub> {
    const hub = new FakeHfHub();
    const server = http.createServer((req, res) => {
      hub.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) {
          res.writeHead(500, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify({ error: String(err) }));
        } else res.destroy();
      });
    });
    server.on('connection', (s) => {
      hub.sockets.add(s);
      s.on('close', () => hub.sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    hub.port = (server.address() as { port: number }).port;
    hub.server = server;
    return hub;
  }

  /** The hub's address (what HF_ENDPOINT is set to). */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The CDN's address: the same server under another host name, as cdn-lfs.hf.co is to huggingface.co. */
  get cdnUrl(): string {
    return `http://localhost:${this.port}`;
  }

  /** Adds a repo; returns the commit of each revision. */
  addRepo(id: string, opts: FakeRepoOptions): Record<string, string> {
    const revisions = new Map<string, Commit>();
    const shas: Record<string, string> = {};
    for (const [rev, files] of Object.entries(opts.revisions ?? { main: opts.files ?? [] })) {
      const sha = randomBytes(20).toString('hex');
      const map = new Map<string, FakeRepoFile & { lfs: boolean; sha256: string; gitOid: string }>();
      for (const f of files) {
        map.set(f.path, { ...f, lfs: f.data.length >= LFS_MIN || /\.(gguf|safetensors)$/.test(f.path), sha256: createHash('sha256').update(f.data).digest('hex'), gitOid: gitBlobOid(f.data) });
      }
      const commit = { sha, files: map };
      revisions.set(rev, commit);
      revisions.set(sha, commit);
      shas[rev] = sha;
    }
    this.repos.set(id, { id, revisions, gated: opts.gated === true, private: opts.private === true, allowed: new Set(opts.allowedTokens ?? []) });
    return shas;
  }

  /** File GETs (not HEADs) of the bytes, through the hub or the CDN. */
  fileGets(): HubRequest[] {
    return this.requests.filter((r) => r.method === 'GET' && (r.path.startsWith('/cdn/') || r.path.includes('/resolve/')));
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }

  private token(req: IncomingMessage): string | null {
    const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    return m ? m[1]! : null;
  }

  private refuse(res: ServerResponse, status: number, code: string, message: string): void {
    const body = JSON.stringify({ error: message });
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'X-Error-Code': code, 'X-Error-Message': message, 'X-Request-Id': randomBytes(8).toString('hex'), 'Content-Length': String(Buffer.byteLength(body)) });
    res.end(body);
  }

  /** The repo and commit, or a refusal sent as huggingface.co sends it. */
  private find(req: IncomingMessage, res: ServerResponse, id: string, rev: string, forFiles: boolean): { repo: Repo; commit: Commit } | null {
    const repo = this.repos.get(id);
    const token = this.token(req);
    if (!repo || (repo.private && (token === null || !repo.allowed.has(token)))) {
      this.refuse(res, token === null ? 401 : 404, 'RepoNotFound', 'Repository not found');
      return null;
    }
    const commit = repo.revisions.get(rev);
    if (!commit) {
      this.refuse(res, 404, 'RevisionNotFound', `Invalid rev id: ${rev}`);
      return null;
    }
    if (forFiles && repo.gated && (token === null || !repo.allowed.has(token))) {
      if (token === null) this.refuse(res, 401, 'GatedRepo', `Access to model ${id} is restricted. You must have access to it and be authenticated to access it. Please log in.`);
      else this.refuse(res, 403, 'GatedRepo', `Access to model ${id} is restricted and you are not in the authorized list. Visit https://huggingface.co/${id} to ask for access.`);
      return null;
    }
    return { repo, commit };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = decodeURIComponent(url.pathname);
    const method = req.method ?? 'GET';
    this.requests.push({ method, path, range: req.headers.range ?? null, authorized: req.headers.authorization !== undefined, host: req.headers.host ?? '' });
    req.resume();

    let m = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/(.+)$/.exec(path);
    if (m && method === 'GET') {
      const found = this.find(req, res, m[1]!, m[2]!, false);
      if (!found) return;
      const body = JSON.stringify({ _id: randomBytes(12).toString('hex'), id: m[1], private: found.repo.private, gated: found.repo.gated ? 'manual' : false, sha: found.commit.sha, downloads: 0, likes: 0, lastModified: new Date().toISOString() });
      res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8' });
      res.end(body);
      return;
    }
    m = /^\/api\/models\/([^/]+\/[^/]+)\/tree\/([^/]+)(?:\/(.*))?$/.exec(path);
    if (m && method === 'GET') {
      const found = this.find(req, res, m[1]!, m[2]!, false);
      if (!found) return;
      return this.tree(res, url, found.commit, m[3] ?? '');
    }
    m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    if (m && (method === 'GET' || method === 'HEAD')) {
      const found = this.find(req, res, m[1]!, m[2]!, true);
      if (!found) return;
      const file = found.commit.files.get(m[3]!);
      if (!file) return this.refuse(res, 404, 'EntryNotFound', 'Entry not found');
      const common = { 'X-Repo-Commit': found.commit.sha, 'X-Request-Id': randomBytes(8).toString('hex') };
      if (file.lfs) {
        const size = this.faults.announceSize ?? file.data.length;
        res.writeHead(302, {
          ...common,
          Location: `${this.cdnUrl}/cdn/${file.sha256}?X-Amz-Signature=${randomBytes(8).toString('hex')}`,
          ETag: `"${file.gitOid}"`,
          'X-Linked-Etag': `"${file.sha256}"`,
          'X-Linked-Size': String(size),
          'Content-Length': '0',
        });
        res.end();
        return;
      }
      return serveBytes(req, res, file.data, { ...common, ETag: `"${file.gitOid}"` }, this.faults);
    }
    m = /^\/cdn\/([0-9a-f]{64})$/.exec(path);
    if (m && (method === 'GET' || method === 'HEAD')) {
      for (const repo of this.repos.values()) {
        for (const commit of repo.revisions.values()) {
          for (const f of commit.files.values()) {
            if (f.sha256 === m[1]) return serveBytes(req, res, f.data, { ETag: `"${f.sha256}"` }, this.faults);
          }
        }
      }
      res.writeHead(403, { 'Content-Type': 'application/xml' });
      res.end('<Error><Code>AccessDenied</Code></Error>');
      return;
    }
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('Not Found');
  }

  /** The tree listing: directories and files under `under`, paged 50 at a time with a Link header. */
  private tree(res: ServerResponse, url: URL, commit: Commit, under: string): void {
    const recursive = url.searchParams.get('recursive') === 'true';
    const prefix = under === '' ? '' : `${under.replace(/\/$/, '')}/`;
    const entries: Array<Record<string, unknown>> = [];
    const dirs = new Set<string>();
    for (const f of commit.files.values()) {
      if (!f.path.startsWith(prefix)) continue;
      const rest = f.path.slice(prefix.length);
      const parts = rest.split('/');
      for (let i = 1; i < parts.length; i++) {
        if (!recursive && i > 1) break;
        dirs.add(prefix + parts.slice(0, i).join('/'));
      }
      if (!recursive && parts.length > 1) continue;
      const size = f.lfs ? this.faults.announceSize ?? f.data.length : f.data.length;
      entries.push({ type: 'file', oid: f.gitOid, size, path: f.path, ...(f.lfs ? { lfs: { oid: f.sha256, size, pointerSize: 134 } } : {}) });
    }
    for (const d of dirs) entries.push({ type: 'directory', oid: createHash('sha1').update(d).digest('hex'), size: 0, path: d });
    const page = 50;
    const cursor = Number(url.searchParams.get('cursor') ?? '0');
    const slice = entries.slice(cursor, cursor + page);
    const headers: Record<string, string> = { 'Content-Type': 'application/json; charset=utf-8' };
    if (cursor + page < entries.length) {
      const next = new URL(url.toString().replace('http://x', this.url));
      next.searchParams.set('cursor', String(cursor + page));
      headers.Link = `<${next.toString()}>; rel="next"`;
    }
    res.writeHead(200, headers);
    res.end(JSON.stringify(slice));
  }
}

export async function startFakeHfHub(): Promise<FakeHfHub> {
  return FakeHfHub.start();
}

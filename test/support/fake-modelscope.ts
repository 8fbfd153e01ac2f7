// A stand-in for modelscope.cn on 127.0.0.1, for the endpoints the modelscope package downloads with:
//   GET /api/v1/models/OWNER/NAME/repo/files?Revision=REV&Recursive=True
//       → {Code: 200, Data: {Files: [{Name, Path, Type, Size, Sha256, Revision, IsLFS}]}, Success: true}
//   GET /api/v1/models/OWNER/NAME/repo?Revision=REV&FilePath=PATH   the bytes, with Range
// Refusals as JSON {Code, Message, Success: false}: 404 for an unknown model or revision, 401 for a
// private model without a token. Faults as the Hugging Face stand-in's (fake-hf-hub.ts).

import { createHash, randomBytes } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { serveBytes, type FakeRepoFile, type HubFaults, type HubRequest } from './fake-hf-hub.ts';

interface MsRepo {
  readonly revisions: Map<string, { commit: string; files: Map<string, FakeRepoFile & { sha256: string }> }>;
  readonly private: boolean;
  readonly allowed: Set<string>;
}

export class FakeModelScope {
  readonly repos = new Map<string, MsRepo>();
  readonly requests: HubRequest[] = [];
  faults: HubFaults = {};
  private server: http.Server | null = null;
  private readonly sockets = new Set<Socket>();
  private port = 0;

  static async start(): Promise<FakeModelScope> {
    const ms = new FakeModelScope();
    const server = http.createServer((req, res) => {
      ms.handle(req, res).catch(() => res.destroy());
    });
    server.on('connection', (s) => {
      ms.sockets.add(s);
      s.on('close', () => ms.sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    ms.port = (server.address() as { port: number }).port;
    ms.server = server;
    return ms;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  addRepo(id: string, opts: { revisions?: Record<string, readonly FakeRepoFile[]>; files?: readonly FakeRepoFile[]; private?: boolean; allowedTokens?: readonly string[] }): Record<string, string> {
    const revisions = new Map<string, { commit: string; files: Map<string, FakeRepoFile & { sha256: string }> }>();
    const commits: Record<string, string> = {};
    for (const [rev, files] of Object.entries(opts.revisions ?? { master: opts.files ?? [] })) {
      const commit = randomBytes(20).toString('hex');
      revisions.set(rev, { commit, files: new Map(files.map((f) => [f.path, { ...f, sha256: createHash('sha256').update(f.data).digest('hex') }])) });
      commits[rev] = commit;
    }
    this.repos.set(id, { revisions, private: opts.private === true, allowed: new Set(opts.allowedTokens ?? []) });
    return commits;
  }

  fileGets(): HubRequest[] {
    return this.requests.filter((r) => r.method === 'GET' && /\/repo$/.test(r.path));
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(text)) });
    res.end(text);
  }

  private fail(res: ServerResponse, status: number, message: string): void {
    this.json(res, status, { Code: status === 404 ? 10010205 : 10010101, Message: message, RequestId: randomBytes(8).toString('hex'), Success: false });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const method = req.method ?? 'GET';
    this.requests.push({ method, path: url.pathname, range: req.headers.range ?? null, authorized: req.headers.authorization !== undefined, host: req.headers.host ?? '' });
    req.resume();
    const m = /^\/api\/v1\/models\/([^/]+\/[^/]+)\/repo(\/files)?$/.exec(url.pathname);
    if (!m || (method !== 'GET' && method !== 'HEAD')) return this.fail(res, 404, 'Not Found');
    const repo = this.repos.get(m[1]!);
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? null;
    if (!repo) return this.fail(res, 404, `Model ${m[1]} not exists`);
    if (repo.private && (token === null || !repo.allowed.has(token))) return this.fail(res, 401, 'Unauthorized, please login first or check your token');
    const rev = url.searchParams.get('Revision') ?? 'master';
    const revision = repo.revisions.get(rev) ?? [...repo.revisions.values()].find((r) => r.commit === rev);
    if (!revision) return this.fail(res, 404, `Revision ${rev} not exists`);
    if (m[2]) {
      const files = [...revision.files.values()].map((f) => ({
        Name: f.path.split('/').pop(), Path: f.path, Type: 'blob', Size: this.faults.announceSize ?? f.data.length, Sha256: f.sha256, Revision: revision.commit, IsLFS: f.data.length >= 1024,
      }));
      return this.json(res, 200, { Code: 200, Data: { Files: files }, Message: 'success', RequestId: randomBytes(8).toString('hex'), Success: true });
    }
    const file = revision.files.get(url.searchParams.get('FilePath') ?? '');
    if (!file) return this.fail(res, 404, `File ${url.searchParams.get('FilePath')} not exists`);
    return serveBytes(req, res, file.data, { ETag: `"${file.sha256}"` }, this.faults);
  }
}

export async function startFakeModelScope(): Promise<FakeModelScope> {
  return FakeModelScope.start();
}

// A stand-in for the Ollama server, written from /work/shared/spec/ollama-api.md (Ollama v0.33 as it
// really behaves): same routes, status codes, error texts, NDJSON streaming, on-disk layout (blobs +
// manifests under a temp models dir) and GGUF header checks as Ollama's Go decoder makes them. Two
// version profiles: 'v0.33' (create rewrites the model GGUF through "llama-quantize") and 'pre-0.30'.
// Fault hooks let tests stop the server, kill it mid-upload, fail a create mid-stream, corrupt an
// upload, or slow every answer down.

import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rename, rm, rmdir, stat, utimes, writeFile } from 'node:fs/promises';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

// ------------------------------------------------------------------------------------------------
// Options, faults, lifecycle

export type FakeProfile = 'v0.33' | 'pre-0.30';

export interface FakeOllamaOptions {
  /** 'v0.33' (default) or 'pre-0.30' create behaviour. */
  readonly profile?: FakeProfile;
  /** Reported by /api/version (default per profile). */
  readonly version?: string;
  /** Models root ($OLLAMA_MODELS); default a fresh temp dir (removed by stop()). */
  readonly modelsDir?: string;
  /** Port to listen on (default random). */
  readonly port?: number;
  /** Folder with Ollama's template index.json + <name>.gotmpl/.json; default ../shared/ollama-templates if present; null = no autodetection. */
  readonly templatesDir?: string | null;
  /** Share of a loaded model Ollama puts in VRAM (0 = CPU only, 1 = all on the GPU); default 1. */
  readonly vramFraction?: number;
}

/** A model as the registry holds it: what `/api/pull` fetches and `installModel` puts in place. */
export interface LibraryModel {
  /** The model GGUF (read, never changed). */
  readonly gguf: string;
  readonly template?: string;
  readonly system?: string;
  /** Ollama options, as the params layer stores them (`{"stop": [...], "temperature": 0.7}`). */
  readonly parameters?: Readonly<Record<string, unknown>>;
  /** One licence layer per text. */
  readonly license?: readonly string[];
}

/** One-shot faults (each clears itself once it has fired) plus a standing delay. */
export interface FakeOllamaFaults {
  /** Destroy the upload connection after this many body bytes and stop listening (the server "dies"). */
  dieDuringUploadAfterBytes?: number;
  /** In the next create, send `{"error": message}` after the line whose status starts with `afterStatus`. */
  createErrorAfter?: { afterStatus: string; message: string };
  /** Flip one byte of the next upload, so it hashes to a different digest than the URL names. */
  corruptNextUpload?: boolean;
  /** Wait this long before handling every request. */
  delayMs?: number;
  /** In the next pull, stop the stream after this many bytes of the model layer (the connection drops). */
  pullDropAfterBytes?: number;
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  /** Parsed JSON body for JSON endpoints (undefined for blobs or empty bodies). */
  readonly body?: unknown;
}

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SHARED_TEMPLATES = join(REPO_ROOT, '..', 'shared', 'ollama-templates');

export class FakeOllama {
  readonly profile: FakeProfile;
  readonly version: string;
  readonly modelsDir: string;
  faults: FakeOllamaFaults = {};
  vramFraction: number;
  readonly requests: RecordedRequest[] = [];
  /** What `/api/pull` can fetch, by the name as pulled (`qwen2.5:0.5b-instruct-fp16`). */
  readonly library = new Map<string, LibraryModel>();
  private server: http.Server | null = null;
  private readonly sockets = new Set<Socket>();
  private port: number;
  private readonly ownsDir: boolean;
  private readonly templates: NamedTemplates | null;
  /** Loaded models (for /api/ps), by canonical manifest path. */
  private readonly loaded = new Map<string, { name: string; model: string; size: number; digest: string; details: Record<string, unknown>; expiresAt: Date; contextLength: number }>();

  private constructor(opts: FakeOllamaOptions, modelsDir: string, ownsDir: boolean) {
    this.profile = opts.profile ?? 'v0.33';
    this.version = opts.version ?? (this.profile === 'v0.33' ? '0.33.0' : '0.29.1');
    this.modelsDir = modelsDir;
    this.ownsDir = ownsDir;
    this.port = opts.port ?? 0;
    this.vramFraction = opts.vramFraction ?? 1;
    const dir = opts.templatesDir === undefined ? SHARED_TEMPLATES : opts.templatesDir;
    this.templates = dir !== null ? loadNamedTemplates(dir) : null;
  }

  static async start(opts: FakeOllamaOptions = {}): Promise<FakeOllama> {
    const ownsDir = opts.modelsDir === undefined;
    const dir = opts.modelsDir ?? (await mkdtemp(join(tmpdir(), 'quantfit-fake-ollama-')));
    await mkdir(join(dir, 'blobs'), { recursive: true });
    await mkdir(join(dir, 'manifests'), { recursive: true });
    const fake = new FakeOllama(opts, dir, ownsDir);
    await fake.listen();
    return fake;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** True when the server is accepting connections. */
  get running(): boolean {
    return this.server !== null;
  }

  /** Whether the template index was found (autodetection on). */
  get autodetectsTemplates(): boolean {
    return this.templates !== null;
  }

  private async listen(): Promise<void> {
    const server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) sendError(res, 500, err instanceof Error ? err.message : String(err));
        else res.destroy();
      });
    });
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  /** The server goes away at once: listener closed, every connection destroyed. */
  async kill(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }

  /** Starts again on the same port and models dir, pruning like Ollama does at startup. */
  async restart(): Promise<void> {
    if (this.server) await this.kill();
    this.loaded.clear();
    await this.pruneAtStartup();
    await this.listen();
  }

  /** Stops the server and removes the models dir if it made it. */
  async stop(): Promise<void> {
    await this.kill();
    if (this.ownsDir) await rm(this.modelsDir, { recursive: true, force: true });
  }

  // ---------------------------------------------------------------------------------------------
  // Inspection helpers for tests

  blobPath(hex: string): string {
    return join(this.modelsDir, 'blobs', `sha256-${hex}`);
  }

  async blobNames(): Promise<string[]> {
    return (await readdir(join(this.modelsDir, 'blobs'))).sort();
  }

  /** Manifest JSON of a model, or null. */
  async manifest(name: string): Promise<Manifest | null> {
    const n = parseName(name);
    if (!n) return null;
    const path = await this.existingManifestPath(n);
    if (!path) return null;
    return JSON.parse(await readFile(path, 'utf8')) as Manifest;
  }

  // ---------------------------------------------------------------------------------------------
  // Routing (gin: a known path with the wrong method → 405; unknown path → 404; both text bodies)

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const delay = this.faults.delayMs;
    if (delay) await new Promise((r) => setTimeout(r, delay));
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    // §0: a disallowed Origin, or (on a loopback listener) a Host that is not local, gets a bare 403.
    if (!allowedOrigin(req.headers.origin) || !allowedHost(req.headers.host)) {
      this.requests.push({ method, path });
      req.resume();
      res.writeHead(403, { 'Content-Length': '0' });
      res.end();
      return;
    }

    const blob = /^\/api\/blobs\/([^/]+)$/.exec(path);
    if (blob) {
      this.requests.push({ method, path });
      if (method === 'HEAD') return this.headBlob(res, decodeURIComponent(blob[1]!));
      if (method === 'POST') return this.postBlob(req, res, decodeURIComponent(blob[1]!));
      return methodNotAllowed(res);
    }
    const routes: Record<string, Record<string, (body: unknown) => Promise<void> | void>> = {
      '/': { GET: () => sendText(res, 200, 'Ollama is running'), HEAD: () => sendText(res, 200, 'Ollama is running') },
      '/api/version': { GET: () => sendJson(res, 200, { version: this.version }), HEAD: () => sendJson(res, 200, { version: this.version }) },
      '/api/tags': { GET: () => this.tags(res), HEAD: () => this.tags(res) },
      '/api/ps': { GET: () => this.ps(res) },
      '/api/create': { POST: (b) => this.create(res, b) },
      '/api/show': { POST: (b) => this.show(res, b) },
      '/api/pull': { POST: (b) => this.pull(res, b) },
      '/api/copy': { POST: (b) => this.copy(res, b) },
      '/api/delete': { DELETE: (b) => this.delete(res, b) },
      '/api/generate': { POST: (b) => this.generate(res, b, 'generate') },
      '/api/chat': { POST: (b) => this.generate(res, b, 'chat') },
    };
    const route = routes[path];
    if (!route) {
      this.requests.push({ method, path });
      return sendText(res, 404, '404 page not found');
    }
    const handler = route[method];
    if (!handler) {
      this.requests.push({ method, path });
      return methodNotAllowed(res);
    }
    let body: unknown;
    if (method === 'POST' || method === 'DELETE') {
      const raw = await readBody(req);
      const parsed = parseJsonBody(raw);
      this.requests.push({ method, path, body: parsed.ok ? parsed.value : undefined });
      if (!parsed.ok) return sendError(res, 400, parsed.error);
      body = parsed.value;
    } else {
      this.requests.push({ method, path });
    }
    await handler(body);
  }

  // ---------------------------------------------------------------------------------------------
  // §1 Blobs

  private headBlob(res: ServerResponse, digest: string): void {
    if (!DIGEST_RE.test(digest)) return sendError(res, 400, 'invalid digest format');
    const exists = existsSync(this.blobPathFor(digest));
    res.writeHead(exists ? 200 : 404, { 'Content-Length': '0' });
    res.end();
  }

  private blobPathFor(digest: string): string {
    return join(this.modelsDir, 'blobs', digest.replace(':', '-'));
  }

  private async postBlob(req: IncomingMessage, res: ServerResponse, digest: string): Promise<void> {
    if (!DIGEST_RE.test(digest)) {
      req.resume();
      return sendError(res, 400, 'invalid digest format');
    }
    if (existsSync(this.blobPathFor(digest))) {
      // Ollama answers without reading the body.
      res.writeHead(200, { 'Content-Length': '0' });
      res.end();
      return;
    }
    const dieAfter = this.faults.dieDuringUploadAfterBytes;
    const corrupt = this.faults.corruptNextUpload === true;
    if (dieAfter !== undefined) delete this.faults.dieDuringUploadAfterBytes;
    if (corrupt) delete this.faults.corruptNextUpload;

    // Interrupted uploads leave this name behind; it fails the digest regex, so startup prunes it.
    const temp = join(this.modelsDir, 'blobs', `sha256-${randomBytes(5).readUInt32LE(0)}${Date.now() % 100000}`);
    const out = createWriteStream(temp);
    const hash = createHash('sha256');
    let received = 0;
    let died = false;
    try {
      await new Promise<void>((resolve, reject) => {
        req.on('data', (chunk: Buffer) => {
          if (died) return;
          let data = chunk;
          if (corrupt && received === 0 && data.length > 0) {
            data = Buffer.from(chunk);
            data[0] = data[0]! ^ 0xff;
          }
          if (dieAfter !== undefined && received + data.length >= dieAfter) {
            const part = data.subarray(0, Math.max(0, dieAfter - received));
            hash.update(part);
            out.write(part);
            received += part.length;
            died = true;
            out.end(() => {
              void this.kill().then(() => reject(new Error('server died')));
            });
            return;
          }
          received += data.length;
          hash.update(data);
          if (!out.write(data)) {
            req.pause();
            out.once('drain', () => req.resume());
          }
        });
        req.on('end', () => {
          if (!died) out.end(() => resolve());
        });
        req.on('error', (e) => reject(e));
        req.on('aborted', () => reject(new Error('unexpected EOF')));
      });
    } catch (err) {
      if (died) return; // a dead server cleans nothing up
      out.destroy();
      await rm(temp, { force: true });
      if (!res.destroyed) sendError(res, 500, (err as Error).message);
      return;
    }
    const actual = `sha256:${hash.digest('hex')}`;
    const final = this.blobPathFor(actual);
    if (existsSync(final)) await rm(temp, { force: true });
    else await rename(temp, final);
    const now = new Date();
    await utimes(final, now, now);
    if (actual !== digest) return sendError(res, 400, `digest mismatch, expected "${digest}", got "${actual}"`);
    res.writeHead(201, { 'Content-Length': '0' });
    res.end();
  }

  /** Startup pruning (§1): unreferenced blobs older than an hour, and names that are not digests. */
  private async pruneAtStartup(): Promise<void> {
    const referenced = await this.referencedBlobs();
    const dir = join(this.modelsDir, 'blobs');
    for (const name of await readdir(dir)) {
      const path = join(dir, name);
      if (!/^sha256-[0-9a-fA-F]{64}$/.test(name)) {
        await rm(path, { force: true });
        continue;
      }
      const age = Date.now() - (await stat(path)).mtimeMs;
      if (!referenced.has(name.replace('-', ':')) && age > 3600_000) await rm(path, { force: true });
    }
  }

  // ---------------------------------------------------------------------------------------------
  // §2 Manifests

  private manifestPath(n: Name): string {
    return join(this.modelsDir, 'manifests', n.host, n.namespace, n.model, n.tag);
  }

  /** The manifest file for a name, matching each part case-insensitively (getExistingName). */
  private async existingManifestPath(n: Name): Promise<string | null> {
    const parts = [n.host, n.namespace, n.model, n.tag];
    let dir = join(this.modelsDir, 'manifests');
    for (const part of parts) {
      let entries: string[];
      try {
        entries = await readdir(dir);
      } catch {
        return null;
      }
      const hit = entries.find((e) => e.toLowerCase() === part.toLowerCase());
      if (!hit) return null;
      dir = join(dir, hit);
    }
    return dir;
  }

  private async allManifests(): Promise<Array<{ name: Name; path: string; manifest: Manifest; raw: Buffer; mtime: Date }>> {
    const root = join(this.modelsDir, 'manifests');
    const out: Array<{ name: Name; path: string; manifest: Manifest; raw: Buffer; mtime: Date }> = [];
    const walk = async (dir: string, depth: number): Promise<void> => {
      let entries: string[];
      try {
        entries = await readdir(dir);
      } catch {
        return;
      }
      for (const e of entries) {
        const p = join(dir, e);
        const st = await stat(p);
        if (st.isDirectory() && depth < 4) await walk(p, depth + 1);
        else if (st.isFile() && depth === 4) {
          const [host, namespace, model, tag] = relative(root, p).split(sep);
          const raw = await readFile(p);
          out.push({ name: { host: host!, namespace: namespace!, model: model!, tag: tag! }, path: p, manifest: JSON.parse(raw.toString('utf8')) as Manifest, raw, mtime: st.mtime });
        }
      }
    };
    await walk(root, 1);
    return out;
  }

  private async referencedBlobs(): Promise<Set<string>> {
    const set = new Set<string>();
    for (const m of await this.allManifests()) {
      set.add(m.manifest.config.digest);
      for (const l of m.manifest.layers) set.add(l.digest);
    }
    return set;
  }

  private async writeBlob(data: Buffer): Promise<{ digest: string; size: number; existed: boolean }> {
    const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
    const path = this.blobPathFor(digest);
    const existed = existsSync(path);
    if (!existed) await writeFile(path, data);
    return { digest, size: data.length, existed };
  }

  // ---------------------------------------------------------------------------------------------
  // §3 Create

  private async create(res: ServerResponse, raw: unknown): Promise<void> {
    const shape = checkShape(raw, CREATE_FIELDS, 'CreateRequest');
    if (shape) return sendError(res, 400, shape);
    const body = raw as Record<string, unknown>;
    const modelName = (body.model ?? body.name ?? '') as string;
    const files = (body.files ?? {}) as Record<string, string>;
    const draftFiles = (body.draft_files ?? {}) as Record<string, string>;
    const stream = body.stream !== false;

    // §3.2, in order.
    for (const map of [files, draftFiles]) {
      for (const [key, digest] of Object.entries(map)) {
        if (!validPath(key)) return sendError(res, 400, 'file path must be relative');
        if (digest === '') return sendError(res, 400, 'invalid digest format');
      }
    }
    if (body.draft_quantize && Object.keys(draftFiles).length === 0) return sendError(res, 400, '--draft-quantize requires a DRAFT model');
    const adapters = (body.adapters ?? {}) as Record<string, string>;
    if (Object.values(adapters).some((d) => d === '')) return sendError(res, 400, 'invalid digest format');
    const name = parseName(modelName);
    if (!name) return sendError(res, 400, 'invalid model name');
    const from = typeof body.from === 'string' && body.from !== '' ? body.from : null;
    if (from === null && Object.keys(files).length === 0) return sendError(res, 400, "neither 'from' or 'files' was specified");
    if (from !== null && !parseName(from)) return sendError(res, 400, 'invalid model name');
    if (from === null) {
      const kind = await this.detectFilesType(files);
      if (kind === null) return sendError(res, 400, 'unknown type');
      if (kind === 'safetensors') return sendError(res, 400, 'unknown type');
    }

    const out = new CreateStream(res, stream);
    const fault = this.faults.createErrorAfter;
    if (fault) {
      delete this.faults.createErrorAfter;
      out.failAfter = fault;
    }
    try {
      await this.runCreate(out, name, body, from, files);
    } catch (err) {
      if (err instanceof StreamStop) return;
      if (err instanceof CreateFailure) return out.error(err.status, err.message);
      return out.error(500, err instanceof Error ? err.message : String(err));
    }
  }

  private async detectFilesType(files: Record<string, string>): Promise<'gguf' | 'safetensors' | null> {
    const keys = Object.keys(files);
    if (keys.some((k) => k.endsWith('.safetensors'))) return 'safetensors';
    if (keys.some((k) => k.endsWith('.gguf'))) return 'gguf';
    for (const k of keys) {
      const digest = files[k]!;
      if (!DIGEST_RE.test(digest)) continue;
      try {
        const head = await readFile(this.blobPathFor(digest)).then((b) => b.subarray(0, 4));
        if (head.length === 4 && (head.readUInt32LE(0) === GGUF_MAGIC_LE || head.readUInt32LE(0) === GGUF_MAGIC_BE)) return 'gguf';
      } catch {
        // unreadable: keep looking
      }
    }
    return null;
  }

  private async runCreate(out: CreateStream, name: Name, body: Record<string, unknown>, from: string | null, files: Record<string, string>): Promise<void> {
    const layers: Layer[] = [];
    const statuses: string[] = [];
    let config: Record<string, unknown> = { model_format: 'gguf', model_family: '', model_families: null, model_type: '', file_type: '', architecture: 'amd64', os: 'linux' };
    let detected: { name: string; template: string; stop: string[] | null } | null = null;

    if (from !== null) {
      const src = parseName(from);
      const path = src ? await this.existingManifestPath(src) : null;
      if (!path) {
        out.line({ status: 'pulling manifest' });
        throw new CreateFailure(500, 'pull model manifest: file does not exist');
      }
      const m = JSON.parse(await readFile(path, 'utf8')) as Manifest;
      config = JSON.parse(await readFile(this.blobPathFor(m.config.digest), 'utf8')) as Record<string, unknown>;
      for (const l of m.layers) {
        layers.push(l);
        statuses.push(`using existing layer ${l.digest}`);
      }
    } else {
      const modelLayers: Array<{ key: string; digest: string; info: DecodedGguf; mediaType: string }> = [];
      for (const key of Object.keys(files).sort()) {
        out.line({ status: 'parsing GGUF' });
        const digest = files[key]!;
        if (!DIGEST_RE.test(digest)) throw new CreateFailure(500, 'invalid digest format');
        const path = this.blobPathFor(digest);
        let data: Buffer;
        try {
          data = await readFile(path);
        } catch {
          throw new CreateFailure(500, `open ${path}: no such file or directory`);
        }
        const magic = data.length >= 4 ? data.readUInt32LE(0) : 0;
        if (magic !== GGUF_MAGIC_LE && magic !== GGUF_MAGIC_BE) throw new CreateFailure(400, 'supplied file was not in GGUF format');
        let info: DecodedGguf;
        try {
          info = decodeGguf(data, this.version);
        } catch (err) {
          throw new CreateFailure(500, (err as Error).message);
        }
        const gtype = info.kv.get('general.type');
        const mediaType = gtype === 'adapter' ? MEDIA.adapter : gtype === 'projector' || gtype === 'mmproj' ? MEDIA.projector : MEDIA.model;
        modelLayers.push({ key, digest, info, mediaType });
      }
      const main = modelLayers.find((l) => l.mediaType === MEDIA.model) ?? modelLayers[0]!;
      const arch = typeof main.info.kv.get('general.architecture') === 'string' ? (main.info.kv.get('general.architecture') as string) : 'unknown';
      const fileType = main.info.kv.get('general.file_type');
      config = {
        model_format: 'gguf',
        model_family: arch,
        model_families: [arch],
        model_type: humanNumber(main.info.parameterCount),
        file_type: typeof fileType === 'number' && main.info.kvTypes.get('general.file_type') === 4 && fileType > 0 ? FILE_TYPES[fileType] ?? 'unknown' : 'unknown',
        architecture: 'amd64',
        os: 'linux',
      };
      const ctx = main.info.kv.get(`${arch}.context_length`);
      const emb = main.info.kv.get(`${arch}.embedding_length`);
      if (typeof ctx === 'number') config.context_length = ctx;
      if (typeof emb === 'number') config.embedding_length = emb;

      if (Object.keys((body.adapters ?? {}) as object).length > 1) throw new CreateFailure(400, 'only one adapter is currently supported');
      const infoError = checkInfo(body.info);
      if (infoError) throw new CreateFailure(400, infoError);

      // §3.5: `quantize` (upper-cased; Q4_K is Q4_K_M), only from F16/BF16/F32 sources.
      const quantizeRaw = (body.quantize ?? body.quantization ?? '') as string;
      let target: { name: string; id: number } | null = null;
      if (quantizeRaw !== '') {
        const upper = quantizeRaw.toUpperCase();
        const name = upper === 'Q4_K' ? 'Q4_K_M' : upper;
        const id = QUANTIZE_TARGETS[name];
        if (id === undefined) throw new CreateFailure(500, `unsupported quantization type ${upper} - supported types are F32, F16, Q4_K_S, Q4_K_M, Q8_0`);
        target = { name, id };
      }

      for (const ml of modelLayers) {
        const size = (await stat(this.blobPathFor(ml.digest))).size;
        const embedded = ml.info.tensorNames.some((t) => /^(a|mm|mtp|s|v)\./.test(t));
        const sourceType = fileTypeName(ml.info);
        if (target && ml.mediaType === MEDIA.model && sourceType !== target.name) {
          if (!['F16', 'BF16', 'F32'].includes(sourceType)) throw new CreateFailure(500, 'quantization is only supported for F16, BF16 and F32 models');
          const steps = 4;
          for (let i = 1; i <= steps; i++) {
            out.line({ status: `quantizing ${sourceType} model to ${target.name}`, digest: '0000000000000000000', total: size, completed: Math.round((size * i) / steps) });
          }
          out.line({ status: 'verifying conversion' });
          // The stand-in's "quantization": the same bytes with general.file_type patched.
          const bytes = Buffer.from(await readFile(this.blobPathFor(ml.digest)));
          const at = ml.info.kvOffsets.get('general.file_type')!;
          if (ml.info.littleEndian) bytes.writeUInt32LE(target.id, at);
          else bytes.writeUInt32BE(target.id, at);
          const blob = await this.writeBlob(bytes);
          layers.push({ mediaType: ml.mediaType, digest: blob.digest, size: blob.size, from: ml.key });
          statuses.push(`${blob.existed ? 'using existing layer' : 'creating new layer'} ${blob.digest}`);
          if (ml === main) config.file_type = target.name;
        } else if (this.profile === 'v0.33' && ml.mediaType === MEDIA.model && !embedded) {
          // v0.30+: the model GGUF goes through `llama-quantize --allow-requantize … COPY`.
          const steps = 4;
          for (let i = 1; i <= steps; i++) {
            out.line({ status: 'validating GGUF model', digest: '0000000000000000000', total: size, completed: Math.round((size * i) / steps) });
          }
          const a = ml.info.kv.get('general.architecture');
          if (typeof a !== 'string' || !LLAMA_CPP_ARCHITECTURES.has(a)) {
            throw new CreateFailure(500, 'failed to validate GGUF with llama-quantize without compatibility patches: llama-quantize failed: exit status 1');
          }
          out.line({ status: 'verifying conversion' });
          // The stand-in's "rewrite": same GGUF plus trailing alignment padding, so a new digest.
          const rewritten = Buffer.concat([await readFile(this.blobPathFor(ml.digest)), Buffer.alloc(32)]);
          const blob = await this.writeBlob(rewritten);
          layers.push({ mediaType: ml.mediaType, digest: blob.digest, size: blob.size, from: ml.key });
          statuses.push(`${blob.existed ? 'using existing layer' : 'creating new layer'} ${blob.digest}`);
        } else {
          layers.push({ mediaType: ml.mediaType, digest: ml.digest, size, from: ml.key });
          statuses.push(`using existing layer ${ml.digest}`);
        }
      }
      // Chat template autodetection (Levenshtein < 100 against Ollama's Jinja templates).
      const chat = main.info.kv.get('tokenizer.chat_template');
      if (this.templates && typeof chat === 'string') detected = this.templates.match(chat);
    }

    let params: Record<string, unknown> | null = null;
    const setLayer = async (mediaType: string, data: Buffer) => {
      const i = layers.findIndex((l) => l.mediaType === mediaType);
      if (i >= 0) layers.splice(i, 1);
      const blob = await this.writeBlob(data);
      layers.push({ mediaType, digest: blob.digest, size: blob.size });
      return blob;
    };
    if (detected) {
      statuses.push(`using autodetected template ${detected.name}`);
      const t = await setLayer(MEDIA.template, Buffer.from(detected.template));
      statuses.push(`${t.existed ? 'using existing layer' : 'creating new layer'} ${t.digest}`);
      if (detected.stop) params = { stop: detected.stop };
    }
    if (typeof body.template === 'string' && body.template !== '') {
      const err = goTemplateError(body.template);
      if (err) throw new CreateFailure(400, `template error: ${err}`);
      await setLayer(MEDIA.template, Buffer.from(body.template));
    }
    if (typeof body.system === 'string' && body.system !== '') await setLayer(MEDIA.system, Buffer.from(body.system));
    if (body.parameters && typeof body.parameters === 'object') {
      const existing = layers.find((l) => l.mediaType === MEDIA.params);
      const base = existing ? (JSON.parse(await readFile(this.blobPathFor(existing.digest), 'utf8')) as Record<string, unknown>) : params ?? {};
      params = { ...base, ...(body.parameters as Record<string, unknown>) };
    }
    if (params) await setLayer(MEDIA.params, Buffer.from(JSON.stringify(params)));
    if (Array.isArray(body.messages) && body.messages.length > 0) await setLayer(MEDIA.messages, Buffer.from(JSON.stringify(body.messages)));
    const licenses = typeof body.license === 'string' ? [body.license] : Array.isArray(body.license) ? (body.license as string[]) : [];
    for (const text of licenses) {
      const blob = await this.writeBlob(Buffer.from(text));
      if (!layers.some((l) => l.digest === blob.digest)) layers.push({ mediaType: MEDIA.license, digest: blob.digest, size: blob.size });
    }
    // Status lines for the layers added after the model, in manifest order.
    for (const l of layers) {
      if (l.mediaType === MEDIA.model || l.mediaType === MEDIA.adapter || l.mediaType === MEDIA.projector) continue;
      const line = `creating new layer ${l.digest}`;
      if (!statuses.some((s) => s.endsWith(l.digest))) statuses.push(line);
    }
    for (const s of statuses) out.line({ status: s });

    const manifest = await this.manifestFor(layers, config);
    out.line({ status: 'writing manifest' });
    const existingPath = await this.existingManifestPath(name);
    const path = existingPath ?? this.manifestPath(name);
    const previous = existingPath ? (JSON.parse(await readFile(existingPath, 'utf8')) as Manifest) : null;
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, `${JSON.stringify(manifest)}\n`);
    if (previous) await this.deleteUnreferenced([previous.config, ...previous.layers].map((l) => l.digest));
    out.line({ status: 'success' });
    out.end();
  }

  private async deleteUnreferenced(digests: string[]): Promise<void> {
    const referenced = await this.referencedBlobs();
    for (const d of digests) if (!referenced.has(d)) await rm(this.blobPathFor(d), { force: true });
  }

  // ---------------------------------------------------------------------------------------------
  // Pull (server/images.go PullModel, server/download.go): "pulling manifest", one "pulling <12 hex>"
  // progress line series per layer (digest, total, completed), "verifying sha256 digest", "writing
  // manifest", "success". A name the registry lacks fails after the first line (HTTP 200 + error line).

  /** Puts a model in place as if it had been pulled: blobs, config and manifest. */
  async installModel(name: string, model: LibraryModel): Promise<Manifest> {
    const n = parseName(name);
    if (!n) throw new Error(`invalid model name ${name}`);
    const { layers, config } = await this.layersFor(model);
    return await this.writeManifest(n, layers, config);
  }

  private async layersFor(model: LibraryModel): Promise<{ layers: Layer[]; config: Record<string, unknown>; data: Map<string, Buffer> }> {
    const gguf = await readFile(model.gguf);
    const info = decodeGguf(gguf, this.version);
    const arch = typeof info.kv.get('general.architecture') === 'string' ? (info.kv.get('general.architecture') as string) : 'unknown';
    const fileType = info.kv.get('general.file_type');
    const config: Record<string, unknown> = {
      model_format: 'gguf', model_family: arch, model_families: [arch], model_type: humanNumber(info.parameterCount),
      file_type: typeof fileType === 'number' ? FILE_TYPES[fileType] ?? 'unknown' : 'unknown', architecture: 'amd64', os: 'linux',
    };
    const data = new Map<string, Buffer>();
    const layers: Layer[] = [];
    const add = (mediaType: string, bytes: Buffer) => {
      const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
      data.set(digest, bytes);
      layers.push({ mediaType, digest, size: bytes.length });
    };
    add(MEDIA.model, gguf);
    if (model.template !== undefined) add(MEDIA.template, Buffer.from(model.template));
    if (model.system !== undefined) add(MEDIA.system, Buffer.from(model.system));
    if (model.parameters !== undefined) add(MEDIA.params, Buffer.from(JSON.stringify(model.parameters)));
    for (const text of model.license ?? []) add(MEDIA.license, Buffer.from(text));
    for (const [digest, bytes] of data) if (!existsSync(this.blobPathFor(digest))) await writeFile(this.blobPathFor(digest), bytes);
    return { layers, config, data };
  }

  /** Stores the config blob and returns the manifest listing it and `layers` (not yet written). */
  private async manifestFor(layers: Layer[], config: Record<string, unknown>): Promise<Manifest> {
    const configBlob = await this.writeBlob(Buffer.from(JSON.stringify(config)));
    return {
      schemaVersion: 2,
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: configBlob.digest, size: configBlob.size },
      layers,
    };
  }

  private async writeManifest(n: Name, layers: Layer[], config: Record<string, unknown>): Promise<Manifest> {
    const manifest = await this.manifestFor(layers, config);
    const path = (await this.existingManifestPath(n)) ?? this.manifestPath(n);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, `${JSON.stringify(manifest)}\n`);
    return manifest;
  }

  private async pull(res: ServerResponse, raw: unknown): Promise<void> {
    const body = (raw ?? {}) as Record<string, unknown>;
    const sent = (body.model ?? body.name ?? '') as string;
    const n = parseName(sent);
    if (!n) return sendError(res, 400, 'invalid model name');
    const out = new CreateStream(res, body.stream !== false);
    try {
      out.line({ status: 'pulling manifest' });
      const entry = [...this.library.entries()].find(([k]) => { const p = parseName(k); return p !== null && displayShortest(p).toLowerCase() === displayShortest(n).toLowerCase(); });
      if (!entry) throw new CreateFailure(500, 'pull model manifest: file does not exist');
      const model = entry[1];
      // The registry's layers, "downloaded" in a few steps each (existing blobs are cache hits).
      const dropAfter = this.faults.pullDropAfterBytes;
      delete this.faults.pullDropAfterBytes;
      const { layers, config } = await this.layersFor(model);
      for (const layer of layers) {
        const steps = layer.mediaType === MEDIA.model ? 4 : 1;
        for (let i = 1; i <= steps; i++) {
          const completed = Math.round((layer.size * i) / steps);
          if (layer.mediaType === MEDIA.model && dropAfter !== undefined && completed > dropAfter) {
            res.destroy();
            throw new StreamStop();
          }
          out.line({ status: `pulling ${layer.digest.slice(7, 19)}`, digest: layer.digest, total: layer.size, completed });
        }
      }
      out.line({ status: 'verifying sha256 digest' });
      out.line({ status: 'writing manifest' });
      await this.writeManifest(n, layers, config);
      out.line({ status: 'success' });
      out.end();
    } catch (err) {
      if (err instanceof StreamStop) return;
      if (err instanceof CreateFailure) return out.error(err.status, err.message);
      throw err;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // §6 Management and inference endpoints

  private async tags(res: ServerResponse): Promise<void> {
    const all = await this.allManifests();
    const models = [];
    for (const m of all.sort((a, b) => b.mtime.getTime() - a.mtime.getTime())) {
      models.push(await this.listEntry(m.name, m.manifest, m.raw, m.mtime));
    }
    sendJson(res, 200, { models });
  }

  private async listEntry(name: Name, m: Manifest, raw: Buffer, mtime: Date): Promise<Record<string, unknown>> {
    const config = JSON.parse(await readFile(this.blobPathFor(m.config.digest), 'utf8')) as Record<string, unknown>;
    const display = displayShortest(name);
    const size = m.layers.reduce((s, l) => s + l.size, 0) + m.config.size;
    const modelLayer = m.layers.find((l) => l.mediaType === MEDIA.model);
    const details: Record<string, unknown> = {
      parent_model: modelLayer?.from ?? '',
      format: config.model_format ?? '',
      family: config.model_family ?? '',
      families: config.model_families ?? null,
      parameter_size: config.model_type ?? '',
      quantization_level: config.file_type ?? '',
    };
    if (typeof config.context_length === 'number') details.context_length = config.context_length;
    if (typeof config.embedding_length === 'number') details.embedding_length = config.embedding_length;
    return {
      name: display,
      model: display,
      modified_at: mtime.toISOString(),
      size,
      digest: createHash('sha256').update(raw).digest('hex'),
      details,
      capabilities: ['completion'],
    };
  }

  private async lookup(n: Name): Promise<{ path: string; manifest: Manifest; raw: Buffer; mtime: Date; config: Record<string, unknown> } | null> {
    const path = await this.existingManifestPath(n);
    if (!path) return null;
    const raw = await readFile(path);
    const manifest = JSON.parse(raw.toString('utf8')) as Manifest;
    const config = JSON.parse(await readFile(this.blobPathFor(manifest.config.digest), 'utf8')) as Record<string, unknown>;
    return { path, manifest, raw, mtime: (await stat(path)).mtime, config };
  }

  private async show(res: ServerResponse, raw: unknown): Promise<void> {
    const body = (raw ?? {}) as Record<string, unknown>;
    const sent = (body.model ?? body.name ?? '') as string;
    if (sent === '') return sendError(res, 400, 'model is required');
    const n = parseName(sent);
    if (!n) return sendError(res, 400, 'invalid model name');
    const found = await this.lookup(n);
    if (!found) return sendError(res, 404, `model '${displayShortest(n)}' not found`);
    const { manifest, config } = found;
    const layerText = async (mediaType: string) => {
      const l = manifest.layers.find((x) => x.mediaType === mediaType);
      return l ? await readFile(this.blobPathFor(l.digest), 'utf8') : null;
    };
    const template = (await layerText(MEDIA.template)) ?? '{{ .Prompt }}';
    const licenses: string[] = [];
    for (const l of manifest.layers) if (l.mediaType === MEDIA.license) licenses.push(await readFile(this.blobPathFor(l.digest), 'utf8'));
    const system = (await layerText(MEDIA.system)) ?? '';
    const paramsText = await layerText(MEDIA.params);
    const params = paramsText ? (JSON.parse(paramsText) as Record<string, unknown>) : {};
    const paramLines: string[] = [];
    for (const [k, v] of Object.entries(params)) {
      for (const item of Array.isArray(v) ? v : [v]) paramLines.push(`${k.padEnd(30)} ${JSON.stringify(item)}`);
    }
    const modelLayer = manifest.layers.find((l) => l.mediaType === MEDIA.model);
    const modelfile = [
      '# Modelfile generated by "ollama show"',
      `# To build a new Modelfile based on this, replace FROM with:`,
      `# FROM ${displayShortest(n)}`,
      '',
      `FROM ${modelLayer ? this.blobPathFor(modelLayer.digest) : ''}`,
      `TEMPLATE """${template}"""`,
      ...(system ? [`SYSTEM """${system}"""`] : []),
      ...Object.entries(params).flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => `PARAMETER ${k} ${String(x)}`)),
      '',
    ].join('\n');
    const modelInfo: Record<string, unknown> = {};
    const tensors: Array<{ name: string; type: string; shape: number[] }> = [];
    if (modelLayer) {
      const info = decodeGguf(await readFile(this.blobPathFor(modelLayer.digest)), this.version);
      for (const [k, v] of info.kv) {
        if (k === 'general.name' || k === 'tokenizer.chat_template') continue;
        modelInfo[k] = Array.isArray(v) && v.length > 64 && body.verbose !== true ? null : v;
      }
      modelInfo['general.parameter_count'] = info.parameterCount;
      for (const t of info.tensors) tensors.push({ name: t.name, type: GGML_TYPE_NAMES[t.kind] ?? String(t.kind), shape: t.shape });
    }
    sendJson(res, 200, {
      license: licenses.join('\n'),
      system,
      modelfile,
      parameters: paramLines.join('\n'),
      template,
      details: {
        parent_model: modelLayer?.from ?? '',
        format: config.model_format ?? '',
        family: config.model_family ?? '',
        families: config.model_families ?? null,
        parameter_size: config.model_type ?? '',
        quantization_level: config.file_type ?? '',
      },
      model_info: modelInfo,
      tensors,
      capabilities: ['completion'],
      modified_at: found.mtime.toISOString(),
    });
  }

  private async delete(res: ServerResponse, raw: unknown): Promise<void> {
    const body = (raw ?? {}) as Record<string, unknown>;
    const sent = (body.model ?? body.name ?? '') as string;
    if (sent === '') return sendError(res, 400, 'model is required');
    const n = parseName(sent);
    if (!n) return sendError(res, 400, `name "${sent}" is invalid`);
    const found = await this.lookup(n);
    if (!found) return sendError(res, 404, `model '${sent}' not found`);
    await rm(found.path);
    // Prune empty manifest directories up to the root.
    let dir = dirname(found.path);
    const root = join(this.modelsDir, 'manifests');
    while (dir !== root && dir.startsWith(root)) {
      try {
        await rmdir(dir);
      } catch {
        break;
      }
      dir = dirname(dir);
    }
    await this.deleteUnreferenced([found.manifest.config, ...found.manifest.layers].map((l) => l.digest));
    for (const [k, v] of this.loaded) if (v.digest === createHash('sha256').update(found.raw).digest('hex')) this.loaded.delete(k);
    res.writeHead(200, { 'Content-Length': '0' });
    res.end();
  }

  private async copy(res: ServerResponse, raw: unknown): Promise<void> {
    const body = (raw ?? {}) as Record<string, unknown>;
    const source = typeof body.source === 'string' ? body.source : '';
    const destination = typeof body.destination === 'string' ? body.destination : '';
    const dst = parseName(destination);
    if (!dst) return sendError(res, 400, `destination "${destination}" is invalid`);
    const src = parseName(source);
    if (!src) return sendError(res, 400, `source "${source}" is invalid`);
    const found = await this.lookup(src);
    if (!found) return sendError(res, 404, `model "${source}" not found`);
    const target = (await this.existingManifestPath(dst)) ?? this.manifestPath(dst);
    if (target !== found.path) {
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, found.raw);
    }
    res.writeHead(200, { 'Content-Length': '0' });
    res.end();
  }

  private ps(res: ServerResponse): void {
    const models = [...this.loaded.values()]
      .sort((a, b) => b.expiresAt.getTime() - a.expiresAt.getTime())
      .map((m) => ({
        name: m.name,
        model: m.model,
        size: m.size,
        digest: m.digest,
        details: m.details,
        expires_at: m.expiresAt.toISOString(),
        size_vram: Math.round(m.size * this.vramFraction),
        context_length: m.contextLength,
      }));
    sendJson(res, 200, { models });
  }

  private async generate(res: ServerResponse, raw: unknown, kind: 'generate' | 'chat'): Promise<void> {
    const body = (raw ?? {}) as Record<string, unknown>;
    const sent = typeof body.model === 'string' ? body.model : '';
    if (sent === '') return sendError(res, 400, 'model is required');
    const n = parseName(sent);
    if (!n) return sendError(res, 400, 'invalid model name');
    const found = await this.lookup(n);
    if (!found) return sendError(res, 404, `model '${sent}' not found`);
    const modelLayer = found.manifest.layers.find((l) => l.mediaType === MEDIA.model);
    if (!modelLayer || !existsSync(this.blobPathFor(modelLayer.digest))) return sendError(res, 404, `model "${sent}" not found, try pulling it first`);
    if (body.top_logprobs !== undefined && (typeof body.top_logprobs !== 'number' || body.top_logprobs < 0 || body.top_logprobs > 20)) {
      return sendError(res, 400, 'top_logprobs must be between 0 and 20');
    }
    if (kind === 'generate' && body.raw === true && (body.template || body.system || body.context)) {
      return sendError(res, 400, 'raw mode does not support template, system, or context');
    }
    const stream = body.stream !== false;
    const key = found.path;
    const wasLoaded = this.loaded.has(key);
    const params = await (async () => {
      const l = found.manifest.layers.find((x) => x.mediaType === MEDIA.params);
      return l ? (JSON.parse(await readFile(this.blobPathFor(l.digest), 'utf8')) as Record<string, unknown>) : {};
    })();
    const options = (body.options ?? {}) as Record<string, unknown>;
    const numCtx = Number(options.num_ctx ?? params.num_ctx ?? 4096);
    const display = displayShortest(n);
    const keepAlive = body.keep_alive;
    const created = () => new Date().toISOString();
    const empty = kind === 'generate' ? (body.prompt ?? '') === '' : !Array.isArray(body.messages) || body.messages.length === 0;
    if (keepAlive === 0 && empty) {
      this.loaded.delete(key);
      return sendJson(res, 200, kind === 'generate'
        ? { model: sent, created_at: created(), response: '', done: true, done_reason: 'unload' }
        : { model: sent, created_at: created(), message: { role: 'assistant', content: '' }, done: true, done_reason: 'unload' });
    }
    this.loaded.set(key, {
      name: display,
      model: display,
      // Weights plus a KV cache that grows with the context: enough to tell sizes apart in tests.
      size: modelLayer.size + numCtx * 1024,
      digest: createHash('sha256').update(found.raw).digest('hex'),
      details: { parent_model: '', format: 'gguf', family: found.config.model_family, families: found.config.model_families, parameter_size: found.config.model_type, quantization_level: found.config.file_type },
      expiresAt: new Date(Date.now() + 5 * 60_000),
      contextLength: numCtx,
    });
    if (empty) {
      return sendJson(res, 200, kind === 'generate'
        ? { model: sent, created_at: created(), response: '', done: true, done_reason: 'load' }
        : { model: sent, created_at: created(), message: { role: 'assistant', content: '' }, done: true, done_reason: 'load' });
    }
    const limit = Number(options.num_predict ?? 128);
    const words = ['Four', '.', ' The', ' answer', ' is', ' four', '.'];
    const pieces = words.slice(0, Math.max(1, Math.min(limit, words.length)));
    const doneReason = limit < words.length ? 'length' : 'stop';
    const metrics = {
      total_duration: 250_000_000,
      load_duration: wasLoaded ? 1_000_000 : 120_000_000,
      prompt_eval_count: 12,
      prompt_eval_duration: 20_000_000,
      eval_count: pieces.length,
      eval_duration: pieces.length * 12_500_000,
    };
    const chunk = (text: string) => (kind === 'generate'
      ? { model: sent, created_at: created(), response: text, done: false }
      : { model: sent, created_at: created(), message: { role: 'assistant', content: text }, done: false });
    const final = kind === 'generate'
      ? { model: sent, created_at: created(), response: '', done: true, done_reason: doneReason, ...(body.raw === true ? {} : { context: [1, 2, 3] }), ...metrics }
      : { model: sent, created_at: created(), message: { role: 'assistant', content: '' }, done: true, done_reason: doneReason, ...metrics };
    if (!stream) {
      const text = pieces.join('');
      return sendJson(res, 200, kind === 'generate' ? { ...final, response: text } : { ...final, message: { role: 'assistant', content: text } });
    }
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson', 'Transfer-Encoding': 'chunked' });
    for (const p of pieces) res.write(`${JSON.stringify(chunk(p))}\n`);
    res.end(`${JSON.stringify(final)}\n`);
  }
}

export async function startFakeOllama(opts: FakeOllamaOptions = {}): Promise<FakeOllama> {
  return FakeOllama.start(opts);
}

// ------------------------------------------------------------------------------------------------
// Create streaming: NDJSON lines; an error before the first line keeps its status, after it is a
// final {"error"} line with HTTP 200; stream:false answers with the last object or the error.

class StreamStop extends Error {}
class CreateFailure extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

class CreateStream {
  private started = false;
  private last: Record<string, unknown> | null = null;
  failAfter: { afterStatus: string; message: string } | null = null;

  constructor(private readonly res: ServerResponse, private readonly stream: boolean) {}

  line(obj: Record<string, unknown>): void {
    if (this.res.destroyed) throw new StreamStop();
    this.last = obj;
    if (this.stream) {
      if (!this.started) {
        this.res.writeHead(200, { 'Content-Type': 'application/x-ndjson', 'Transfer-Encoding': 'chunked' });
        this.started = true;
      }
      this.res.write(`${JSON.stringify(obj)}\n`);
    }
    const f = this.failAfter;
    if (f && typeof obj.status === 'string' && obj.status.startsWith(f.afterStatus)) {
      this.failAfter = null;
      this.error(500, f.message);
      throw new StreamStop();
    }
  }

  error(status: number, message: string): void {
    if (this.stream && this.started) {
      this.res.end(`${JSON.stringify({ error: message })}\n`);
      return;
    }
    sendError(this.res, status, message);
  }

  end(): void {
    if (this.stream) this.res.end();
    else sendJson(this.res, 200, this.last ?? {});
  }
}

// ------------------------------------------------------------------------------------------------
// HTTP helpers

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain', 'Content-Length': String(Buffer.byteLength(text)) });
  res.end(text);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': String(Buffer.byteLength(text)) });
  res.end(text);
}

function sendError(res: ServerResponse, status: number, message: string): void {
  sendJson(res, status, { error: message });
}

function methodNotAllowed(res: ServerResponse): void {
  sendText(res, 405, '405 method not allowed');
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function parseJsonBody(raw: Buffer): { ok: true; value: unknown } | { ok: false; error: string } {
  if (raw.length === 0) return { ok: false, error: 'missing request body' };
  try {
    return { ok: true, value: JSON.parse(raw.toString('utf8')) };
  } catch {
    const text = raw.toString('utf8').trim();
    if (text === '') return { ok: false, error: 'missing request body' };
    // Go's encoding/json words for the two common cases.
    const bad = text.search(/[^\s]/);
    if (text[bad] !== '{' && text[bad] !== '[' && text[bad] !== '"') return { ok: false, error: `invalid character '${text[bad]}' looking for beginning of value` };
    return { ok: false, error: 'unexpected EOF' };
  }
}

type FieldKind = 'string' | 'bool' | 'map' | 'object' | 'array' | 'license';
const CREATE_FIELDS: Record<string, FieldKind> = {
  model: 'string', name: 'string', stream: 'bool', quantize: 'string', quantization: 'string', from: 'string',
  files: 'map', adapters: 'map', draft_files: 'map', draft_quantize: 'string', template: 'string', system: 'string',
  license: 'license', parameters: 'object', messages: 'array', renderer: 'string', parser: 'string', requires: 'string',
  remote_host: 'string', info: 'object',
};

const GO_TYPES: Record<FieldKind, string> = { string: 'string', bool: 'bool', map: 'map[string]string', object: 'map[string]interface {}', array: '[]api.Message', license: 'interface {}' };

function jsonKind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'boolean') return 'bool';
  return typeof v;
}

/** Go's unmarshal error for a field of the wrong type, or null. */
function checkShape(raw: unknown, fields: Record<string, FieldKind>, struct: string): string | null {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return `json: cannot unmarshal ${jsonKind(raw)} into Go value of type api.${struct}`;
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    const kind = fields[key];
    if (!kind || value === null) continue;
    const k = jsonKind(value);
    const ok =
      (kind === 'string' && k === 'string') ||
      (kind === 'bool' && k === 'bool') ||
      (kind === 'object' && k === 'object') ||
      (kind === 'array' && k === 'array') ||
      kind === 'license' ||
      (kind === 'map' && k === 'object' && Object.values(value as object).every((x) => typeof x === 'string'));
    if (!ok) {
      const inner = kind === 'map' && k === 'object' ? 'string' : GO_TYPES[kind];
      const got = kind === 'map' && k === 'object' ? jsonKind(Object.values(value as object).find((x) => typeof x !== 'string')) : k;
      const goGot = got === 'object' ? 'object' : got === 'bool' ? 'bool' : got === 'number' ? 'number' : got;
      return `json: cannot unmarshal ${goGot} into Go struct field ${struct}.${key} of type ${inner}`;
    }
  }
  return null;
}

/** io/fs.ValidPath: no leading/trailing '/', no empty, '.' or '..' elements. */
function validPath(p: string): boolean {
  if (p === '.') return true;
  if (p === '') return false;
  return p.split('/').every((e) => e !== '' && e !== '.' && e !== '..');
}

// ------------------------------------------------------------------------------------------------
// §5 Model names

interface Name {
  host: string;
  namespace: string;
  model: string;
  tag: string;
}

const NAME_PARTS: Array<[keyof Name, RegExp, number]> = [
  ['host', /^[A-Za-z0-9_][A-Za-z0-9_.:-]*$/, 350],
  ['namespace', /^[A-Za-z0-9_][A-Za-z0-9_-]*$/, 80],
  ['model', /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, 80],
  ['tag', /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, 80],
];

function parseName(raw: string): Name | null {
  let s = raw.replace(/^[A-Za-z][A-Za-z0-9+.-]*:\/\//, '');
  let tag = 'latest';
  const c = s.lastIndexOf(':');
  if (c > s.lastIndexOf('/')) {
    tag = s.slice(c + 1);
    s = s.slice(0, c);
    if (tag === '') return null;
  }
  const parts = s.split('/');
  let host = 'registry.ollama.ai';
  let namespace = 'library';
  const model = parts.pop()!;
  if (parts.length > 0) namespace = parts.pop()!;
  if (parts.length > 0) host = parts.join('/');
  const n: Name = { host, namespace, model, tag };
  for (const [key, re, max] of NAME_PARTS) {
    const v = n[key];
    if (v.length < 1 || v.length > max || !re.test(v)) return null;
  }
  return n;
}

function displayShortest(n: Name): string {
  if (n.host !== 'registry.ollama.ai') return `${n.host}/${n.namespace}/${n.model}:${n.tag}`;
  if (n.namespace !== 'library') return `${n.namespace}/${n.model}:${n.tag}`;
  return `${n.model}:${n.tag}`;
}

// ------------------------------------------------------------------------------------------------
// §2 Layout data

interface Layer {
  mediaType: string;
  digest: string;
  size: number;
  from?: string;
}
export interface Manifest {
  schemaVersion: number;
  mediaType: string;
  config: Layer;
  layers: Layer[];
}

const DIGEST_RE = /^sha256[:-][0-9a-fA-F]{64}$/;
const GGUF_MAGIC_LE = 0x46554747;
const GGUF_MAGIC_BE = 0x47475546;

const MEDIA = {
  model: 'application/vnd.ollama.image.model',
  projector: 'application/vnd.ollama.image.projector',
  adapter: 'application/vnd.ollama.image.adapter',
  template: 'application/vnd.ollama.image.template',
  system: 'application/vnd.ollama.image.system',
  params: 'application/vnd.ollama.image.params',
  messages: 'application/vnd.ollama.image.messages',
  license: 'application/vnd.ollama.image.license',
} as const;

/** `quantize` values create accepts, with the general.file_type id they produce. */
const QUANTIZE_TARGETS: Record<string, number> = { F32: 0, F16: 1, BF16: 32, Q8_0: 7, Q4_K_S: 14, Q4_K_M: 15 };

/** Ollama's file type of a GGUF: general.file_type as a non-zero uint32, else "unknown". */
function fileTypeName(info: DecodedGguf): string {
  const ft = info.kv.get('general.file_type');
  if (info.kvTypes.get('general.file_type') !== 4 || typeof ft !== 'number' || ft === 0) return 'unknown';
  return FILE_TYPES[ft] ?? 'unknown';
}

/** Validation of create's `info` overrides (in-stream 400). */
function checkInfo(info: unknown): string | null {
  if (info === undefined || info === null) return null;
  const o = info as Record<string, unknown>;
  for (const key of ['context_length', 'embedding_length']) {
    if (key in o && !(typeof o[key] === 'number' && Number.isInteger(o[key]) && (o[key] as number) >= 0)) return `info field "${key}" must be a non-negative integer`;
  }
  for (const key of ['model_family', 'base_name', 'quantization_level', 'parameter_size']) {
    if (key in o && typeof o[key] !== 'string') return `info field "${key}" must be a string`;
  }
  return null;
}

const ALLOWED_ORIGIN = /^(https?:\/\/(localhost|127\.0\.0\.1|0\.0\.0\.0)(:\d+)?|app:\/\/.*|file:\/\/.*|tauri:\/\/.*|vscode-webview:\/\/.*|vscode-file:\/\/.*|chrome-extension:\/\/.*|moz-extension:\/\/.*|safari-web-extension:\/\/.*)$/;

function allowedOrigin(origin: string | undefined): boolean {
  return origin === undefined || ALLOWED_ORIGIN.test(origin);
}

function allowedHost(hostHeader: string | undefined): boolean {
  if (!hostHeader) return true;
  const host = hostHeader.replace(/:\d+$/, '').replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host === hostname().toLowerCase() || /\.(localhost|local|internal)$/.test(host)) return true;
  if (/^(127|10)\.\d+\.\d+\.\d+$/.test(host) || /^192\.168\./.test(host) || /^172\.(1[6-9]|2\d|3[01])\./.test(host) || /^169\.254\./.test(host)) return true;
  return host === '::1' || /^f[cd][0-9a-f]{2}:/.test(host) || /^fe80:/.test(host) || host === '0.0.0.0';
}

/** general.file_type ids → Ollama's quantization_level names. */
const FILE_TYPES: Record<number, string> = {
  0: 'F32', 1: 'F16', 2: 'Q4_0', 3: 'Q4_1', 7: 'Q8_0', 8: 'Q5_0', 9: 'Q5_1', 10: 'Q2_K', 11: 'Q3_K_S', 12: 'Q3_K_M',
  13: 'Q3_K_L', 14: 'Q4_K_S', 15: 'Q4_K_M', 16: 'Q5_K_S', 17: 'Q5_K_M', 18: 'Q6_K', 19: 'IQ2_XXS', 20: 'IQ2_XS',
  21: 'Q2_K_S', 22: 'IQ3_XS', 23: 'IQ3_XXS', 24: 'IQ1_S', 25: 'IQ4_NL', 26: 'IQ3_S', 27: 'IQ3_M', 28: 'IQ2_S',
  29: 'IQ2_M', 30: 'IQ4_XS', 31: 'IQ1_M', 32: 'BF16', 36: 'TQ1_0', 37: 'TQ2_0', 38: 'MXFP4_MOE', 39: 'NVFP4', 40: 'Q1_0',
};

/** Ollama's format.HumanNumber. */
function humanNumber(n: number): string {
  const fmt = (v: number, unit: string, decimals: number) => (v === Math.floor(v) ? `${v.toFixed(0)}${unit}` : `${v.toFixed(decimals)}${unit}`);
  if (n >= 1e12) return fmt(n / 1e12, 'T', 1);
  if (n >= 1e9) return fmt(n / 1e9, 'B', 1);
  if (n >= 1e6) return fmt(n / 1e6, 'M', 2);
  if (n >= 1e3) return `${(n / 1e3).toFixed(0)}K`;
  return String(n);
}

/** Architectures the bundled llama.cpp knows (LLM_ARCH_NAMES of the reference build). */
const LLAMA_CPP_ARCHITECTURES = new Set(
  ('clip llama llama4 deci falcon grok gpt2 gptj gptneox mpt baichuan starcoder refact bert modern-bert nomic-bert ' +
    'nomic-bert-moe neo-bert jina-bert-v2 jina-bert-v3 eurobert bloom stablelm qwen qwen2 qwen2moe qwen2vl qwen3 qwen3moe ' +
    'qwen3next qwen3vl qwen3vlmoe qwen35 qwen35moe qwen4exp phi2 phi3 phimoe plamo plamo2 plamo3 codeshell orion internlm2 ' +
    'minicpm minicpm3 gemma gemma2 gemma3 gemma3n gemma4 gemma4-assistant gemma-embedding starcoder2 mamba mamba2 maple ' +
    'jamba falcon-h1 xverse command-r cohere2 cohere2moe dbrx olmo olmo2 olmoe muse-glimmer openelm arctic deepseek ' +
    'deepseek2 deepseek2-ocr deepseek32 deepseek4 chatglm glm4 glm4moe glm-dsa bitnet t5 t5encoder jais jais2 nemotron ' +
    'nemotron_h nemotron_h_moe exaone exaone4 exaone-moe rwkv6 rwkv6qwen2 rwkv7 arwkv7 granite granitemoe granitehybrid ' +
    'graniteswitch granite_swa chameleon wavtokenizer-dec plm bailingmoe bailingmoe2 bailingmoe3 dots1 dots3note arcee ' +
    'afmoe laguna ernie4_5 ernie4_5-moe hunyuan-moe hunyuan-dense hunyuan_vl hy_v3 hy_v4 smollm3 gpt-oss lfm2 lfm2moe ' +
    'dream smallthinker llada llada-moe seed_oss grovemoe apertus minimax-01 hrm_text minimax-m2 minimax-m3 cogvlm rnd1 ' +
    'pangu-embedded mistral3 eagle3 dflash mistral4 paddleocr mimo2 step35 spark2_5 llama-embed maincoder kimi-linear ' +
    'kimi-k3 talkie mellum nanbeige qwen3tts pockettts').split(' '),
);

// ------------------------------------------------------------------------------------------------
// §8 GGUF header decoding, with Ollama's rules and error texts

/** [block size, type size]; type size 0 = a kind Ollama cannot size (ids 4, 5, 31–38, ≥ 42). */
const GGML_SIZES: Record<number, [number, number]> = {
  0: [1, 4], 1: [1, 2], 2: [32, 18], 3: [32, 20], 6: [32, 22], 7: [32, 24], 8: [32, 34], 9: [32, 36],
  10: [256, 84], 11: [256, 110], 12: [256, 144], 13: [256, 176], 14: [256, 210], 15: [256, 292],
  16: [256, 66], 17: [256, 74], 18: [256, 98], 19: [256, 50], 20: [32, 18], 21: [256, 110], 22: [256, 82],
  23: [256, 136], 24: [1, 1], 25: [1, 2], 26: [1, 4], 27: [1, 8], 28: [1, 8], 29: [256, 56], 30: [1, 2],
  39: [32, 17], 40: [64, 36], 41: [128, 18],
};
/** TQ1_0 and TQ2_0: 0.30.0–0.31.1 accepted them (the "size overflow" check came in 0.31.2). */
const TERNARY_SIZES: Record<number, [number, number]> = { 34: [256, 54], 35: [256, 66] };
function sizesTernary(version: string): boolean {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!m) return false;
  const n = Number(m[1]) * 1e6 + Number(m[2]) * 1e3 + Number(m[3]);
  return n >= 30_000 && n < 31_002;
}
const GGML_TYPE_NAMES: Record<number, string> = {
  0: 'F32', 1: 'F16', 2: 'Q4_0', 3: 'Q4_1', 6: 'Q5_0', 7: 'Q5_1', 8: 'Q8_0', 9: 'Q8_1', 10: 'Q2_K', 11: 'Q3_K',
  12: 'Q4_K', 13: 'Q5_K', 14: 'Q6_K', 15: 'Q8_K', 30: 'BF16',
};

interface DecodedGguf {
  version: number;
  littleEndian: boolean;
  kv: Map<string, unknown>;
  kvTypes: Map<string, number>;
  /** File offset of each scalar KV's value bytes (to patch general.file_type). */
  kvOffsets: Map<string, number>;
  tensors: Array<{ name: string; shape: number[]; kind: number; offset: bigint }>;
  tensorNames: string[];
  parameterCount: number;
}

class GoDecodeError extends Error {}

class GgufCursor {
  pos = 0;
  littleEndian = true;
  constructor(private readonly buf: Buffer) {}
  private take(n: number): Buffer {
    const left = this.buf.length - this.pos;
    if (left <= 0) throw new GoDecodeError('EOF');
    if (left < n) throw new GoDecodeError('unexpected EOF');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  u8() { return this.take(1).readUInt8(0); }
  i8() { return this.take(1).readInt8(0); }
  u16() { const b = this.take(2); return this.littleEndian ? b.readUInt16LE(0) : b.readUInt16BE(0); }
  i16() { const b = this.take(2); return this.littleEndian ? b.readInt16LE(0) : b.readInt16BE(0); }
  u32() { const b = this.take(4); return this.littleEndian ? b.readUInt32LE(0) : b.readUInt32BE(0); }
  i32() { const b = this.take(4); return this.littleEndian ? b.readInt32LE(0) : b.readInt32BE(0); }
  f32() { const b = this.take(4); return this.littleEndian ? b.readFloatLE(0) : b.readFloatBE(0); }
  f64() { const b = this.take(8); return this.littleEndian ? b.readDoubleLE(0) : b.readDoubleBE(0); }
  u64() { const b = this.take(8); return this.littleEndian ? b.readBigUInt64LE(0) : b.readBigUInt64BE(0); }
  i64() { const b = this.take(8); return this.littleEndian ? b.readBigInt64LE(0) : b.readBigInt64BE(0); }
  bytes(n: number): Buffer {
    // io.CopyN short of n bytes reports EOF.
    if (this.buf.length - this.pos < n) throw new GoDecodeError('EOF');
    return this.take(n);
  }
}

const MAX_STRING = 16 * 1024 * 1024;
const MAX_ARRAY = 64 * 1024 * 1024;

function decodeGguf(data: Buffer, serverVersion: string): DecodedGguf {
  const c = new GgufCursor(data);
  const magic = c.u32();
  if (magic === GGUF_MAGIC_BE) c.littleEndian = false;
  else if (magic !== GGUF_MAGIC_LE) throw new GoDecodeError('invalid file magic');
  const version = c.u32();
  const v1 = version === 1;
  const nTensors = v1 ? BigInt(c.u32()) : c.u64();
  const nKv = v1 ? BigInt(c.u32()) : c.u64();

  const readString = (): string => {
    const len = c.u64();
    if (v1 && len === 0n) throw new GoDecodeError('invalid GGUF v1 string length: 0');
    if (len > BigInt(MAX_STRING)) throw new GoDecodeError(`GGUF string length ${len} exceeds maximum ${MAX_STRING}`);
    const b = c.bytes(Number(len));
    return (v1 ? b.subarray(0, b.length - 1) : b).toString('utf8');
  };
  const readScalar = (t: number): unknown => {
    switch (t) {
      case 0: return c.u8();
      case 1: return c.i8();
      case 2: return c.u16();
      case 3: return c.i16();
      case 4: return c.u32();
      case 5: return c.i32();
      case 6: return c.f32();
      case 7: return c.u8() !== 0;
      case 8: return readString();
      case 10: return Number(c.u64());
      case 11: return Number(c.i64());
      case 12: return c.f64();
      default: throw new GoDecodeError(`invalid type: ${t}`);
    }
  };

  const kv = new Map<string, unknown>();
  const kvTypes = new Map<string, number>();
  const kvOffsets = new Map<string, number>();
  for (let i = 0n; i < nKv; i++) {
    const key = readString();
    const t = c.u32();
    kvOffsets.set(key, c.pos);
    let value: unknown;
    if (t === 9) {
      const et = c.u32();
      if (et > 12 || et === 9) throw new GoDecodeError(`invalid array type: ${et}`);
      const n = c.u64();
      if (n > BigInt(MAX_ARRAY)) throw new GoDecodeError(`GGUF array size ${n} exceeds maximum ${MAX_ARRAY}`);
      const items: unknown[] = [];
      for (let j = 0n; j < n; j++) items.push(readScalar(et));
      value = items;
    } else if (t > 12) {
      throw new GoDecodeError(`invalid type: ${t}`);
    } else {
      value = readScalar(t);
    }
    kv.set(key, value);
    kvTypes.set(key, t);
  }

  const tensors: DecodedGguf['tensors'] = [];
  let parameterCount = 0n;
  for (let i = 0n; i < nTensors; i++) {
    const name = readString();
    const dims = c.u32();
    if (dims > 4) throw new GoDecodeError(`tensor "${name}" dimensions ${dims} exceeds maximum 4`);
    const shape: bigint[] = [];
    for (let d = 0; d < dims; d++) shape.push(c.u64());
    const kind = c.u32();
    const offset = c.u64();
    let elements = 1n;
    for (const d of shape) {
      elements *= d;
      if (elements > 0xffffffffffffffffn) throw new GoDecodeError(`tensor "${name}" elements overflow`);
    }
    parameterCount += elements;
    if (parameterCount > 0xffffffffffffffffn) throw new GoDecodeError('parameter count overflow');
    tensors.push({ name, shape: shape.map(Number), kind, offset });
  }

  let alignment = 32;
  const a = kv.get('general.alignment');
  if (kvTypes.get('general.alignment') === 4 && typeof a === 'number') alignment = a;
  if (alignment === 0) throw new GoDecodeError('invalid GGUF alignment: 0');
  const dataStart = BigInt(Math.ceil(c.pos / alignment) * alignment);
  const fileSize = BigInt(data.length);
  for (const t of tensors) {
    const sizes = GGML_SIZES[t.kind] ?? (sizesTernary(serverVersion) ? TERNARY_SIZES[t.kind] : undefined);
    const block = sizes?.[0] ?? 1;
    const typeSize = sizes?.[1] ?? 0;
    const ne0 = BigInt(t.shape[0] ?? 1);
    if (typeSize === 0 || ne0 % BigInt(block) !== 0n) throw new GoDecodeError(`tensor "${t.name}" size overflow`);
    let n = 1n;
    for (const d of t.shape) n *= BigInt(d);
    const size = (n / BigInt(block)) * BigInt(typeSize);
    const end = dataStart + t.offset + size;
    if (end > fileSize) throw new GoDecodeError(`tensor "${t.name}" offset+size (${end}) exceeds file size (${fileSize})`);
  }
  return { version, littleEndian: c.littleEndian, kv, kvTypes, kvOffsets, tensors, tensorNames: tensors.map((t) => t.name), parameterCount: Number(parameterCount) };
}

// ------------------------------------------------------------------------------------------------
// Template autodetection from the shared index (test data) and a Go-template syntax check

interface NamedTemplates {
  match(chatTemplate: string): { name: string; template: string; stop: string[] | null } | null;
}

function loadNamedTemplates(dir: string): NamedTemplates | null {
  let index: Array<{ name: string; template: string }>;
  try {
    index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as Array<{ name: string; template: string }>;
  } catch {
    return null;
  }
  return {
    match(chat: string) {
      let best: { name: string; distance: number } | null = null;
      for (const e of index) {
        // The distance is at least the length difference: skip what cannot beat the threshold.
        if (Math.abs(e.template.length - chat.length) >= 100) continue;
        const d = levenshtein(chat, e.template);
        if (best === null || d < best.distance) best = { name: e.name, distance: d };
      }
      if (!best || best.distance >= 100) return null;
      const template = readFileSync(join(dir, `${best.name}.gotmpl`), 'utf8');
      let stop: string[] | null = null;
      try {
        const params = JSON.parse(readFileSync(join(dir, `${best.name}.json`), 'utf8')) as { stop?: string[] };
        stop = params.stop ?? null;
      } catch {
        stop = null;
      }
      return { name: best.name, template, stop };
    },
  };
}

function levenshtein(a: string, b: string): number {
  let prev = new Array<number>(b.length + 1);
  let cur = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    [prev, cur] = [cur, prev];
  }
  return prev[b.length]!;
}

/** The subset of Go text/template parse errors a stand-in can tell: unclosed actions and blocks. */
function goTemplateError(src: string): string | null {
  let depth = 0;
  let i = 0;
  const lineAt = (pos: number) => src.slice(0, pos).split('\n').length;
  while (true) {
    const open = src.indexOf('{{', i);
    if (open < 0) break;
    const close = src.indexOf('}}', open + 2);
    if (close < 0) return `template: :${lineAt(open)}: unclosed action`;
    const action = src.slice(open + 2, close).replace(/^-\s*/, '').replace(/\s*-$/, '').trim();
    const word = action.split(/\s+/)[0] ?? '';
    if (['if', 'range', 'with', 'block', 'define'].includes(word)) depth++;
    else if (word === 'end') {
      if (depth === 0) return `template: :${lineAt(open)}: unexpected {{end}}`;
      depth--;
    }
    i = close + 2;
  }
  if (depth > 0) return `template: :${lineAt(src.length)}: unexpected EOF`;
  return null;
}

// A small pool of quantization worker threads: jobs go to whichever worker is idle, results come
// back through promises. Worker creation is one replaceable function, because how a worker finds
// its code differs between the compiled CLI (out/cli/quant-worker.js beside the running chunk), a
// run from the TypeScript sources (tests, `npm run bench`), and the Electron build
// (setQuantWorkerFactory).

import { createHash } from 'node:crypto';
import type { Message } from '../../../src-shared/message.ts';
import { formatMessage } from '../../../src-shared/messages/index.ts';
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { QuantJob, QuantJobResult } from './quant-job.ts';
import { packagePath } from '../package-root.ts';

export type QuantWorkerFactory = () => Worker | Promise<Worker>;

interface EsbuildPluginBuild {
  onLoad(options: { filter: RegExp }, callback: (args: { path: string }) => Promise<{ contents: string; loader: string }>): void;
}
interface EsbuildLike {
  build(options: Record<string, unknown>): Promise<{ outputFiles: Array<{ text: string }>; metafile?: { inputs: Record<string, unknown> } }>;
}

/**
 * The bundle is kept between runs in node_modules/.cache (when the project has one), with the size
 * and mtime of every source it was made from; a run whose sources are unchanged skips esbuild. One
 * folder per checkout: several checkouts sharing one node_modules (git worktrees) must not run each
 * other's bundle, whose stamps name the other checkout's unchanged sources.
 */
const CACHE_DIR = fileURLToPath(packagePath(`node_modules/.cache/quantfit/${createHash('sha256').update(fileURLToPath(packagePath('.'))).digest('hex').slice(0, 12)}/`));
const cacheFiles = (dir: string) => ({ code: join(dir, 'quant-worker.cjs'), inputs: join(dir, 'quant-worker.inputs.json') });

type InputStamp = [path: string, size: number, mtimeMs: number];

async function stamp(path: string): Promise<InputStamp> {
  const st = await stat(path);
  return [path, st.size, st.mtimeMs];
}

/** The cached bundle, or null when there is none or any of its sources changed since. Exported for tests. */
export async function cachedBundle(dir = CACHE_DIR): Promise<string | null> {
  const files = cacheFiles(dir);
  try {
    const inputs = JSON.parse(await readFile(files.inputs, 'utf8')) as InputStamp[];
    const now = await Promise.all(inputs.map(([path]) => stamp(path)));
    if (now.some((s, i) => s[1] !== inputs[i]![1] || s[2] !== inputs[i]![2])) return null;
    return await readFile(files.code, 'utf8');
  } catch {
    return null;
  }
}

/** Keeps a bundle with the stamps of its sources (best effort). Exported for tests. */
export async function storeBundle(code: string, inputPaths: readonly string[], dir = CACHE_DIR): Promise<void> {
  const files = cacheFiles(dir);
  try {
    if (!existsSync(join(dir, '..', '..'))) return; // e.g. no node_modules here (an installed copy): do without
    await mkdir(dir, { recursive: true });
    const stamps = await Promise.all(inputPaths.map(stamp));
    const tmp = `.${process.pid}.tmp`;
    // Code first: a reader that sees the new stamps then reads the new code.
    await writeFile(files.code + tmp, code);
    await writeFile(files.inputs + tmp, JSON.stringify(stamps));
    await rename(files.code + tmp, files.code);
    await rename(files.inputs + tmp, files.inputs);
  } catch {
    // Best effort: the next run bundles again.
  }
}

/** A small young generation: workers allocate little on the JS heap, and garbage there is RSS. */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 4 };

let bundledSource: Promise<string | null> | undefined;

/**
 * The worker's code as one plain-JavaScript bundle, made once per process with the esbuild that tsx
 * brings. A worker that loads tsx itself costs ~26 MB and ~0.4 s more, per worker; with many
 * threads that alone would break the memory bound. Each module keeps its own `import.meta.url` (the
 * kernels find their .wasm file through it). Null when esbuild cannot be loaded.
 */
function bundledWorkerSource(): Promise<string | null> {
  bundledSource ??= (async () => {
    const cached = await cachedBundle();
    if (cached !== null) return cached;
    try {
      const req = createRequire(import.meta.url);
      let esbuild: EsbuildLike;
      try {
        esbuild = req('esbuild') as EsbuildLike;
      } catch {
        esbuild = createRequire(req.resolve('tsx/package.json'))('esbuild') as EsbuildLike;
      }
      const keepImportMetaUrl = {
        name: 'keep-import-meta-url',
        setup(build: EsbuildPluginBuild) {
          build.onLoad({ filter: /\.ts$/ }, async (args) => ({
            contents: (await readFile(args.path, 'utf8')).replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href)),
            loader: 'ts',
          }));
        },
      };
      const out = await esbuild.build({
        entryPoints: [fileURLToPath(new URL('./quant-worker.ts', import.meta.url))],
        bundle: true, format: 'cjs', platform: 'node', target: 'node20', write: false, logLevel: 'silent',
        plugins: [keepImportMetaUrl], metafile: true,
      });
      const code = out.outputFiles[0]?.text ?? null;
      if (code !== null && out.metafile) await storeBundle(code, Object.keys(out.metafile.inputs).map((p) => resolve(p)));
      return code;
    } catch {
      return null;
    }
  })();
  return bundledSource;
}

/**
 * Default, in order: a built `quant-worker.js` beside the running module (the compiled CLI and the
 * Electron build emit the worker entry there); the worker bundled now with esbuild (runs from the
 * TypeScript sources); the .mjs shim beside this file (registers tsx, loads the .ts).
 */
let workerFactory: QuantWorkerFactory = async () => {
  const built = new URL('./quant-worker.js', import.meta.url);
  if (built.protocol === 'file:' && existsSync(built)) return new Worker(built, { resourceLimits: WORKER_LIMITS });
  const source = await bundledWorkerSource();
  if (source !== null) return new Worker(source, { eval: true, resourceLimits: WORKER_LIMITS });
  return new Worker(new URL('./quant-worker.mjs', import.meta.url), { resourceLimits: WORKER_LIMITS });
};

/** For builds that bundle the worker elsewhere (the Electron utility process). */
export function setQuantWorkerFactory(factory: QuantWorkerFactory): void {
  workerFactory = factory;
}

interface Pending {
  job: QuantJob;
  resolve: (r: { src: Uint8Array; dst: Uint8Array }) => void;
  reject: (err: Error) => void;
}

export class QuantJobFailed extends Error {
  constructor(readonly error: Message, readonly tensor: string) {
    super(formatMessage(error, 'en'));
    this.name = 'QuantJobFailed';
  }
}

export class WorkerPool {
  readonly size: number;
  private readonly idle: Worker[] = [];
  private readonly busy = new Map<Worker, Pending>();
  private readonly queue: Pending[] = [];
  private deadReason: Error | undefined;
  private readonly workers: Worker[] = [];

  private constructor(size: number) {
    this.size = size;
  }

  /** Starts `size` workers. */
  static async create(size: number): Promise<WorkerPool> {
    const pool = new WorkerPool(size);
    try {
      for (let i = 0; i < size; i++) pool.add(await workerFactory());
    } catch (err) {
      await pool.terminate();
      throw err;
    }
    return pool;
  }

  private add(w: Worker): void {
    // Idle workers must not keep the process alive; busy ones must (see dispatch/onResult).
    w.unref();
    w.on('message', (r: QuantJobResult) => this.onResult(w, r));
    w.on('error', (err) => this.fail(err instanceof Error ? err : new Error(String(err))));
    w.on('exit', (code) => {
      if (!this.deadReason) this.fail(new Error(`quantization worker exited unexpectedly (code ${code})`));
    });
    this.workers.push(w);
    this.idle.push(w);
    this.dispatch();
  }

  /**
   * Runs one job. Its src and dst buffers (distinct ArrayBuffers) are transferred to the worker and
   * come back as the result's views (the caller's own views are unusable meanwhile).
   */
  run(job: QuantJob): Promise<{ src: Uint8Array; dst: Uint8Array }> {
    if (this.deadReason) return Promise.reject(this.deadReason);
    return new Promise((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      this.dispatch();
    });
  }

  /** Stops every worker now; jobs still queued or running reject. */
  async terminate(reason: Error = new Error('worker pool terminated')): Promise<void> {
    this.fail(reason);
    await Promise.all(this.workers.map((w) => w.terminate().catch(() => 0)));
  }

  private dispatch(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const w = this.idle.pop()!;
      const p = this.queue.shift()!;
      this.busy.set(w, p);
      w.ref();
      w.postMessage(p.job, [p.job.src.buffer as ArrayBuffer, p.job.dst.buffer as ArrayBuffer]);
    }
  }

  private onResult(w: Worker, r: QuantJobResult): void {
    const p = this.busy.get(w);
    if (!p) return;
    this.busy.delete(w);
    w.unref();
    this.idle.push(w);
    if (r.ok) p.resolve({ src: r.src, dst: r.dst });
    else p.reject(new QuantJobFailed(r.error, r.tensor));
    this.dispatch();
  }

  get dead(): boolean {
    return this.deadReason !== undefined;
  }

  private fail(err: Error): void {
    if (this.deadReason) return;
    this.deadReason = err;
    for (const p of this.busy.values()) p.reject(err);
    for (const p of this.queue) p.reject(err);
    this.busy.clear();
    this.queue.length = 0;
  }
}

// Starting a worker costs time (loading the kernels and their tables), so one pool is kept between
// runs: idle workers are unref'd and the pool ends itself after a quiet minute.
const IDLE_MS = 60_000;
let shared: { pool: WorkerPool; users: number; timer?: NodeJS.Timeout } | undefined;

/** A pool of `threads` workers: the kept one when it fits and is free, else a new one. */
export async function acquirePool(threads: number): Promise<WorkerPool> {
  if (shared && !shared.pool.dead && shared.pool.size === threads && shared.users === 0) {
    clearTimeout(shared.timer);
    shared.users++;
    return shared.pool;
  }
  const pool = await WorkerPool.create(threads);
  if (!shared || shared.users === 0) {
    if (shared) void shared.pool.terminate();
    clearTimeout(shared?.timer);
    shared = { pool, users: 1 };
  }
  return pool;
}

/** Returns a pool from acquirePool; `terminate` (cancellation, failure) stops its workers now. */
export async function releasePool(pool: WorkerPool, terminate: boolean): Promise<void> {
  const kept = shared?.pool === pool ? shared : undefined;
  if (!kept) {
    await pool.terminate();
    return;
  }
  kept.users--;
  if (terminate || pool.dead) {
    shared = undefined;
    await pool.terminate();
    return;
  }
  kept.timer = setTimeout(() => {
    if (shared === kept && kept.users === 0) {
      shared = undefined;
      void pool.terminate();
    }
  }, IDLE_MS);
  kept.timer.unref();
}

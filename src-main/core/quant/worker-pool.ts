// A small pool of quantization worker threads: jobs go to whichever worker is idle, results come
// back through promises. Worker creation is one replaceable function, because how a worker finds
// its code differs between a tsx run (CLI, tests) and a bundled Electron build
// (setQuantWorkerFactory).

import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { QuantJob, QuantJobResult } from './quant-job.ts';

export type QuantWorkerFactory = () => Worker | Promise<Worker>;

interface EsbuildPluginBuild {
  onLoad(options: { filter: RegExp }, callback: (args: { path: string }) => Promise<{ contents: string; loader: string }>): void;
}
interface EsbuildLike {
  build(options: Record<string, unknown>): Promise<{ outputFiles: Array<{ text: string }> }>;
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
        plugins: [keepImportMetaUrl],
      });
      return out.outputFiles[0]?.text ?? null;
    } catch {
      return null;
    }
  })();
  return bundledSource;
}

/**
 * Default, in order: a built `quant-worker.js` beside the running module (a bundled app emits the
 * worker entry there); the worker bundled now with esbuild (tsx runs: CLI, tests); the .mjs shim
 * beside this file (registers tsx, loads the .ts).
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
  constructor(message: string, readonly tensor: string) {
    super(message);
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
    else p.reject(new QuantJobFailed(r.message, r.tensor));
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

// Starting a worker costs about a second (the TypeScript loader and the kernel tables), so one pool
// is kept between runs: idle workers are unref'd and the pool ends itself after a quiet minute.
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

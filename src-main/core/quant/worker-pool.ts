// A small pool of quantization worker threads: jobs go to whichever worker is idle, results come
// back through promises. Worker creation is one replaceable function, because how a worker finds
// its code differs between a tsx run (CLI, tests) and a bundled Electron build.

import { Worker } from 'node:worker_threads';
import type { QuantJob, QuantJobResult } from './quant-job.ts';

export type QuantWorkerFactory = () => Worker;

/** Default: the .mjs shim beside this file, which registers tsx and loads quant-worker.ts. */
let workerFactory: QuantWorkerFactory = () => new Worker(new URL('./quant-worker.mjs', import.meta.url));

/** For builds that bundle the worker elsewhere (the Electron utility process). */
export function setQuantWorkerFactory(factory: QuantWorkerFactory): void {
  workerFactory = factory;
}

interface Pending {
  job: QuantJob;
  resolve: (dst: Uint8Array) => void;
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

  constructor(size: number) {
    this.size = size;
    for (let i = 0; i < size; i++) {
      const w = workerFactory();
      // Idle workers must not keep the process alive; busy ones must (see dispatch/onResult).
      w.unref();
      w.on('message', (r: QuantJobResult) => this.onResult(w, r));
      w.on('error', (err) => this.fail(err instanceof Error ? err : new Error(String(err))));
      w.on('exit', (code) => {
        if (!this.deadReason) this.fail(new Error(`quantization worker exited unexpectedly (code ${code})`));
      });
      this.workers.push(w);
      this.idle.push(w);
    }
  }

  /** Runs one job; the job's source buffer is transferred (unusable afterwards). */
  run(job: QuantJob): Promise<Uint8Array> {
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
      const src = p.job.src;
      // Transfer only a buffer the job owns completely; a view into a larger buffer is copied.
      const transferable = src.byteOffset === 0 && src.byteLength === src.buffer.byteLength;
      w.postMessage(p.job, transferable ? [src.buffer as ArrayBuffer] : []);
    }
  }

  private onResult(w: Worker, r: QuantJobResult): void {
    const p = this.busy.get(w);
    if (!p) return;
    this.busy.delete(w);
    w.unref();
    this.idle.push(w);
    if (r.ok) p.resolve(r.dst);
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
export function acquirePool(threads: number): WorkerPool {
  if (shared && !shared.pool.dead && shared.pool.size === threads && shared.users === 0) {
    clearTimeout(shared.timer);
    shared.users++;
    return shared.pool;
  }
  const pool = new WorkerPool(threads);
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

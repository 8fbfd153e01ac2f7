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
  private readonly idle: Worker[] = [];
  private readonly busy = new Map<Worker, Pending>();
  private readonly queue: Pending[] = [];
  private dead: Error | undefined;
  private readonly workers: Worker[] = [];

  constructor(size: number) {
    for (let i = 0; i < size; i++) {
      const w = workerFactory();
      w.on('message', (r: QuantJobResult) => this.onResult(w, r));
      w.on('error', (err) => this.fail(err instanceof Error ? err : new Error(String(err))));
      w.on('exit', (code) => {
        if (!this.dead) this.fail(new Error(`quantization worker exited unexpectedly (code ${code})`));
      });
      this.workers.push(w);
      this.idle.push(w);
    }
  }

  /** Runs one job; the job's source buffer is transferred (unusable afterwards). */
  run(job: QuantJob): Promise<Uint8Array> {
    if (this.dead) return Promise.reject(this.dead);
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
    this.idle.push(w);
    if (r.ok) p.resolve(r.dst);
    else p.reject(new QuantJobFailed(r.message, r.tensor));
    this.dispatch();
  }

  private fail(err: Error): void {
    if (this.dead) return;
    this.dead = err;
    for (const p of this.busy.values()) p.reject(err);
    for (const p of this.queue) p.reject(err);
    this.busy.clear();
    this.queue.length = 0;
  }
}

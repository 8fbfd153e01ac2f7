// Main-process side of the jobs: one host process per job, messages relayed to the renderer,
// cancel, and shutdown that cancels everything and waits for cleanup before killing.
// No electron import: `spawn` hands back any process-like object (utilityProcess in the app,
// child_process.fork in tests).
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import type { JobKind, JobMessage } from '../../src-shared/contract.ts';
import type { HostReply, HostRequest, JobInputs } from './job-protocol.ts';
import { quantfitError } from '../core/errors.ts';
import { msg } from '../../src-shared/messages/index.ts';

export interface HostProcess {
  postMessage(message: HostRequest): void;
  onMessage(listener: (message: HostReply) => void): void;
  onExit(listener: (code: number | null) => void): void;
  kill(): void;
}

/** Jobs at once: each is a process quantizing on every core, so more only compete (and a runaway page cannot fork without end). */
export const MAX_RUNNING_JOBS = 4;

/** What a job writes that another job must not write at once: its output file, and the Ollama model it creates. */
interface Claims {
  outputPath: string | null;
  /** Lower case (Ollama's names are); `modelName` as the request spelled it. */
  model: string | null;
  modelName: string | null;
}

// A measurement writes only into a work folder of its own (mkdtemp), so it claims nothing.
const CLAIMS: { readonly [K in JobKind]: (input: JobInputs[K]) => Claims } = {
  quantize: (input) => ({ outputPath: resolve(input.outputPath), model: null, modelName: null }),
  fit: (input) => {
    const name = input.request.modelName || null;
    return { outputPath: resolve(input.outputPath), model: name?.toLowerCase() ?? null, modelName: name };
  },
  measure: () => ({ outputPath: null, model: null, modelName: null }),
};

interface Running extends Claims {
  host: HostProcess;
  finished: Promise<void>;
  settle: () => void;
  ended: boolean;
}

export class JobManager {
  private readonly jobs = new Map<string, Running>();

  constructor(
    private readonly spawn: () => HostProcess,
    private readonly deliver: (message: JobMessage) => void,
  ) {}

  static newJobId(): string {
    return `job-${Date.now().toString(36)}${randomBytes(4).toString('hex')}`;
  }

  /**
   * Starts a job in its own host process. Refused while another job writes the same output file or
   * creates the same Ollama model (two writers would race: the last rename wins, and the second
   * create would replace the first's model without `force`), and beyond MAX_RUNNING_JOBS.
   */
  start<K extends JobKind>(kind: K, input: JobInputs[K]): string {
    const claims = CLAIMS[kind](input);
    const { outputPath, model } = claims;
    if (this.jobs.size >= MAX_RUNNING_JOBS) {
      throw quantfitError('app.tooManyJobs', { count: MAX_RUNNING_JOBS });
    }
    for (const other of this.jobs.values()) {
      if (outputPath !== null && other.outputPath === outputPath) throw quantfitError('app.outputBusy', { path: outputPath });
      if (model !== null && other.model === model) throw quantfitError('app.modelBusy', { model: claims.modelName ?? model });
    }
    const jobId = JobManager.newJobId();
    const host = this.spawn();
    let settle!: () => void;
    const finished = new Promise<void>((r) => (settle = r));
    const job: Running = { ...claims, host, finished, settle, ended: false };
    this.jobs.set(jobId, job);

    const end = (message: JobMessage): void => {
      if (job.ended) return;
      job.ended = true;
      this.jobs.delete(jobId);
      this.deliver(message);
      host.kill();
      settle();
    };

    host.onMessage((reply) => {
      if (reply.jobId !== jobId) return;
      if (reply.type === 'event') {
        if (!job.ended) this.deliver({ jobId, kind: 'event', event: reply.event });
      } else if (reply.type === 'done') end({ jobId, kind: 'done', result: reply.result });
      else if (reply.type === 'measured') end({ jobId, kind: 'measured', measured: reply.measured });
      else end({ jobId, kind: 'error', error: reply.error, cancelled: reply.cancelled, kept: reply.kept });
    });
    host.onExit((code) => {
      end({ jobId, kind: 'error', error: msg('app.jobProcessExited', { code: code ?? '?' }), cancelled: false, kept: null });
    });
    host.postMessage({ type: 'start', jobId, kind, input } as HostRequest);
    return jobId;
  }

  /** Ask a job to stop; it reports `error` with cancelled=true once its cleanup ran. */
  cancel(jobId: string): boolean {
    const job = this.jobs.get(jobId);
    if (!job) return false;
    job.host.postMessage({ type: 'cancel', jobId });
    return true;
  }

  runningJobs(): string[] {
    return [...this.jobs.keys()];
  }

  /** Cancel everything and wait for the jobs' cleanup; kill whatever has not finished by the deadline. */
  async shutdown(graceMs = 5000): Promise<void> {
    const jobs = [...this.jobs.entries()];
    for (const [id] of jobs) this.cancel(id);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((r) => (timer = setTimeout(r, graceMs)));
    await Promise.race([Promise.all(jobs.map(([, j]) => j.finished)), deadline]);
    clearTimeout(timer);
    for (const [, j] of jobs) {
      if (!j.ended) {
        j.host.kill();
        j.ended = true;
        j.settle();
      }
    }
    this.jobs.clear();
  }
}

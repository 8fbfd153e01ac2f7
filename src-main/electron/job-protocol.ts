// The protocol between the main process and the job host (an Electron utilityProcess), and the
// host's dispatch logic. No electron import: the host runs over any message port (Electron's
// parentPort, a child_process IPC channel, or a fake in tests).
import type { FitRequest, FitResult, JobKind, KeptOutput, MeasuredByType } from '../../src-shared/contract.ts';
import type { JobEvent } from '../core/progress.ts';
import { CancelledError, errorMessage } from '../core/errors.ts';
import type { Message } from '../../src-shared/message.ts';
import { msg } from '../../src-shared/messages/index.ts';

/** Everything a fit (or quantize) job needs, resolved by main (paths, host, threads) so the host decides nothing. */
export interface FitJobInput {
  request: FitRequest;
  /** Where the quantized GGUF goes (the job writes a temp file beside it and renames). */
  outputPath: string;
  ollamaHost: string;
  /** 0 = automatic. */
  threads: number;
}

/** Everything a "Measure quality" job needs, resolved by main. */
export interface MeasureJobInput {
  /** The GGUF measured (never modified). */
  modelPath: string;
  /** Type names, checked by ipc-validate (measureTypeList). */
  types: string[];
  /** Where the job's work folder goes (one quantized copy at a time; removed at the end). */
  workDir: string;
  /** 0 = automatic. */
  threads: number;
}

/** Each job kind's input and result. */
export interface JobInputs {
  quantize: FitJobInput;
  fit: FitJobInput;
  measure: MeasureJobInput;
}
export interface JobResults {
  quantize: FitResult;
  fit: FitResult;
  measure: MeasuredByType;
}

export type HostStart = { [K in JobKind]: { type: 'start'; jobId: string; kind: K; input: JobInputs[K] } }[JobKind];

export type HostRequest = HostStart | { type: 'cancel'; jobId: string };

export type HostReply =
  | { type: 'event'; jobId: string; event: JobEvent }
  | { type: 'done'; jobId: string; result: FitResult }
  | { type: 'measured'; jobId: string; measured: MeasuredByType }
  | { type: 'error'; jobId: string; error: Message; cancelled: boolean; kept: KeptOutput | null };

export interface JobContext {
  signal: AbortSignal;
  onEvent: (event: JobEvent) => void;
}

export type JobRunner<K extends JobKind> = (input: JobInputs[K], ctx: JobContext) => Promise<JobResults[K]>;
export type JobRegistry = { readonly [K in JobKind]: JobRunner<K> };

/** How each kind's result travels back: a fit's FitResult, a measurement's types. */
const FINISHED: { readonly [K in JobKind]: (jobId: string, result: JobResults[K]) => HostReply } = {
  quantize: (jobId, result) => ({ type: 'done', jobId, result }),
  fit: (jobId, result) => ({ type: 'done', jobId, result }),
  measure: (jobId, measured) => ({ type: 'measured', jobId, measured }),
};

/** The minimal port the host needs: Electron's parentPort matches it. */
export interface HostPort {
  on(event: 'message', listener: (message: { data: unknown }) => void): unknown;
  postMessage(message: HostReply): void;
}

/** Progress can arrive thousands of times a second; the UI needs about ten. */
export class ProgressThrottle {
  private last = new Map<string, number>();
  private pending: Extract<JobEvent, { type: 'progress' }> | null = null;

  constructor(
    private readonly emit: (e: JobEvent) => void,
    private readonly intervalMs = 100,
    private readonly now: () => number = () => performance.now(),
  ) {}

  push(e: JobEvent): void {
    if (e.type !== 'progress') {
      this.flush();
      this.emit(e);
      return;
    }
    const t = this.now();
    const prev = this.last.get(e.stage);
    if (prev === undefined || t - prev >= this.intervalMs || e.done >= e.total) {
      this.pending = null;
      this.last.set(e.stage, t);
      this.emit(e);
    } else {
      this.pending = e;
    }
  }

  /** Send the latest held-back progress event, if any. */
  flush(): void {
    if (this.pending) {
      const p = this.pending;
      this.pending = null;
      this.last.set(p.stage, this.now());
      this.emit(p);
    }
  }
}

const JOB_KINDS: readonly JobKind[] = ['quantize', 'fit', 'measure'];

/** The finished file a failed or cancelled fit kept (its error's `outcome`, see core/jobs/fit.ts). */
function keptOutput(err: unknown): KeptOutput | null {
  const outcome = (err as { outcome?: { keptOutput?: unknown; modelName?: unknown } } | null)?.outcome;
  if (typeof outcome?.keptOutput !== 'string') return null;
  return { outputPath: outcome.keptOutput, modelName: typeof outcome.modelName === 'string' ? outcome.modelName : null };
}

function parseRequest(data: unknown): HostRequest | null {
  if (typeof data !== 'object' || data === null) return null;
  const m = data as Record<string, unknown>;
  const jobId = m.jobId;
  if (typeof jobId !== 'string' || jobId.length === 0) return null;
  if (m.type === 'cancel') return { type: 'cancel', jobId };
  if (m.type === 'start' && JOB_KINDS.includes(m.kind as JobKind) && typeof m.input === 'object' && m.input !== null) {
    return { type: 'start', jobId, kind: m.kind, input: m.input } as HostStart;
  }
  return null;
}

/**
 * Serve jobs over `port`: `start` runs the registry's runner for that kind, streaming its events;
 * `cancel` aborts it. Every started job ends in exactly one `done` or `error`.
 * Returns a handle with the running job ids and a way to cancel everything (for tests/shutdown).
 */
export function serveJobs(port: HostPort, registry: JobRegistry, opts: { throttleMs?: number } = {}) {
  const running = new Map<string, AbortController>();

  const start = <K extends JobKind>(jobId: string, kind: K, input: JobInputs[K]): void => {
    if (running.has(jobId)) {
      port.postMessage({ type: 'error', jobId, error: msg('app.jobAlreadyRunning', { jobId }), cancelled: false, kept: null });
      return;
    }
    const controller = new AbortController();
    running.set(jobId, controller);
    const throttle = new ProgressThrottle((event) => port.postMessage({ type: 'event', jobId, event }), opts.throttleMs);
    const runner = registry[kind];
    void (async () => {
      try {
        const result = await runner(input, { signal: controller.signal, onEvent: (e) => throttle.push(e) });
        throttle.flush();
        if (controller.signal.aborted) throw new CancelledError();
        port.postMessage(FINISHED[kind](jobId, result));
      } catch (err) {
        throttle.flush();
        const cancelled = err instanceof CancelledError || controller.signal.aborted;
        // A cancelled fit says what it kept (a finished quantized file, an uploaded blob).
        const error = cancelled && !(err instanceof CancelledError) ? msg('common.cancelled') : errorMessage(err);
        port.postMessage({ type: 'error', jobId, error, cancelled, kept: keptOutput(err) });
      } finally {
        running.delete(jobId);
      }
    })();
  };

  port.on('message', ({ data }) => {
    const req = parseRequest(data);
    if (!req) return; // Only main talks to this port; a malformed message is a bug, not input.
    if (req.type === 'start') start(req.jobId, req.kind, req.input);
    else running.get(req.jobId)?.abort();
  });

  return {
    runningJobs: (): string[] => [...running.keys()],
    cancelAll: (): void => {
      for (const c of running.values()) c.abort();
    },
  };
}

/** A HostPort over a Node child process's IPC channel (tests and the e2e bridge run the host this way). */
export function childProcessPort(proc: NodeJS.Process): HostPort {
  if (!proc.send) throw new Error('this process has no IPC channel (start it with child_process.fork)');
  return {
    on: (_event, listener) => proc.on('message', (data: unknown) => listener({ data })),
    postMessage: (message) => {
      proc.send!(message);
    },
  };
}

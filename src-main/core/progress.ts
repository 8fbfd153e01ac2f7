// One shape of progress for every long step: the CLI prints it, the renderer draws it.

/** The steps of a fit, in order. */
export type Stage = 'inspect' | 'advise' | 'quantize' | 'modelfile' | 'upload' | 'create' | 'verify';

export type JobEvent =
  /** A step began, finished, or was skipped (with why). */
  | { type: 'stage'; stage: Stage; status: 'start' | 'done' | 'skipped'; message?: string }
  /** Work inside a step: `done` of `total` units, the rate over a recent window, and an ETA. */
  | {
      type: 'progress';
      stage: Stage;
      unit: 'bytes';
      done: number;
      total: number;
      /** Units per second, smoothed; 0 until measurable. */
      rate: number;
      /** Seconds left, or null until measurable. */
      etaSeconds: number | null;
      /** Quantize: the tensor being written. */
      tensor?: { index: number; count: number; name: string; type: string };
      /** Quantize: bytes written to the output so far. */
      bytesOut?: number;
      /** Create: the server's status line. */
      status?: string;
    }
  /** Something a person should read (a warning, a server status line). */
  | { type: 'log'; level: 'info' | 'warn'; stage?: Stage; message: string };

/** Computes rate and ETA from (time, done) samples over a sliding window. */
export class RateMeter {
  private readonly samples: Array<{ t: number; done: number }> = [];
  constructor(
    private readonly total: number,
    private readonly windowMs = 5000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  update(done: number): { rate: number; etaSeconds: number | null } {
    const t = this.now();
    this.samples.push({ t, done });
    while (this.samples.length > 2 && t - this.samples[0]!.t > this.windowMs) this.samples.shift();
    const first = this.samples[0]!;
    const dt = (t - first.t) / 1000;
    const rate = dt > 0 ? (done - first.done) / dt : 0;
    const etaSeconds = rate > 0 ? Math.max(0, (this.total - done) / rate) : null;
    return { rate, etaSeconds };
  }
}

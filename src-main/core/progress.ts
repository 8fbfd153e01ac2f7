// One shape of progress for every long step: the CLI prints it, the renderer draws it.

// The event shapes live in src-shared (the renderer draws them); the core imports them from here.
export type { JobEvent, Stage } from '../../src-shared/types/progress.ts';

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

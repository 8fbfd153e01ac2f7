// Progress on stderr for the long-running commands (quantize, fit): a redrawn bar with bytes, rate and
// ETA on a terminal; a plain line every couple of seconds otherwise (logs, pipes, CI).

import type { JobEvent } from '../core/progress.ts';
import type { Stage } from '../core/progress.ts';
import { stageName } from '../core/jobs/runner.ts';
import { msg } from '../../src-shared/messages/index.ts';
import { say } from './locale.ts';

const MB = 1024 * 1024;

export function formatEta(s: number | null): string {
  if (s === null || !Number.isFinite(s)) return '--';
  const t = Math.round(s);
  return t >= 3600 ? `${Math.floor(t / 3600)}h${String(Math.floor((t % 3600) / 60)).padStart(2, '0')}m` : t >= 60 ? `${Math.floor(t / 60)}m${String(t % 60).padStart(2, '0')}s` : `${t}s`;
}

export interface ProgressPrinterOptions {
  /**
   * Print a line per stage change (`quantize…`, `upload done: …`) and logs without the `quantfit:`
   * prefix, for multi-stage jobs. Off (the quantize command): progress and logs only.
   */
  readonly stages?: boolean;
}

export class ProgressPrinter {
  private readonly tty: boolean;
  private readonly stages: boolean;
  private drawn = false;
  private lastLine = -Infinity;

  constructor(private readonly out: NodeJS.WriteStream, options: ProgressPrinterOptions = {}) {
    this.tty = out.isTTY === true;
    this.stages = options.stages === true;
  }

  onEvent(e: JobEvent): void {
    if (e.type === 'log') {
      this.clear();
      const text = e.text ? say(e.text) : e.message;
      if (this.stages) this.out.write(`${e.level === 'warn' ? say(msg('fit.cli.warning', { text })) : `  ${text}`}\n`);
      else this.out.write(`quantfit: ${e.level === 'warn' ? say(msg('fit.cli.warning', { text })) : text}\n`);
      return;
    }
    if (e.type === 'stage') {
      if (!this.stages) return;
      this.clear();
      this.lastLine = -Infinity;
      const note = e.text ? say(e.text) : e.message;
      this.out.write(`${stageLine(e.stage, e.status, note)}\n`);
      return;
    }
    const pct = e.total > 0 ? (100 * e.done) / e.total : 100;
    const tokens = e.unit === 'tokens';
    const rate = tokens ? say(msg('jobProgress.tokenRate', { rate: e.rate.toFixed(0) })) : `${(e.rate / MB).toFixed(1)} MB/s`;
    const amount = tokens ? say(msg('jobProgress.tokens', { done: e.done, total: e.total })) : `${(e.done / MB).toFixed(1)}/${(e.total / MB).toFixed(1)} MiB`;
    const eta = say(msg('jobProgress.eta', { time: formatEta(e.etaSeconds) }));
    const stage = say(stageName(e.stage));
    const where = e.tensor ? `[${e.tensor.index + 1}/${e.tensor.count}] ${e.tensor.name} → ${e.tensor.type}` : (e.statusText ? say(e.statusText) : (e.status ?? ''));
    if (this.tty) {
      const width = 24;
      const fill = Math.round((pct / 100) * width);
      // Multi-stage jobs name the stage and show the bytes; the quantize command's bar is unchanged.
      const label = this.stages || tokens ? `${stage} ` : '';
      const bytes = this.stages || tokens ? ` ${amount}` : '';
      const line = `${label}[${'#'.repeat(fill)}${'-'.repeat(width - fill)}] ${pct.toFixed(0).padStart(3)}%${bytes} ${rate} ${eta} ${where}`;
      const cols = this.out.columns ?? 100;
      this.out.write(`\r${line.slice(0, cols - 1).padEnd(cols - 1)}`);
      this.drawn = true;
      return;
    }
    const now = performance.now();
    if (now - this.lastLine < 2000 && e.done < e.total) return;
    this.lastLine = now;
    this.out.write(`${stage}: ${pct.toFixed(1)}% (${amount}) ${rate} ${eta} ${where}\n`);
  }

  private clear(): void {
    if (this.drawn) this.out.write('\r\x1b[K');
    this.drawn = false;
  }

  /** Ends a redrawn line (call before printing anything else). */
  end(): void {
    if (this.drawn) this.out.write('\n');
    this.drawn = false;
  }
}

/** "quantize…", "upload done: 4194304 bytes sent", in the CLI's language. */
export function stageLine(stage: Stage, status: 'start' | 'done' | 'skipped', note: string | undefined): string {
  const name = stageName(stage);
  const codes = {
    start: ['fit.cli.stageStart', 'fit.cli.stageStartNote'],
    done: ['fit.cli.stageDone', 'fit.cli.stageDoneNote'],
    skipped: ['fit.cli.stageSkipped', 'fit.cli.stageSkippedNote'],
  } as const;
  const [bare, withNote] = codes[status];
  return note ? say(msg(withNote, { stage: name, note })) : say(msg(bare, { stage: name }));
}

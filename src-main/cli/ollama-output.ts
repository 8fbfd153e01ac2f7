// Output helpers shared by the Ollama commands (import, models, rm): human progress on stderr, or
// NDJSON JobEvents on stdout with --json.

import type { JobEvent } from '../core/progress.ts';
import { msg } from '../../src-shared/messages/index.ts';
import { say } from './locale.ts';
import { stageLine } from './progress.ts';
import { jsonEventLine } from './json-output.ts';
import { stageName } from '../core/jobs/runner.ts';

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function eta(s: number | null): string {
  if (s === null) return '';
  const time = s < 60 ? `${Math.ceil(s)}s` : `${Math.floor(s / 60)}m${String(Math.ceil(s % 60)).padStart(2, '0')}s`;
  return ` ${say(msg('jobProgress.eta', { time }))}`;
}

/** Writes JobEvents for people: one line per stage change or log, a redrawn line for progress. */
export class HumanProgress {
  private redrawing = false;
  private lastDraw = 0;
  /** Without a terminal: the last tenth printed per status, so logs get a line per 10%. */
  private lastTenth = new Map<string, number>();
  constructor(private readonly out: NodeJS.WriteStream) {}

  onEvent(e: JobEvent): void {
    if (e.type === 'progress') {
      const now = performance.now();
      if (this.out.isTTY && now - this.lastDraw < 100 && e.done < e.total) return;
      this.lastDraw = now;
      const pct = e.total > 0 ? ((e.done / e.total) * 100).toFixed(1) : '0.0';
      const line = `${e.statusText ? say(e.statusText) : (e.status ?? say(stageName(e.stage)))} ${pct}% ${mib(e.done)} / ${mib(e.total)}${e.rate > 0 ? ` ${mib(e.rate)}/s` : ''}${eta(e.etaSeconds)}`;
      if (this.out.isTTY) {
        this.out.write(`\r\x1b[K${line}`);
        this.redrawing = true;
      } else {
        const key = e.status ?? e.stage;
        const tenth = e.total > 0 ? Math.floor((e.done / e.total) * 10) : 10;
        if (tenth > (this.lastTenth.get(key) ?? -1)) {
          this.lastTenth.set(key, tenth);
          this.out.write(`${line}\n`);
        }
      }
      return;
    }
    this.endLine();
    if (e.type === 'stage') {
      this.out.write(`${stageLine(e.stage, e.status, e.text ? say(e.text) : e.message)}\n`);
    } else {
      const text = e.text ? say(e.text) : e.message;
      this.out.write(`${e.level === 'warn' ? say(msg('fit.cli.warning', { text })) : `  ${text}`}\n`);
    }
  }

  endLine(): void {
    if (this.redrawing) {
      this.out.write('\n');
      this.redrawing = false;
    }
  }
}

/** Writes each event as one JSON line on stdout (its note in the CLI's language). */
export function jsonEvents(e: JobEvent): void {
  process.stdout.write(jsonEventLine(e));
}

/** An AbortController that fires on Ctrl-C / SIGTERM while `run` is in progress. */
export async function withInterrupt<T>(run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await run(controller.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

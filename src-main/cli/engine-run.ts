// What `quantfit eval` and `quantfit imatrix` share: their llama.cpp run options and a cancellable run with progress on stderr.

import { intOption } from './args.ts';
import { ProgressPrinter } from './progress.ts';
import type { JobEvent } from '../core/progress.ts';

/** The options both engine commands take, as parseCommandArgs specs. */
export const ENGINE_RUN_OPTIONS = {
  text: { type: 'string' },
  ctx: { type: 'string' },
  chunks: { type: 'string' },
  threads: { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** --ctx, --chunks and --threads, range-checked as llama.cpp accepts them. */
export function engineRunNumbers(values: { ctx?: string; chunks?: string; threads?: string }) {
  return {
    ctx: intOption(values.ctx, 'ctx', 8, 1 << 20),
    chunks: intOption(values.chunks, 'chunks', 1, 1 << 20),
    threads: intOption(values.threads, 'threads', 1, 1024),
  };
}

/** Runs `work` with an AbortSignal that SIGINT/SIGTERM trip and its events drawn on stderr; the line is ended before returning. */
export async function runCancellable<T>(work: (run: { signal: AbortSignal; onEvent: (e: JobEvent) => void }) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const progress = new ProgressPrinter(process.stderr);
  try {
    return await work({ signal: controller.signal, onEvent: (e) => progress.onEvent(e) });
  } finally {
    progress.end();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

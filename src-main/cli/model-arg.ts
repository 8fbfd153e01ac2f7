// The model argument of inspect, recommend, quantize and fit: a path, `ollama:NAME[:TAG]`, `hf:ORG/REPO…`,
// `modelscope:ORG/REPO…` or a hub URL, resolved to a local file or folder before the command opens it.
// Download and pull progress goes to stderr (or, with --json on fit, into its NDJSON stream).

import type { JobEvent } from '../core/progress.ts';
import { resolveModelReference, type ResolvedModel } from '../core/sources/resolve.ts';
import { ProgressPrinter } from './progress.ts';

/** The options every model-taking command accepts for its model argument. */
export const MODEL_ARG_OPTIONS = {
  pull: { type: 'boolean' },
  host: { type: 'string' },
  file: { type: 'string', multiple: true },
} as const;

export interface ModelArgOptions {
  readonly pull?: boolean;
  readonly host?: string;
  readonly file?: readonly string[];
  readonly signal?: AbortSignal;
  /** Where events go (default: a progress printer on stderr). */
  readonly onEvent?: (e: JobEvent) => void;
}

/** Resolves the model argument; the caller opens `path`. */
export async function resolveModelArg(ref: string, opts: ModelArgOptions = {}): Promise<ResolvedModel> {
  const printer = opts.onEvent ? null : new ProgressPrinter(process.stderr, { stages: true });
  try {
    return await resolveModelReference(ref, {
      ...(opts.signal ? { signal: opts.signal } : {}),
      onEvent: opts.onEvent ?? ((e) => printer!.onEvent(e)),
      ...(opts.pull ? { pull: true } : {}),
      ...(opts.host !== undefined ? { ollamaHost: opts.host } : {}),
      ...(opts.file && opts.file.length > 0 ? { files: opts.file } : {}),
    });
  } finally {
    printer?.end();
  }
}

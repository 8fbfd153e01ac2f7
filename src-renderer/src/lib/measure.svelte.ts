// "Measure quality": this model's own KL divergence and perplexity per type, measured by a job in the
// utility process (startMeasure); the results are kept per model (main keeps them across restarts:
// measuredFor) and merged into the report's options, so a new estimate (another context length) keeps them.
import { MEASURE_TYPES_MAX, type Estimate, type JobEvent, type JobMessage, type MeasuredByType, type Message } from '../../../src-shared/contract.ts';
import { api, messageOf } from './api.ts';

type Progress = Extract<JobEvent, { type: 'progress' }>;

export interface MeasureRun {
  id: string | null;
  modelPath: string;
  types: string[];
  /** What the job says it is on (which type, of how many). */
  note: Message | string | null;
  progress: Progress | null;
  finished: boolean;
  error: Message | null;
  cancelled: boolean;
  cancelling: boolean;
}

export const measure = $state({
  run: null as MeasureRun | null,
  /** Per model path: why it cannot be measured here, or null when it can (absent until asked). */
  unavailable: {} as Record<string, Message | null>,
  /** Per model path: the types measured (kept by main, and this session's). */
  measured: {} as Record<string, MeasuredByType>,
  /** Counts finished measurements, so a stored read that started before one does not hide it. */
  finishedRuns: 0,
  /** The types ticked in the panel, and the model they were ticked for. */
  chosen: [] as string[],
  chosenFor: null as string | null,
});

export function measureRunning(): boolean {
  const run = measure.run;
  return run !== null && !run.finished && run.error === null && !run.cancelled;
}

// Unquantized types say little about a quant, and would only be a copy of the original.
const FLOAT_TYPES = new Set(['F32', 'F16', 'BF16']);

/** The types ticked at first: the recommended one (else the selected one) and its neighbours in size. */
export function defaultMeasureTypes(options: readonly Estimate[], around: string | null): string[] {
  const ladder = [...options].filter((o) => !FLOAT_TYPES.has(o.type) && !o.requiresImatrix).sort((a, b) => b.fileBytes - a.fileBytes).map((o) => o.type);
  const i = around === null ? -1 : ladder.indexOf(around);
  if (i < 0) return ladder.slice(0, Math.min(3, MEASURE_TYPES_MAX));
  return ladder.slice(Math.max(0, i - 1), i + 2);
}

/** The report's options with this model's measured figures where it has them. */
export function withMeasured(options: readonly Estimate[], measured: MeasuredByType | undefined): Estimate[] {
  if (!measured) return [...options];
  return options.map((o) => (measured[o.type] ? { ...o, measured: measured[o.type] } : o));
}

/** Asks main once per model whether it can be measured here (llama.cpp present, a GGUF file). */
export async function checkMeasurable(modelPath: string): Promise<void> {
  if (modelPath in measure.unavailable) return;
  try {
    measure.unavailable[modelPath] = await api().measureUnavailableReason(modelPath);
  } catch (err) {
    measure.unavailable[modelPath] = messageOf(err);
  }
}

/**
 * The figures main kept for `modelPath` as it is now: they replace this session's, so a model file
 * changed since its measurement shows none. A failed read leaves what is there.
 */
export async function loadMeasured(modelPath: string): Promise<void> {
  const runs = measure.finishedRuns;
  try {
    const stored = await api().measuredFor(modelPath);
    measure.measured[modelPath] = runs === measure.finishedRuns ? stored : { ...stored, ...measure.measured[modelPath] };
  } catch {
    // Nothing kept to show; measuring still works.
  }
}

export async function startMeasure(modelPath: string, types: readonly string[]): Promise<void> {
  if (measureRunning()) return;
  const run: MeasureRun = { id: null, modelPath, types: [...types], note: null, progress: null, finished: false, error: null, cancelled: false, cancelling: false };
  measure.run = run;
  try {
    const id = await api().startMeasure(modelPath, [...types]);
    if (measure.run?.modelPath !== modelPath || measure.run.id !== null) return;
    measure.run.id = id;
    for (const m of early.splice(0)) if (m.jobId === id) applyMeasureMessage(m);
  } catch (err) {
    if (measure.run) measure.run.error = messageOf(err);
  }
}

export async function cancelMeasure(): Promise<void> {
  const run = measure.run;
  if (!run?.id || !measureRunning()) return;
  run.cancelling = true;
  await api().cancelJob(run.id).catch((err: unknown) => {
    run.cancelling = false;
    run.error = messageOf(err);
  });
}

// Messages can arrive before startMeasure's promise resolves with the id; keep them until it does.
const early: JobMessage[] = [];

/** Applies a job message that belongs to the measurement; others are left to the fit's handler. */
export function applyMeasureMessage(m: JobMessage): void {
  const run = measure.run;
  if (!run) return;
  if (run.id === null) {
    if (!run.error) early.push(m);
    return;
  }
  if (m.jobId !== run.id) return;
  if (m.kind === 'measured') {
    measure.measured[run.modelPath] = { ...measure.measured[run.modelPath], ...m.measured };
    measure.finishedRuns++;
    run.finished = true;
  } else if (m.kind === 'error') {
    run.cancelling = false;
    if (m.cancelled) run.cancelled = true;
    else run.error = m.error;
  } else if (m.kind === 'event') {
    const e = m.event;
    if (e.type === 'progress') run.progress = e;
    else if (e.type === 'log' && e.level === 'info') {
      run.note = e.text ?? e.message;
      run.progress = null;
    }
  }
}

// Application state: what the screens show and the actions that change it.
import {
  APP_STAGE_IDS, DEFAULT_SETTINGS, LIMITS, STAGE_IDS,
  type Estimate, type FitRequest, type FitResult, type HardwareProfile, type JobEvent, type JobMessage, type ModelFileInfo, type RecommendReport,
  type KeptOutput, type Message, type Settings, type SettingsPatch, type Stage,
} from '../../../src-shared/contract.ts';
import { api, messageOf } from './api.ts';
import type { FitSource } from '../../../src-shared/types/fit.ts';
import { defaultModelName } from '../../../src-shared/default-names.ts';
import { defaultNameFromOllama } from '../../../src-shared/source-names.ts';
import { applyLanguage } from './i18n.svelte.ts';
import { applyMeasureMessage } from './measure.svelte.ts';

export type Screen = 'home' | 'model' | 'progress' | 'library' | 'settings';
/** 'stopped': the stage that was running when the job failed or was cancelled. */
export type StageStatus = 'pending' | 'active' | 'done' | 'skipped' | 'stopped';
type Progress = Extract<JobEvent, { type: 'progress' }>;

/** The stages a fit shows, in order (the job's own list); a quantize-only job shows the first one. */
export const FIT_STAGES: readonly Stage[] = APP_STAGE_IDS;

export interface JobView {
  id: string | null;
  modelName: string;
  register: boolean;
  stages: Record<Stage, StageStatus>;
  progress: Partial<Record<Stage, Progress>>;
  logs: Array<{ level: 'info' | 'warn'; message: Message | string }>;
  result: FitResult | null;
  error: Message | null;
  cancelled: boolean;
  /** What the cancelled job says it kept (a finished quantized file, an uploaded blob), if anything. */
  cancelNote: Message | null;
  /** A finished quantized file the stopped job kept: registering it needs no re-quantizing. */
  kept: KeptOutput | null;
  /** The request that started the job (registering the kept file repeats it for that file). */
  request: FitRequest | null;
  cancelling: boolean;
  predictedBytes: number | null;
}

const freshStages = (): Record<Stage, StageStatus> =>
  Object.fromEntries(STAGE_IDS.map((s) => [s, 'pending'])) as Record<Stage, StageStatus>;

export const app = $state({
  screen: 'home' as Screen,
  settings: { ...DEFAULT_SETTINGS } as Settings,
  hardware: null as HardwareProfile | null,
  hardwareError: null as Message | null,
  model: null as ModelFileInfo | null,
  /** Where the open model came from when it is not a file of the user's (an Ollama model, a hub download). */
  source: null as { label: string; source: FitSource } | null,
  modelLoading: null as string | null,
  modelError: null as Message | null,
  ctx: 4096,
  report: null as RecommendReport | null,
  reportLoading: false,
  reportError: null as Message | null,
  selectedType: null as string | null,
  /** An importance matrix the user picked: the advisor then offers the types that need one, and the fit uses it. */
  imatrixPath: null as string | null,
  imatrixError: null as Message | null,
  job: null as JobView | null,
  /** The fit form, kept across screens (going back after a cancel keeps what was typed). */
  form: { modelName: '', nameEdited: false, outputDir: null as string | null, register: true, force: false, allowRequantize: false, checkQuality: false },
  version: '',
  platform: '',
});

/** The context lengths the slider offers: powers of two up to the model's trained context. */
export function contextSteps(trained: number | null): number[] {
  const max = Math.min(trained ?? 131072, LIMITS.ctxMax);
  const steps: number[] = [];
  for (let c = 512; c <= max; c *= 2) steps.push(c);
  if (steps.length === 0 || steps[steps.length - 1] !== max) steps.push(Math.max(LIMITS.ctxMin, max));
  return steps;
}

export function defaultContext(trained: number | null): number {
  const steps = contextSteps(trained);
  return steps.filter((c) => c <= 8192).at(-1) ?? steps[0]!;
}

export async function loadSettings(): Promise<void> {
  try {
    app.settings = await api().getSettings();
  } catch {
    app.settings = { ...DEFAULT_SETTINGS };
  }
  applyLanguage(app.settings.language);
  applyTheme(app.settings.theme);
  const info = await api().appInfo().catch(() => null);
  if (info) {
    app.version = info.version;
    app.platform = info.platform;
  }
}

export function applyTheme(theme: Settings['theme']): void {
  if (theme === 'system') delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = theme;
}

export async function saveSettings(patch: SettingsPatch): Promise<void> {
  app.settings = await api().setSettings(patch);
  if (patch.language) applyLanguage(app.settings.language);
  if (patch.theme) applyTheme(app.settings.theme);
}

export async function loadHardware(): Promise<void> {
  app.hardwareError = null;
  try {
    app.hardware = await api().hardware();
  } catch (err) {
    app.hardwareError = messageOf(err);
  }
}

/** The name `quantfit fit` would give: from the Ollama source's name, else the file (or repo) name. */
export function defaultNameFor(type: string): string {
  const s = app.source?.source;
  if (s?.ollamaName) return defaultNameFromOllama(s.ollamaName, type);
  return defaultModelName(s?.stem ?? app.model?.path ?? 'model', type);
}

export async function openModel(path: string, from: { label: string; source: FitSource } | null = null): Promise<void> {
  app.modelError = null;
  app.modelLoading = path.split(/[\\/]/).pop() ?? path;
  try {
    const model = await api().inspectModel(path);
    app.model = model;
    app.source = from;
    app.report = null;
    app.selectedType = null;
    app.imatrixPath = null;
    app.imatrixError = null;
    app.ctx = defaultContext(model.contextLength);
    app.form = { modelName: '', nameEdited: false, outputDir: null, register: true, force: false, allowRequantize: false, checkQuality: false };
    app.screen = 'model';
    await refreshReport();
  } catch (err) {
    app.modelError = messageOf(err);
  } finally {
    app.modelLoading = null;
  }
}

export async function pickModel(): Promise<void> {
  const path = await api().pickModelFile().catch((err: unknown) => {
    app.modelError = messageOf(err);
    return null;
  });
  if (path) await openModel(path);
}

/** A Hugging Face model folder: converted while it is quantized. */
export async function pickModelFolder(): Promise<void> {
  const path = await api().pickModelFolder().catch((err: unknown) => {
    app.modelError = messageOf(err);
    return null;
  });
  if (path) await openModel(path);
}

let reportSeq = 0;

/** Re-estimate for the current model and context; a newer request supersedes an older one. */
export async function refreshReport(): Promise<void> {
  if (!app.model) return;
  const seq = ++reportSeq;
  app.reportLoading = true;
  app.reportError = null;
  try {
    const report = await api().recommend(app.model.path, app.ctx, { imatrixPath: app.imatrixPath });
    if (seq !== reportSeq) return;
    const kept = report.options.find((o) => o.type === app.selectedType);
    const keep = kept !== undefined && selectable(kept) && app.selectedType !== app.report?.recommended.type;
    app.report = report;
    if (!keep) app.selectedType = report.recommended.type ?? report.options.find((o) => o.fit !== 'none' && selectable(o))?.type ?? null;
  } catch (err) {
    if (seq === reportSeq) app.reportError = messageOf(err);
  } finally {
    if (seq === reportSeq) app.reportLoading = false;
  }
}

/** A type that needs an importance matrix can be chosen only once one is set. */
export function selectable(option: Estimate): boolean {
  return !option.requiresImatrix || app.imatrixPath !== null;
}

/** Use (or, with null, stop using) an importance matrix; a file that does not load is refused here. */
export async function setImatrix(path: string | null): Promise<void> {
  const previous = app.imatrixPath;
  app.imatrixPath = path;
  app.imatrixError = null;
  await refreshReport();
  if (path !== null && app.reportError !== null) {
    app.imatrixError = app.reportError;
    app.imatrixPath = previous;
    await refreshReport();
  }
}

export async function pickImatrix(): Promise<void> {
  const path = await api().pickImatrixFile().catch((err: unknown) => {
    app.imatrixError = messageOf(err);
    return null;
  });
  if (path) await setImatrix(path);
}

export async function startFit(opts: { modelName: string; outputDir: string | null; register: boolean; force: boolean; allowRequantize: boolean; checkQuality: boolean }): Promise<void> {
  if (!app.model || !app.selectedType || !app.report) return;
  const option = app.report.options.find((o) => o.type === app.selectedType);
  await runJob({
    modelPath: app.model.path,
    type: app.selectedType,
    contextLength: app.ctx,
    outputDir: opts.outputDir,
    modelName: opts.modelName,
    register: opts.register,
    force: opts.force,
    imatrixPath: app.imatrixPath,
    predictedBytes: option?.totalBytes ?? null,
    allowRequantize: opts.allowRequantize,
    checkQuality: opts.checkQuality,
    source: app.source ? $state.snapshot(app.source.source) : null,
  });
}

/**
 * Registers the finished file a stopped fit kept, as `quantfit import` would: the same request with
 * the kept file as the model, whose type it already has, so the job skips quantizing.
 */
export async function registerKept(): Promise<void> {
  const { kept, request } = app.job ?? {};
  if (!kept || !request) return;
  await runJob({ ...request, modelPath: kept.outputPath, modelName: kept.modelName ?? request.modelName, register: true, imatrixPath: null, allowRequantize: false, checkQuality: false });
}

async function runJob(request: FitRequest): Promise<void> {
  app.job = {
    id: null,
    modelName: request.modelName ?? '',
    register: request.register !== false,
    stages: freshStages(),
    progress: {},
    logs: [],
    result: null,
    error: null,
    cancelled: false,
    cancelNote: null,
    kept: null,
    request,
    cancelling: false,
    predictedBytes: request.predictedBytes ?? null,
  };
  app.screen = 'progress';
  try {
    const id = await api().startFit(request);
    if (app.job) app.job.id = id;
    flushEarly(id);
  } catch (err) {
    if (app.job) app.job.error = messageOf(err);
  }
}

export async function cancelJob(): Promise<void> {
  const job = app.job;
  if (!job?.id || job.result || job.error) return;
  job.cancelling = true;
  await api().cancelJob(job.id).catch((err: unknown) => {
    job.error = messageOf(err);
  });
}

// Messages can arrive before startFit's promise resolves with the id; keep them until it does.
const early: JobMessage[] = [];

function flushEarly(id: string): void {
  for (const m of early.splice(0)) if (m.jobId === id) applyJobMessage(m);
}

export function applyJobMessage(m: JobMessage): void {
  applyMeasureMessage(m);
  const job = app.job;
  if (!job) return;
  if (job.id === null) {
    early.push(m);
    return;
  }
  if (m.jobId !== job.id) return;
  if (m.kind === 'done') {
    job.result = m.result;
    for (const s of FIT_STAGES) if (job.stages[s] === 'active') job.stages[s] = 'done';
  } else if (m.kind === 'error') {
    job.cancelling = false;
    job.kept = m.kept;
    for (const s of FIT_STAGES) if (job.stages[s] === 'active') job.stages[s] = 'stopped';
    if (m.cancelled) {
      job.cancelled = true;
      job.cancelNote = m.error.code === 'common.cancelled' ? null : m.error;
    } else job.error = m.error;
  } else if (m.kind === 'event') {
    const e = m.event;
    if (e.type === 'stage') job.stages[e.stage] = e.status === 'start' ? 'active' : e.status;
    else if (e.type === 'progress') {
      job.progress[e.stage] = e;
      if (job.stages[e.stage] === 'pending') job.stages[e.stage] = 'active';
    } else job.logs.push({ level: e.level, message: e.text ?? e.message });
  }
}

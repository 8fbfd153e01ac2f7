// The typed contract between the Electron main process and the renderer (IPC channels and payloads).
// The preload exposes exactly `QuantfitApi` on `window.quantfit`; main validates every argument.
// Everything that crosses the bridge is plain data (survives structured clone).

import type { HardwareProfile } from './types/hardware.ts';
import type { MeasuredQuality, RecommendReport } from './types/advisor.ts';
import type { OllamaModelDetails, OllamaModelSummary, RunningModel } from './types/ollama.ts';
import type { FitRequest, FitResult } from './types/fit.ts';
import type { JobEvent } from './types/progress.ts';
import type { HubRepoListing, OllamaSourceEntry, OpenedSource } from './types/sources.ts';
import type { Message } from './message.ts';

export type { HardwareProfile, GpuInfo } from './types/hardware.ts';
export type { RecommendReport, Estimate, Fit, MeasuredQuality, ReasonItem, Recommendation } from './types/advisor.ts';
export type { OllamaModelDetails, OllamaModelSummary, RunningModel, VerifyResult } from './types/ollama.ts';
export type { JobEvent, Stage } from './types/progress.ts';
export type { HubFileEntry, HubRepoListing, OllamaSourceEntry, OpenedSource, SourceGrade } from './types/sources.ts';
export type { Locale, Message } from './message.ts';
export { APP_STAGE_IDS, JOB_STAGES, STAGE_IDS } from './stages.ts';

export interface AppInfo {
  version: string;
  platform: string;
}

export type Language = 'system' | 'en' | 'zh-CN';
export type Theme = 'system' | 'light' | 'dark';

export const LANGUAGES: readonly Language[] = ['system', 'en', 'zh-CN'];
export const THEMES: readonly Theme[] = ['system', 'light', 'dark'];

/** What the app remembers between runs (besides the window bounds), except the hub tokens. */
export interface EditableSettings {
  /** Folder for quantized GGUF files; null = next to the source model. */
  outputDir: string | null;
  /** Ollama base URL. */
  ollamaHost: string;
  /** Quantizer threads; 0 = one per logical core. */
  threads: number;
  language: Language;
  theme: Theme;
  /** Hugging Face endpoint (a mirror such as https://hf-mirror.com); '' = HF_ENDPOINT or huggingface.co. */
  hfEndpoint: string;
  /** ModelScope endpoint; '' = MODELSCOPE_ENDPOINT or modelscope.cn. */
  modelscopeEndpoint: string;
}

/**
 * The hub tokens: write-only from the renderer ('' clears; then HF_TOKEN / MODELSCOPE_API_TOKEN
 * decide). They stay in the main process and are never logged.
 */
export interface HubTokens {
  hfToken: string;
  modelscopeToken: string;
}

/** The settings as the renderer sees them: of each token only whether one is saved. */
export interface Settings extends EditableSettings {
  hfTokenSet: boolean;
  modelscopeTokenSet: boolean;
}

/** A change the renderer may ask for: any editable setting, and a new token ('' clears it). */
export type SettingsPatch = Partial<EditableSettings & HubTokens>;

export const DEFAULT_EDITABLE_SETTINGS: EditableSettings = {
  outputDir: null,
  ollamaHost: 'http://127.0.0.1:11434',
  threads: 0,
  language: 'system',
  theme: 'system',
  hfEndpoint: '',
  modelscopeEndpoint: '',
};

export const DEFAULT_SETTINGS: Settings = { ...DEFAULT_EDITABLE_SETTINGS, hfTokenSet: false, modelscopeTokenSet: false };

/** Limits shared by the IPC validator and the renderer's inputs. */
export const LIMITS = {
  pathChars: 4096,
  nameChars: 200,
  textChars: 100_000,
  urlChars: 2048,
  ctxMin: 256,
  ctxMax: 1_048_576,
  threadsMax: 1024,
} as const;

/** The GGUF a user picked, summarised for the UI. */
export interface ModelFileInfo {
  path: string;
  fileName: string;
  fileBytes: number;
  /** `general.architecture`, e.g. `llama`. */
  architecture: string | null;
  /** `general.name`, when present. */
  name: string | null;
  /** Source ftype name (`F16`, `Q8_0` …) from `general.file_type`, when known. */
  fileType: string | null;
  tensorCount: number;
  parameterCount: number;
  /** Trained context length (`<arch>.context_length`). */
  contextLength: number | null;
}

export interface RecommendOptions {
  /** An importance matrix (.dat or .gguf): allows the IQ types that need one. */
  imatrixPath?: string | null;
}

/**
 * One "fit this model" request and what a finished fit hands back: the core fit job's own types
 * (one definition for the CLI and the app). The renderer sends exactly the fields in
 * FIT_REQUEST_FIELDS; main adds the output path, Ollama host and threads from the settings.
 */
export type { FitRequest, FitResult } from './types/fit.ts';

/** The fields of FitRequest the renderer sends (all of them, every time); ipc-validate checks each. */
export const FIT_REQUEST_FIELDS = [
  'modelPath', 'type', 'contextLength', 'outputDir', 'modelName', 'register', 'force', 'imatrixPath', 'predictedBytes',
  'allowRequantize', 'source', 'checkQuality',
] as const satisfies readonly (keyof FitRequest)[];

/** The job kinds the utility process runs: a fit without or with Ollama, and "Measure quality". */
export type JobKind = 'quantize' | 'fit' | 'measure';

/** The most types one "Measure quality" run takes (each is a whole quantize plus an evaluation). */
export const MEASURE_TYPES_MAX = 8;

/** What a finished "Measure quality" job hands back: this model's own quality, keyed by type name. */
export type MeasuredByType = Record<string, MeasuredQuality>;

/** Messages pushed from main to the renderer on `IPC_EVENT_CHANNEL`. */
export type JobMessage =
  | { jobId: string; kind: 'event'; event: JobEvent }
  | { jobId: string; kind: 'done'; result: FitResult }
  /** A measure job finished: its types' measured quality (merged into the report's options[].measured). */
  | { jobId: string; kind: 'measured'; measured: MeasuredByType }
  /**
   * `error` says what went wrong, or for a cancelled job what it kept (`common.cancelled`: nothing);
   * `kept` is a finished quantized file the job left behind, which can be registered without re-quantizing.
   */
  | { jobId: string; kind: 'error'; error: Message; cancelled: boolean; kept: KeptOutput | null };

/** A complete quantized GGUF a failed or cancelled fit kept, and the model name it was meant for. */
export interface KeptOutput {
  outputPath: string;
  modelName: string | null;
}

/** The one API the renderer sees (`window.quantfit`). */
export interface QuantfitApi {
  appInfo(): Promise<AppInfo>;
  hardware(): Promise<HardwareProfile>;
  inspectModel(path: string): Promise<ModelFileInfo>;
  recommend(path: string, ctx: number, opts: RecommendOptions): Promise<RecommendReport>;
  /** Native open dialog for a .gguf; null when cancelled. */
  pickModelFile(): Promise<string | null>;
  /** Native folder dialog for a Hugging Face model folder (config.json, *.safetensors); null when cancelled. */
  pickModelFolder(): Promise<string | null>;
  /** Native folder dialog; null when cancelled. */
  pickFolder(): Promise<string | null>;
  /** Native open dialog for an importance matrix (llama-imatrix .dat or .gguf); null when cancelled. */
  pickImatrixFile(): Promise<string | null>;
  /** The real path of a file dropped on the window (sync; preload only). */
  pathForDroppedFile(file: File): string;
  startFit(request: FitRequest): Promise<string>;
  /**
   * "Measure quality": quantizes `modelPath` (a GGUF file) to each of `types` (1–MEASURE_TYPES_MAX)
   * in a temp work folder and scores it against the original with llama.cpp, in the job process.
   * Returns the job id; progress and the `measured` result arrive as job messages; cancelJob cancels.
   */
  startMeasure(modelPath: string, types: string[]): Promise<string>;
  /** Why "Measure quality" cannot run on this model here (no llama.cpp, a model folder), or null when it can. */
  measureUnavailableReason(modelPath: string): Promise<Message | null>;
  /** The figures "Measure quality" kept for this model as it is now (none when it changed since), by type. */
  measuredFor(modelPath: string): Promise<MeasuredByType>;
  cancelJob(jobId: string): Promise<void>;
  /** Subscribe to job messages; returns the unsubscribe function. */
  onJobEvent(cb: (message: JobMessage) => void): () => void;
  /** Subscribe to application-menu commands (open a model, switch screens). */
  onMenuCommand(cb: (command: MenuCommand) => void): () => void;
  listModels(): Promise<OllamaModelSummary[]>;
  showModel(name: string): Promise<OllamaModelDetails>;
  deleteModel(name: string): Promise<void>;
  runningModels(): Promise<RunningModel[]>;
  getSettings(): Promise<Settings>;
  /** Applies a checked patch; the reply is the renderer's view (no token). */
  setSettings(patch: SettingsPatch): Promise<Settings>;
  /** Show a file or folder in the OS file manager. */
  openPath(path: string): Promise<void>;
  /** Open an allow-listed URL in the default browser. */
  openExternal(url: string): Promise<void>;
  copyText(text: string): Promise<void>;
  /** The local Ollama's models as sources for a fit (weight type, size, how good a source). */
  ollamaSources(): Promise<OllamaSourceEntry[]>;
  /** Pulls a model through Ollama's /api/pull (progress as job messages of SOURCE_JOB_ID; cancelJob cancels). */
  ollamaPull(name: string): Promise<void>;
  /** An Ollama model read in place (never copied): its blob's path and what the fit keeps from it. */
  openOllamaSource(name: string): Promise<OpenedSource>;
  /** A Hugging Face / ModelScope repo's files (repo id or URL), with the default pick. */
  hubListFiles(ref: string): Promise<HubRepoListing>;
  /** Downloads the files into the hub's cache (progress as job messages of SOURCE_JOB_ID; cancelJob cancels). */
  hubDownload(ref: string, files: string[]): Promise<OpenedSource>;
}

/** The job id of a hub download's progress messages (one download at a time). */
export const SOURCE_JOB_ID = 'job-source';

/** The request/response methods (everything except the preload-local ones). */
export type InvokeMethod = Exclude<keyof QuantfitApi, 'onJobEvent' | 'onMenuCommand' | 'pathForDroppedFile'>;

// A record, so the compiler insists every invoke method is listed exactly once.
const INVOKE_METHOD_SET: Record<InvokeMethod, true> = {
  appInfo: true, hardware: true, inspectModel: true, recommend: true, pickModelFile: true, pickModelFolder: true, pickFolder: true, pickImatrixFile: true,
  startFit: true, startMeasure: true, measureUnavailableReason: true, measuredFor: true, cancelJob: true, listModels: true, showModel: true, deleteModel: true, runningModels: true,
  getSettings: true, setSettings: true, openPath: true, openExternal: true, copyText: true,
  ollamaSources: true, ollamaPull: true, openOllamaSource: true, hubListFiles: true, hubDownload: true,
};
export const INVOKE_METHODS = Object.keys(INVOKE_METHOD_SET) as readonly InvokeMethod[];

/** One IPC channel per method; the name is derived so the two sides cannot drift. */
export const ipcChannel = (method: InvokeMethod): string => `quantfit:${method}`;
export const IPC_EVENT_CHANNEL = 'quantfit:job-message';
export const IPC_MENU_CHANNEL = 'quantfit:menu-command';

/** Application-menu commands the renderer acts on. */
export type MenuCommand = 'open-model' | 'show-home' | 'show-library' | 'show-settings';

/** Invoke replies are wrapped so the renderer gets the main process's message, not Electron's prefix. */
export type IpcReply<T> = { ok: true; value: T } | { ok: false; error: Message };

type Args<M extends InvokeMethod> = Parameters<QuantfitApi[M]>;
type Result<M extends InvokeMethod> = Awaited<ReturnType<QuantfitApi[M]>>;
export type ApiArgs<M extends InvokeMethod> = Args<M>;
export type ApiResult<M extends InvokeMethod> = Result<M>;

/** External links the app may open (exact origins and path prefixes). */
export const EXTERNAL_LINKS = {
  ollamaDownload: 'https://ollama.com/download',
  docs: 'https://github.com/quantfit/quantfit#readme',
} as const;

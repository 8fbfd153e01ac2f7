// The core services behind the IPC methods that need no window: hardware, GGUF inspection,
// recommendation, the Ollama library. No electron import — main.ts and the e2e bridge both use it.
import { stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { FitRequest, JobKind, Message, ModelFileInfo, RecommendOptions, EditableSettings } from '../../src-shared/contract.ts';
import type { RecommendReport } from '../core/advisor/types.ts';
import { quantizerPlanner } from '../core/advisor/planner.ts';
import { advise } from '../core/advisor/recommend.ts';
import { architecture, kvArch, kvNumber, kvString, toNumber } from '../core/gguf/metadata.ts';
import { ggmlTypeName } from '../core/gguf/ggml-types.ts';
import { readModelHeader } from '../core/convert/model.ts';
import { loadImatrix } from '../core/imatrix/index.ts';
import { defaultOutputName } from '../../src-shared/default-names.ts';
import { probeHardware } from '../core/hardware/probe.ts';
import type { HardwareProfile } from '../core/hardware/types.ts';
import { OllamaClient } from '../core/ollama/client.ts';
import { resolveOllamaHost } from '../core/ollama/host.ts';
import type { OllamaModelDetails, OllamaModelSummary, RunningModel } from '../core/ollama/types.ts';
import { ftypeById, parseFtype } from '../core/quant/ftypes.ts';
import type { FitJobInput, MeasureJobInput } from './job-protocol.ts';
import { findLlamaLibraries } from '../core/engine/llama.ts';
import { msg } from '../../src-shared/messages/index.ts';
import type { JobEvent } from '../core/progress.ts';
import type { MeasuredQuality } from '../../src-shared/types/advisor.ts';
import { tmpdir } from 'node:os';

const HARDWARE_TTL_MS = 30_000;
/** The recommendation waits this long at most for Ollama's version; no answer: no version rules. */
const VERSION_PROBE_MS = 1500;

export interface CoreServices {
  hardware(): Promise<HardwareProfile>;
  inspectModel(path: string): Promise<ModelFileInfo>;
  recommend(path: string, ctx: number, opts: RecommendOptions): Promise<RecommendReport>;
  listModels(): Promise<OllamaModelSummary[]>;
  showModel(name: string): Promise<OllamaModelDetails>;
  deleteModel(name: string): Promise<void>;
  runningModels(): Promise<RunningModel[]>;
}

/** Without general.file_type (llama2.c conversions), the type holding most of the bytes. */
function dominantTensorType(tensors: readonly { type: number; byteSize: number }[]): string | null {
  const bytesByType = new Map<number, number>();
  for (const t of tensors) bytesByType.set(t.type, (bytesByType.get(t.type) ?? 0) + t.byteSize);
  const top = [...bytesByType.entries()].sort((a, b) => b[1] - a[1])[0];
  return top ? ggmlTypeName(top[0]).toUpperCase() : null;
}

export async function inspectModelFile(path: string): Promise<ModelFileInfo> {
  const h = await readModelHeader(path);
  const arch = architecture(h) ?? null;
  const fileTypeId = kvNumber(h, 'general.file_type');
  const name = kvString(h, 'general.name') ?? null;
  let parameterCount = 0;
  for (const t of h.tensors) parameterCount += t.shape.reduce((a, b) => a * b, 1);
  const ctx = arch ? toNumber(kvArch(h, 'context_length')) : undefined;
  return {
    path,
    fileName: basename(path),
    fileBytes: h.fileSize,
    architecture: arch,
    name,
    fileType: (fileTypeId === undefined ? undefined : ftypeById(fileTypeId)?.name) ?? dominantTensorType(h.tensors),
    tensorCount: h.tensors.length,
    parameterCount,
    contextLength: ctx ?? null,
  };
}

/** Which host job a request needs: quantize only, or the whole fit into Ollama. */
export function jobKindFor(request: FitRequest): JobKind {
  return request.register === false ? 'quantize' : 'fit';
}

/**
 * Resolve a validated request into the job's input: the output file goes to the request's folder,
 * else the settings' folder, else beside the model, with the CLI's name `<model>.<TYPE>.gguf`.
 */
export function resolveJobInput(request: FitRequest, settings: EditableSettings, sourceOutputDir: string = homedir()): FitJobInput {
  const type = parseFtype(request.type).name;
  // A model from Ollama or a hub cache is never written next to: those folders are theirs.
  const dir = request.outputDir ?? settings.outputDir ?? (request.source ? sourceOutputDir : dirname(request.modelPath));
  return {
    request: { ...request, type },
    outputPath: join(dir, defaultOutputName(request.source?.stem ?? request.modelPath, type)),
    ollamaHost: settings.ollamaHost,
    threads: settings.threads,
  };
}

/** Reads an importance matrix once per file version, so a bad file is refused before the fit starts. */
function imatrixChecker(): (path: string) => Promise<void> {
  let last: { key: string; loaded: Promise<void> } | null = null;
  return async (path) => {
    const st = await stat(path);
    const key = `${path}\0${st.size}\0${st.mtimeMs}`;
    if (last?.key !== key) {
      const loaded = loadImatrix(path).then(() => undefined);
      last = { key, loaded };
      loaded.catch(() => (last = null));
    }
    return last.loaded;
  };
}

export function createCoreServices(getSettings: () => EditableSettings): CoreServices {
  // The slider re-asks for every context length; the machine does not change that fast.
  let probed: { at: number; profile: Promise<HardwareProfile> } | null = null;
  const hardwareCached = (): Promise<HardwareProfile> => {
    if (!probed || Date.now() - probed.at > HARDWARE_TTL_MS) {
      const profile = probe();
      probed = { at: Date.now(), profile };
      profile.catch(() => (probed = null));
    }
    return probed.profile;
  };
  const probe = (): Promise<HardwareProfile> => {
    const dir = getSettings().outputDir;
    return probeHardware(dir ? { outputDir: dir } : {});
  };
  const checkImatrix = imatrixChecker();
  const client = (): OllamaClient => new OllamaClient(resolveOllamaHost({ explicit: getSettings().ollamaHost }));
  // As the fit job does: a type the user's Ollama cannot load is never recommended. The slider
  // re-asks often, so the version is asked once per host and TTL.
  let versioned: { at: number; host: string; version: Promise<string | null> } | null = null;
  const ollamaVersion = (): Promise<string | null> => {
    const c = client();
    if (!versioned || versioned.host !== c.host.url || Date.now() - versioned.at > HARDWARE_TTL_MS) {
      versioned = { at: Date.now(), host: c.host.url, version: c.probeVersion({ timeoutMs: VERSION_PROBE_MS }) };
    }
    return versioned.version;
  };
  return {
    hardware: () => {
      probed = null;
      return hardwareCached();
    },
    inspectModel: inspectModelFile,
    recommend: async (path, ctx, opts) => {
      const [header, hardware, version] = await Promise.all([
        readModelHeader(path), hardwareCached(), ollamaVersion(), opts.imatrixPath ? checkImatrix(opts.imatrixPath) : null,
      ]);
      const { skipped: _skipped, ...report } = advise(header, hardware, { planner: quantizerPlanner, hasImatrix: Boolean(opts.imatrixPath), ctx, ollamaVersion: version });
      return report;
    },
    listModels: () => client().listModels(),
    showModel: (name) => client().showModel(name),
    deleteModel: (name) => client().deleteModel(name),
    runningModels: () => client().runningModels(),
  };
}

export interface MeasureRun {
  readonly signal?: AbortSignal;
  readonly onEvent?: (e: JobEvent) => void;
  readonly threads?: number | null;
  /** Where the work folder goes (one quantized copy at a time; removed at the end). Default: the system's temp folder. */
  readonly workDir?: string;
}

/**
 * The app's "Measure quality": the same core measurement as `recommend --measure` (each type
 * quantized in a temp work folder, scored against the original over the shipped calibration text),
 * keyed by type name. Runs in the job host; `types` were checked by ipc-validate.
 */
export async function measureQuality(modelPath: string, types: readonly string[], run: MeasureRun = {}): Promise<Record<string, MeasuredQuality>> {
  const { measureTypes } = await import('../core/engine/measure.ts');
  const { readCalibrationText } = await import('../core/engine/text.ts');
  const { defaultCalibrationTextPath } = await import('../core/engine/calibration.ts');
  const { text, file } = await readCalibrationText(defaultCalibrationTextPath());
  const measured = await measureTypes(modelPath, types, {
    text, textFile: file, workDir: run.workDir ?? tmpdir(),
    ...(run.threads ? { threads: run.threads } : {}), ...(run.signal ? { signal: run.signal } : {}), ...(run.onEvent ? { onEvent: run.onEvent } : {}),
  });
  return Object.fromEntries(measured);
}

/**
 * A measure job's input: the work folder goes to the settings' output folder, else `fallbackDir`
 * (the system's temp folder, as `recommend --measure`); threads from the settings.
 */
export function resolveMeasureInput(modelPath: string, types: readonly string[], settings: EditableSettings, fallbackDir: string = tmpdir()): MeasureJobInput {
  return { modelPath, types: [...types], workDir: settings.outputDir ?? fallbackDir, threads: settings.threads };
}

/**
 * Why "Measure quality" cannot run on `modelPath` here, or null when it can: the llama.cpp the job will
 * load ($QUANTFIT_LLAMA_LIB_DIR's, else node-llama-cpp's prebuilt one) must be installed (a GGUF file or a Hugging Face folder, which the measurement converts for
 * llama.cpp in its work folder). Only looks for the library's files: loading it is the job process's
 * business, never the main process's.
 */
export async function measureUnavailableReason(_modelPath: string): Promise<Message | null> {
  const llama = findLlamaLibraries();
  return 'unavailable' in llama ? msg('measure.noEngine', { reason: llama.unavailable }) : null;
}

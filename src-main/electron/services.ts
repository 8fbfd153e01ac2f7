// The core services behind the IPC methods that need no window: hardware, GGUF inspection,
// recommendation, the Ollama library. No electron import — main.ts and the e2e bridge both use it.
import { basename, dirname, extname, join } from 'node:path';
import type { FitRequest, JobKind, ModelFileInfo, RecommendOptions, Settings } from '../contract.ts';
import type { RecommendReport } from '../core/advisor/types.ts';
import { quantizerPlanner } from '../core/advisor/planner.ts';
import { advise } from '../core/advisor/recommend.ts';
import { architecture, kvArch, kvNumber, kvString, toNumber } from '../core/gguf/metadata.ts';
import { ggmlTypeName } from '../core/gguf/ggml-types.ts';
import { readGgufHeader } from '../core/gguf/reader.ts';
import { probeHardware } from '../core/hardware/probe.ts';
import type { HardwareProfile } from '../core/hardware/types.ts';
import { OllamaClient } from '../core/ollama/client.ts';
import { resolveOllamaHost } from '../core/ollama/host.ts';
import type { OllamaModelDetails, OllamaModelSummary, RunningModel } from '../core/ollama/types.ts';
import { ftypeById, parseFtype } from '../core/quant/ftypes.ts';
import type { JobInput } from './job-protocol.ts';

const HARDWARE_TTL_MS = 30_000;

export interface CoreServices {
  hardware(): Promise<HardwareProfile>;
  inspectModel(path: string): Promise<ModelFileInfo>;
  recommend(path: string, ctx: number, opts: RecommendOptions): Promise<RecommendReport>;
  listModels(): Promise<OllamaModelSummary[]>;
  showModel(name: string): Promise<OllamaModelDetails>;
  deleteModel(name: string): Promise<void>;
  runningModels(): Promise<RunningModel[]>;
}

/** An Ollama-safe model name from a file or model name: lower case, [a-z0-9._-], at most 60 chars. */
export function suggestModelName(source: string): string {
  const s = source
    .toLowerCase()
    .replace(/\.gguf$/, '')
    // Drop a trailing precision/quant suffix such as "-f16" or ".Q8_0": the new type is appended later.
    .replace(/[-._](f32|f16|bf16|q\d[a-z0-9_]*|iq\d[a-z0-9_]*)$/i, '')
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .replace(/[-._]+$/, '')
    .slice(0, 60)
    .replace(/[-._]+$/, '');
  return s.length > 0 ? s : 'model';
}

/** Without general.file_type (llama2.c conversions), the type holding most of the bytes. */
function dominantTensorType(tensors: readonly { type: number; byteSize: number }[]): string | null {
  const bytesByType = new Map<number, number>();
  for (const t of tensors) bytesByType.set(t.type, (bytesByType.get(t.type) ?? 0) + t.byteSize);
  const top = [...bytesByType.entries()].sort((a, b) => b[1] - a[1])[0];
  return top ? ggmlTypeName(top[0]).toUpperCase() : null;
}

export async function inspectModelFile(path: string): Promise<ModelFileInfo> {
  const h = await readGgufHeader(path);
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
    suggestedName: suggestModelName(name ?? basename(path)),
  };
}

/** Which host job a request needs: quantize only, or the whole fit into Ollama. */
export function jobKindFor(request: FitRequest): JobKind {
  return request.register ? 'fit' : 'quantize';
}

/**
 * Resolve a validated request into the job's input: the output file goes to the request's folder,
 * else the settings' folder, else beside the model, named `<model>-<TYPE>.gguf`.
 */
export function resolveJobInput(request: FitRequest, settings: Settings): JobInput {
  const type = parseFtype(request.type).name;
  const dir = request.outputDir ?? settings.outputDir ?? dirname(request.modelPath);
  const stem = basename(request.modelPath, extname(request.modelPath)).replace(/[-._](f32|f16|bf16)$/i, '');
  let outputPath = join(dir, `${stem}-${type}.gguf`);
  if (outputPath === request.modelPath) outputPath = join(dir, `${stem}-${type}.requantized.gguf`);
  return { request: { ...request, type }, outputPath, ollamaHost: settings.ollamaHost, threads: settings.threads };
}

export function createCoreServices(getSettings: () => Settings): CoreServices {
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
  const client = (): OllamaClient => new OllamaClient(resolveOllamaHost({ explicit: getSettings().ollamaHost }));
  return {
    hardware: () => {
      probed = null;
      return hardwareCached();
    },
    inspectModel: inspectModelFile,
    recommend: async (path, ctx, opts) => {
      const [header, hardware] = await Promise.all([readGgufHeader(path), hardwareCached()]);
      const { skipped: _skipped, ...report } = advise(header, hardware, { planner: quantizerPlanner, hasImatrix: Boolean(opts.imatrixPath), ctx });
      return report;
    },
    listModels: () => client().listModels(),
    showModel: (name) => client().showModel(name),
    deleteModel: (name) => client().deleteModel(name),
    runningModels: () => client().runningModels(),
  };
}

// One entry point from "what the user named" to "a local file or folder to open": a path is used as
// it is; `ollama:NAME` becomes the blob Ollama keeps (read in place); `hf:`/`modelscope:` are
// downloaded into the hub's own cache (or found there). What to do with the local path (read a GGUF,
// convert a Hugging Face folder) is the caller's business.

import { stat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import type { OllamaClient } from '../ollama/client.ts';
import type { JobEvent } from '../progress.ts';
import type { HubSettings } from './hub.ts';
import type { OllamaSourceInfo } from './ollama.ts';
import { defaultNameFromOllama } from '../../../src-shared/source-names.ts';
import { formatModelReference, parseModelReference, type HubName, type ModelReference } from './reference.ts';
import { defaultModelName } from '../jobs/default-names.ts';
import type { FitSource } from '../../../src-shared/types/fit.ts';

export type ModelOrigin =
  | { readonly type: 'path' }
  | { readonly type: 'ollama'; readonly name: string; readonly host: string; readonly digest: string | null }
  | {
      readonly type: 'hub';
      readonly hub: HubName;
      readonly repo: string;
      readonly revision: string;
      readonly commit: string;
      readonly endpoint: string;
      /** The repo files that make up the model (downloaded or found in the cache). */
      readonly files: readonly string[];
      /** Bytes fetched by this call (0 when everything was in the cache). */
      readonly downloadedBytes: number;
    };

export interface ResolvedModel {
  /** The reference as written back in its short form. */
  readonly reference: string;
  /** A local GGUF file, or a folder in the Hugging Face layout (config.json + safetensors). */
  readonly path: string;
  readonly kind: 'gguf-file' | 'hf-folder';
  readonly origin: ModelOrigin;
  /** For `ollama:` sources: what a model made from it keeps (template, system, parameters, licence). */
  readonly ollama?: OllamaSourceInfo;
  /**
   * A name for outputs made from it (`qwen2.5-0.5b-instruct`, `stories260K`): the file stem for a path,
   * the repo or Ollama model name otherwise (a blob's `sha256-…` would make a poor file name).
   */
  readonly stem: string;
  /** The folder outputs go to by default: next to a path; the current folder for anything kept by Ollama or a hub cache. */
  readonly outputDir: string;
}

export interface ResolveOptions {
  readonly signal?: AbortSignal;
  readonly onEvent?: (e: JobEvent) => void;
  /** `ollama:` only: pull through `/api/pull` first. */
  readonly pull?: boolean;
  /** `ollama:` only: the user's explicit Ollama host. */
  readonly ollamaHost?: string;
  readonly ollamaClient?: OllamaClient;
  /** Hub endpoints, tokens and cache folders (default: from the environment). */
  readonly hub?: Partial<HubSettings>;
  /** Hub repos: the files to fetch (repo paths); default: the best GGUF, or the whole safetensors model. */
  readonly files?: readonly string[];
  /** Where outputs go by default for sources that are not plain paths (default: the current folder). */
  readonly workDir?: string;
}

async function kindOfPath(path: string): Promise<'gguf-file' | 'hf-folder'> {
  try {
    return (await stat(path)).isDirectory() ? 'hf-folder' : 'gguf-file';
  } catch {
    // Missing: the opener says so in its own words.
    return 'gguf-file';
  }
}

function pathStem(path: string): string {
  const base = basename(path.replace(/[\\/]+$/, ''));
  return base.toLowerCase().endsWith('.gguf') && base.length > 5 ? base.slice(0, -5) : base;
}

/** Resolves a model reference (text or parsed) to a local path plus where it came from. */
export async function resolveModelReference(ref: string | ModelReference, opts: ResolveOptions = {}): Promise<ResolvedModel> {
  const parsed = typeof ref === 'string' ? parseModelReference(ref) : ref;
  const reference = formatModelReference(parsed);
  const workDir = resolve(opts.workDir ?? process.cwd());
  switch (parsed.kind) {
    case 'path': {
      const path = resolve(parsed.path);
      const kind = await kindOfPath(path);
      return { reference, path, kind, origin: { type: 'path' }, stem: pathStem(path), outputDir: dirname(path) };
    }
    case 'ollama': {
      // Loaded here: a plain path (most runs) never needs the Ollama or hub clients.
      const { resolveOllamaSource } = await import('./ollama.ts');
      const r = await resolveOllamaSource(parsed.name, {
        ...(opts.signal ? { signal: opts.signal } : {}),
        ...(opts.onEvent ? { onEvent: opts.onEvent } : {}),
        ...(opts.pull ? { pull: true } : {}),
        ...(opts.ollamaHost !== undefined ? { host: opts.ollamaHost } : {}),
        ...(opts.ollamaClient ? { client: opts.ollamaClient } : {}),
      });
      const n = r.info.name;
      return {
        reference,
        path: r.path,
        kind: 'gguf-file',
        origin: { type: 'ollama', name: n, host: r.host, digest: r.digest },
        ollama: r.info,
        stem: n.replace(/^.*\//, '').replace(':', '-'),
        outputDir: workDir,
      };
    }
    case 'hub': {
      const { resolveHubSource } = await import('./hub.ts');
      const r = await resolveHubSource(parsed, {
        ...(opts.signal ? { signal: opts.signal } : {}),
        ...(opts.onEvent ? { onEvent: opts.onEvent } : {}),
        ...(opts.hub ? { settings: opts.hub } : {}),
        ...(opts.files ? { files: opts.files } : {}),
      });
      return {
        reference,
        path: r.path,
        kind: r.kind,
        origin: { type: 'hub', hub: parsed.hub, repo: parsed.repo, revision: r.revision, commit: r.commit, endpoint: r.endpoint, files: r.files, downloadedBytes: r.downloadedBytes },
        stem: r.kind === 'gguf-file' ? pathStem(r.path) : parsed.repo.split('/')[1]!,
        outputDir: workDir,
      };
    }
  }
}

/** What a fit needs to know about a source that is not a plain file of the user's (null for a path). */
export function fitSourceOf(model: ResolvedModel): FitSource | null {
  if (model.origin.type === 'path') return null;
  const o = model.ollama;
  return o
    ? { stem: model.stem, ollamaName: o.name, template: o.template, system: o.system, parameters: { ...o.parameters }, license: [...o.license] }
    : { stem: model.stem };
}

/** The default Ollama name of a model of `type` made from this source. */
export function defaultModelNameFor(model: ResolvedModel, type: string): string {
  if (model.origin.type === 'ollama') return defaultNameFromOllama(model.origin.name, type);
  return defaultModelName(model.stem, type);
}

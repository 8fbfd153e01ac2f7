// The app's model sources behind the IPC: the local Ollama's models (read in place) and Hugging Face /
// ModelScope repos (listed, then downloaded into the hub's cache with progress pushed as job messages
// of SOURCE_JOB_ID). No electron import: main.ts and the e2e bridge both use it. Downloads are I/O
// (the checksum is streamed), so they run here rather than in the quantizer's utility process.

import { SOURCE_JOB_ID, type HubRepoListing, type JobMessage, type OllamaSourceEntry, type OpenedSource, type QuantfitApi } from '../../src-shared/contract.ts';
import { CancelledError, QuantfitError } from '../core/errors.ts';
import { OllamaClient } from '../core/ollama/client.ts';
import { resolveOllamaHost } from '../core/ollama/host.ts';
import { listHubRepo } from '../core/sources/hub.ts';
import type { HubSettings } from '../core/sources/hub-settings.ts';
import type { StoredSettings } from './settings-schema.ts';
import { ollamaSourceGrade } from '../core/sources/ollama.ts';
import { parseModelReference, type ModelReference } from '../core/sources/reference.ts';
import { fitSourceOf, resolveModelReference, type ResolvedModel } from '../core/sources/resolve.ts';

/** The app's hub settings over the environment ('' = what the environment says). */
export function hubSettingsOf(s: StoredSettings): Partial<HubSettings> {
  return {
    ...(s.hfEndpoint ? { hfEndpoint: s.hfEndpoint } : {}),
    ...(s.hfToken ? { hfToken: s.hfToken } : {}),
    ...(s.modelscopeEndpoint ? { modelscopeEndpoint: s.modelscopeEndpoint } : {}),
    ...(s.modelscopeToken ? { modelscopeToken: s.modelscopeToken } : {}),
  };
}

export function hubReference(ref: string): Extract<ModelReference, { kind: 'hub' }> {
  const parsed = parseModelReference(ref.includes(':') ? ref : `hf:${ref}`);
  if (parsed.kind !== 'hub') throw new QuantfitError(`'${ref}' is not a Hugging Face or ModelScope repository`, {}, { code: 'sources.ref.badRepo', params: { ref } });
  return parsed;
}

function opened(model: ResolvedModel): OpenedSource {
  return { path: model.path, label: model.reference, source: fitSourceOf(model) ?? { stem: model.stem } };
}

/** cancelJob's routing, for main.ts and the e2e bridge alike: SOURCE_JOB_ID is the one download or pull, any other id a job. */
export function cancelJobOrSource(id: string, jobs: { cancel(id: string): void }, sources: Pick<SourceServices, 'cancelDownload'>): void {
  if (id === SOURCE_JOB_ID) sources.cancelDownload();
  else jobs.cancel(id);
}

/** The source half of the IPC API (Ollama models, hub repos), wired alike by main.ts and the e2e bridge. */
export function sourceApi(sources: SourceServices): Pick<QuantfitApi, 'ollamaSources' | 'openOllamaSource' | 'ollamaPull' | 'hubListFiles' | 'hubDownload'> {
  return {
    ollamaSources: () => sources.ollamaSources(),
    openOllamaSource: (name) => sources.openOllamaSource(name),
    ollamaPull: (name) => sources.ollamaPull(name),
    hubListFiles: (ref) => sources.hubListFiles(ref),
    hubDownload: (ref, files) => sources.hubDownload(ref, files),
  };
}

export class SourceServices {
  private download: AbortController | null = null;

  constructor(
    private readonly settings: () => StoredSettings,
    private readonly push: (m: JobMessage) => void,
    /** Hub settings that win over the app's (tests: the hub cache folder). */
    private readonly overrides: Partial<HubSettings> = {},
  ) {}

  private client(): OllamaClient {
    return new OllamaClient(resolveOllamaHost({ explicit: this.settings().ollamaHost }));
  }

  async ollamaSources(): Promise<OllamaSourceEntry[]> {
    const models = await this.client().listModels();
    return models.map((m) => ({
      name: m.name,
      sizeBytes: m.sizeBytes,
      quantization: m.quantization,
      family: m.family,
      parameterSize: m.parameterSize,
      grade: ollamaSourceGrade(m.quantization),
    }));
  }

  async openOllamaSource(name: string): Promise<OpenedSource> {
    return opened(await resolveModelReference({ kind: 'ollama', name }, { ollamaClient: this.client() }));
  }

  /** Pulls through the local Ollama, progress pushed as SOURCE_JOB_ID messages; one pull or download at a time. */
  async ollamaPull(name: string): Promise<void> {
    await this.exclusive(async (signal) => {
      await this.client().pullModel(name, { signal, stage: 'source', onEvent: (event) => this.push({ jobId: SOURCE_JOB_ID, kind: 'event', event }) });
    });
  }

  async hubListFiles(ref: string): Promise<HubRepoListing> {
    const parsed = hubReference(ref);
    const { listing, chosen, kind } = await listHubRepo(parsed, { settings: { ...hubSettingsOf(this.settings()), ...this.overrides } });
    return {
      hub: parsed.hub,
      repo: parsed.repo,
      revision: listing.revision,
      commit: listing.commit,
      files: listing.files.map((f) => ({ path: f.path, size: f.size })),
      chosen,
      kind,
    };
  }

  async hubDownload(ref: string, files: string[]): Promise<OpenedSource> {
    return this.exclusive(async (signal) => {
      const model = await resolveModelReference(hubReference(ref), {
        signal,
        files,
        hub: { ...hubSettingsOf(this.settings()), ...this.overrides },
        onEvent: (event) => this.push({ jobId: SOURCE_JOB_ID, kind: 'event', event }),
      });
      return opened(model);
    });
  }

  /** Runs one cancellable transfer (a download or a pull) at a time. */
  private async exclusive<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (this.download) throw new QuantfitError('a download is already running');
    const controller = new AbortController();
    this.download = controller;
    try {
      return await work(controller.signal);
    } catch (err) {
      if (controller.signal.aborted) throw new CancelledError();
      throw err;
    } finally {
      this.download = null;
    }
  }

  /** Cancels the running download (its partial file is kept for the next attempt). */
  cancelDownload(): void {
    this.download?.abort();
  }
}

// `ollama:NAME[:TAG]`: a model Ollama already has, read in place from the blob `/api/show` names in
// its modelfile (`FROM <models>/blobs/sha256-…`). That file is Ollama's: it is opened read-only and
// never copied or changed, so the source model stays exactly as it was. This only works when the
// server runs on this machine; a remote server's paths mean nothing here and are refused.

import { open } from 'node:fs/promises';
import { CancelledError, QuantfitError, throwIfAborted } from '../errors.ts';
import { OllamaClient } from '../ollama/client.ts';
import { resolveOllamaHost } from '../ollama/host.ts';
import { displayName, requireModelName } from '../ollama/names.ts';
import { requireServer } from '../ollama/register.ts';
import type { OllamaModelDetails } from '../ollama/types.ts';
import type { JobEvent } from '../progress.ts';

/** What the new model inherits from the Ollama model it was made from. */
export interface OllamaSourceInfo {
  /** Canonical `model:tag`. */
  readonly name: string;
  readonly template: string;
  readonly system: string;
  /** Options from the params layer (`stop` always a list). */
  readonly parameters: Readonly<Record<string, unknown>>;
  /** Licence texts (Ollama shows them joined; one entry here). */
  readonly license: readonly string[];
  /** `details.quantization_level` (`F16`, `Q4_K_M`). */
  readonly quantization: string | null;
  readonly family: string | null;
  readonly parameterSize: string | null;
}

export interface OllamaSourceOptions {
  readonly signal?: AbortSignal;
  readonly onEvent?: (e: JobEvent) => void;
  /** Pull the model through `/api/pull` first. */
  readonly pull?: boolean;
  /** The user's explicit host (--host, settings); else OLLAMA_HOST when local, else 127.0.0.1:11434. */
  readonly host?: string;
  readonly client?: OllamaClient;
}

/** Options Ollama keeps as lists even with one value. */
const LIST_PARAMETERS = new Set(['stop']);

/** `/api/show`'s `parameters` text (`%-30s %#v` per value) back into an options object. */
export function parseShownParameters(text: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Za-z0-9_]+)\s+(.*?)\s*$/.exec(line);
    if (!m) continue;
    const [, key, raw] = m as unknown as [string, string, string];
    let value: unknown = raw;
    if (raw.startsWith('"')) {
      try {
        value = JSON.parse(raw);
      } catch {
        value = raw.replace(/^"|"$/g, '');
      }
    } else if (raw === 'true' || raw === 'false') value = raw === 'true';
    else if (raw !== '' && Number.isFinite(Number(raw))) value = Number(raw);
    if (LIST_PARAMETERS.has(key)) out[key] = [...((out[key] as unknown[] | undefined) ?? []), value];
    else if (key in out) out[key] = [...(Array.isArray(out[key]) ? (out[key] as unknown[]) : [out[key]]), value];
    else out[key] = value;
  }
  return out;
}

/** The path after the first `FROM` of a modelfile `ollama show` wrote (quotes removed). */
export function modelfileFromPath(modelfile: string): string | null {
  for (const line of modelfile.split('\n')) {
    const m = /^FROM\s+(.+?)\s*$/i.exec(line);
    if (m) return m[1]!.replace(/^"(.*)"$/, '$1');
  }
  return null;
}

async function isGguf(path: string): Promise<'gguf' | 'other' | 'missing'> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch {
    return 'missing';
  }
  try {
    if (!(await fh.stat()).isFile()) return 'other';
    const head = Buffer.alloc(4);
    const { bytesRead } = await fh.read(head, 0, 4, 0);
    return bytesRead === 4 && head.toString('latin1') === 'GGUF' ? 'gguf' : 'other';
  } finally {
    await fh.close();
  }
}

function isNotFound(err: unknown): boolean {
  return err instanceof QuantfitError && /\(HTTP 404\)/.test(err.message);
}

/** Resolves `ollama:NAME` to the model's blob on this machine and what the new model inherits. */
export async function resolveOllamaSource(name: string, opts: OllamaSourceOptions = {}): Promise<{ path: string; digest: string | null; host: string; info: OllamaSourceInfo }> {
  const { signal, onEvent } = opts;
  const canonical = displayName(requireModelName(name));
  const client = opts.client ?? new OllamaClient(resolveOllamaHost({ explicit: opts.host }));
  const host = client.host.url;
  if (!client.host.loopback) {
    throw new QuantfitError(
      `ollama:${name} reads the model's weights from Ollama's own files, so the server must run on this machine; ${host} is another machine. Pull the model there with 'ollama pull', or export it as a GGUF file and give that path`,
      {},
      { code: 'sources.ollama.remoteHost', params: { name, host } },
    );
  }
  await requireServer(client, signal, { onEvent });
  if (opts.pull) {
    onEvent?.({ type: 'log', level: 'info', stage: 'source', message: `pulling ${canonical} through ${host}` });
    await client.pullModel(name, { signal, onEvent, stage: 'source' });
  }
  throwIfAborted(signal);
  let shown: OllamaModelDetails;
  try {
    shown = await client.showModel(name, { signal });
  } catch (err) {
    if (err instanceof CancelledError) throw err;
    if (isNotFound(err)) {
      throw new QuantfitError(
        `Ollama at ${host} has no model '${canonical}': pull it first (quantfit … --pull, or 'ollama pull ${canonical}'), or see 'quantfit models'`,
        {},
        { cause: err, code: 'sources.ollama.notFound', params: { name: canonical, host } },
      );
    }
    throw err;
  }
  const path = modelfileFromPath(shown.modelfile);
  if (path === null) {
    throw new QuantfitError(`Ollama's modelfile for '${canonical}' names no weights file (no FROM line)`, {}, { code: 'sources.ollama.noFrom', params: { name: canonical } });
  }
  const found = await isGguf(path);
  if (found === 'missing') {
    throw new QuantfitError(
      `Ollama keeps '${canonical}' in ${path}, which is not on this machine (is ${host} forwarded from another computer?); run Quantfit where Ollama runs`,
      { file: path },
      { code: 'sources.ollama.blobMissing', params: { name: canonical, path } },
    );
  }
  if (found === 'other') {
    throw new QuantfitError(`'${canonical}' is not stored as a GGUF model (Ollama's newer safetensors layout); it cannot be read as a GGUF`, { file: path }, { code: 'sources.ollama.notGguf', params: { name: canonical } });
  }
  const digest = /sha256[-:]([0-9a-f]{64})$/.exec(path)?.[1] ?? null;
  return {
    path,
    digest,
    host,
    info: {
      name: canonical,
      template: shown.template,
      system: shown.system,
      parameters: parseShownParameters(shown.parameters),
      license: shown.license !== '' ? [shown.license] : [],
      quantization: shown.quantization,
      family: shown.family,
      parameterSize: shown.parameterSize,
    },
  };
}

// Shared with the renderer (the name the app pre-fills is the CLI's).
export { defaultNameFromOllama, ollamaSourceGrade } from '../../../src-shared/source-names.ts';

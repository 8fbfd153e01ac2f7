// Model references as people write them: a path, `ollama:NAME[:TAG]`, `hf:ORG/REPO[@REVISION][/PATH]`,
// `modelscope:ORG/REPO[@REVISION][/PATH]`, or a huggingface.co / hf-mirror.com / modelscope.cn page or
// file URL. Pure parsing (no I/O), shared with the renderer: what the box in the app accepts is what
// the command line accepts.

import { parseModelName } from '../ollama/names.ts';
import { QuantfitError } from '../errors.ts';

export type HubName = 'huggingface' | 'modelscope';

export type ModelReference =
  | { readonly kind: 'path'; readonly path: string }
  /** `name` as Ollama displays it would accept it (`qwen2.5:7b-instruct-fp16`). */
  | { readonly kind: 'ollama'; readonly name: string }
  | {
      readonly kind: 'hub';
      readonly hub: HubName;
      /** `ORG/REPO`. */
      readonly repo: string;
      /** Branch, tag or commit; null = the hub's default (`main` on Hugging Face, `master` on ModelScope). */
      readonly revision: string | null;
      /** A file or folder inside the repo, `/`-separated; null = the whole repo (the files picked from it). */
      readonly path: string | null;
      /** The site a pasted URL named when it is a mirror (`https://hf-mirror.com`); null = the configured endpoint. */
      readonly endpoint: string | null;
    };

const HF_HOSTS = new Set(['huggingface.co', 'www.huggingface.co', 'hf.co']);
const HF_MIRROR_HOSTS = new Set(['hf-mirror.com']);
const MODELSCOPE_HOSTS = new Set(['modelscope.cn', 'www.modelscope.cn', 'modelscope.ai', 'www.modelscope.ai']);

/** A repo id part as the hubs allow it: letters, digits, `-`, `_`, `.`, not starting or ending with `-`/`.`. */
const REPO_PART = /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$/;

function bad(text: string, why: string, code: string): QuantfitError {
  return new QuantfitError(`model reference '${text}': ${why}`, {}, { code, params: { ref: text } });
}

/** A repo-relative path: no empty, `.` or `..` parts (it becomes a path under the cache). */
function cleanRepoPath(text: string, path: string): string | null {
  const trimmed = path.replace(/^\/+|\/+$/g, '');
  if (trimmed === '') return null;
  const parts = trimmed.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..' || p.includes('\\'))) {
    throw bad(text, `'${path}' is not a path inside the repository`, 'sources.ref.badPath');
  }
  return parts.join('/');
}

function hubRef(text: string, hub: HubName, org: string, name: string, revision: string | null, path: string | null, endpoint: string | null): ModelReference {
  if (!REPO_PART.test(org) || !REPO_PART.test(name)) {
    throw bad(text, `'${org}/${name}' is not a repository id (ORG/REPO)`, 'sources.ref.badRepo');
  }
  if (revision !== null && (revision === '' || /[\s\\]|\.\./.test(revision))) {
    throw bad(text, `'${revision}' is not a revision (a branch, tag or commit)`, 'sources.ref.badRevision');
  }
  return { kind: 'hub', hub, repo: `${org}/${name}`, revision, path: path === null ? null : cleanRepoPath(text, path), endpoint };
}

/** `ORG/REPO[@REVISION][/PATH]` (a revision `refs/pr/N` keeps its slashes). */
function parseHubSpec(text: string, hub: HubName, spec: string): ModelReference {
  const m = /^([^/@]+)\/([^/@]+)(?:@(refs\/pr\/\d+|[^/]+))?(?:\/(.*))?$/.exec(spec);
  if (!m) throw bad(text, 'expected ORG/REPO[@REVISION][/PATH]', 'sources.ref.badRepo');
  return hubRef(text, hub, m[1]!, m[2]!, m[3] ?? null, m[4] ?? null, null);
}

/** huggingface.co/ORG/REPO[/tree|blob|resolve/REV[/PATH]] */
function parseHfUrl(text: string, url: URL, endpoint: string | null): ModelReference {
  const parts = url.pathname.split('/').filter((p) => p !== '').map(decodeURIComponent);
  if (parts[0] === 'models') parts.shift();
  if (parts[0] === 'datasets' || parts[0] === 'spaces') throw bad(text, 'only model repositories can be fitted', 'sources.ref.notModel');
  if (parts.length < 2) throw bad(text, 'the URL names no repository', 'sources.ref.badRepo');
  const [org, name, verb, revision, ...rest] = parts;
  if (verb === undefined) return hubRef(text, 'huggingface', org!, name!, null, null, endpoint);
  if (!['tree', 'blob', 'resolve'].includes(verb) || revision === undefined) {
    throw bad(text, 'expected a repository page, or a /tree/, /blob/ or /resolve/ URL', 'sources.ref.badUrl');
  }
  return hubRef(text, 'huggingface', org!, name!, revision, rest.length > 0 ? rest.join('/') : null, endpoint);
}

/** modelscope.cn/models/ORG/REPO[/files|summary|/file/view/REV/PATH|/resolve/REV/PATH] */
function parseModelscopeUrl(text: string, url: URL): ModelReference {
  const parts = url.pathname.split('/').filter((p) => p !== '').map(decodeURIComponent);
  if (parts[0] !== 'models' || parts.length < 3) throw bad(text, 'expected a modelscope.cn/models/ORG/REPO URL', 'sources.ref.badUrl');
  const [, org, name, verb, ...rest] = parts;
  if (verb === undefined || verb === 'files' || verb === 'summary') {
    const revision = url.searchParams.get('Revision') ?? url.searchParams.get('revision');
    return hubRef(text, 'modelscope', org!, name!, revision, null, null);
  }
  if (verb === 'file' && rest[0] === 'view' && rest.length >= 3) return hubRef(text, 'modelscope', org!, name!, rest[1]!, rest.slice(2).join('/'), null);
  if (verb === 'resolve' && rest.length >= 2) return hubRef(text, 'modelscope', org!, name!, rest[0]!, rest.slice(1).join('/'), null);
  throw bad(text, 'expected a model page or a file URL', 'sources.ref.badUrl');
}

/** Parses a model reference; anything without a known prefix is a path. Throws on a malformed one. */
export function parseModelReference(input: string): ModelReference {
  const text = input.trim();
  if (text === '') throw bad(input, 'empty', 'sources.ref.empty');
  const prefix = /^([a-z]+):(.*)$/s.exec(text);
  const scheme = prefix?.[1]?.toLowerCase();
  if (scheme === 'ollama') {
    const name = prefix![2]!;
    if (parseModelName(name) === null) {
      throw bad(text, `'${name}' is not an Ollama model name (model[:tag])`, 'sources.ref.badOllamaName');
    }
    return { kind: 'ollama', name };
  }
  if (scheme === 'hf' || scheme === 'huggingface') return parseHubSpec(text, 'huggingface', prefix![2]!);
  if (scheme === 'modelscope' || scheme === 'ms') return parseHubSpec(text, 'modelscope', prefix![2]!);
  if (scheme === 'http' || scheme === 'https') {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw bad(text, 'not a valid URL', 'sources.ref.badUrl');
    }
    const host = url.hostname.toLowerCase();
    if (HF_HOSTS.has(host)) return parseHfUrl(text, url, null);
    if (HF_MIRROR_HOSTS.has(host)) return parseHfUrl(text, url, url.origin);
    if (MODELSCOPE_HOSTS.has(host)) return parseModelscopeUrl(text, url);
    throw bad(text, 'only huggingface.co, hf-mirror.com and modelscope.cn URLs are understood', 'sources.ref.unknownSite');
  }
  return { kind: 'path', path: text };
}

/** The reference written back in its short form (`hf:Qwen/Qwen2.5-0.5B@main/x.gguf`). */
export function formatModelReference(ref: ModelReference): string {
  switch (ref.kind) {
    case 'path':
      return ref.path;
    case 'ollama':
      return `ollama:${ref.name}`;
    case 'hub':
      return `${ref.hub === 'huggingface' ? 'hf' : 'modelscope'}:${ref.repo}${ref.revision !== null ? `@${ref.revision}` : ''}${ref.path !== null ? `/${ref.path}` : ''}`;
  }
}

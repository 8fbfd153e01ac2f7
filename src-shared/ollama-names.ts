// Ollama model names (`[host/][namespace/]model[:tag]`), checked the way the server checks them.
// Node-free: the app's renderer checks the name a user types with the same rules.

export const DEFAULT_REGISTRY = 'registry.ollama.ai';
export const DEFAULT_NAMESPACE = 'library';
export const DEFAULT_TAG = 'latest';

export interface ModelName {
  readonly host: string;
  readonly namespace: string;
  readonly model: string;
  readonly tag: string;
}

/** Allowed characters after the first one, and the inclusive length range, per name part. */
const PART_RULES: Record<keyof ModelName, { rest: RegExp; min: number; max: number }> = {
  host: { rest: /^[A-Za-z0-9_.:-]*$/, min: 1, max: 350 },
  namespace: { rest: /^[A-Za-z0-9_-]*$/, min: 1, max: 80 },
  model: { rest: /^[A-Za-z0-9_.-]*$/, min: 1, max: 80 },
  tag: { rest: /^[A-Za-z0-9_.-]*$/, min: 1, max: 80 },
};

function partValid(kind: keyof ModelName, value: string): boolean {
  const rule = PART_RULES[kind];
  if (value.length < rule.min || value.length > rule.max) return false;
  return /^[A-Za-z0-9_]$/.test(value[0]!) && rule.rest.test(value.slice(1));
}

/**
 * Splits a name into its four parts with Ollama's defaults filled in. Returns null when any part is
 * invalid (a separator with nothing after it, a bad character, a part too long).
 */
export function parseModelName(raw: string): ModelName | null {
  let s = raw;
  const scheme = s.indexOf('://');
  if (scheme >= 0) s = s.slice(scheme + 3);
  let tag = DEFAULT_TAG;
  const colon = s.lastIndexOf(':');
  // The tag is split off only when its ':' comes after the last '/' (so host:port/... stays whole).
  if (colon >= 0 && colon > s.lastIndexOf('/')) {
    tag = s.slice(colon + 1);
    s = s.slice(0, colon);
    if (tag === '') return null;
  }
  const parts = s.split('/');
  if (parts.length > 3) return null;
  const model = parts.pop()!;
  const namespace = parts.length > 0 ? parts.pop()! : DEFAULT_NAMESPACE;
  const host = parts.length > 0 ? parts.pop()! : DEFAULT_REGISTRY;
  const name: ModelName = { host, namespace, model, tag };
  for (const kind of Object.keys(PART_RULES) as Array<keyof ModelName>) {
    if (!partValid(kind, name[kind])) return null;
  }
  return name;
}

/** The shortest form Ollama displays (`model:tag`, `ns/model:tag`, `host/ns/model:tag`). */
export function displayName(name: ModelName): string {
  if (name.host.toLowerCase() !== DEFAULT_REGISTRY) return `${name.host}/${name.namespace}/${name.model}:${name.tag}`;
  if (name.namespace.toLowerCase() !== DEFAULT_NAMESPACE) return `${name.namespace}/${name.model}:${name.tag}`;
  return `${name.model}:${name.tag}`;
}

/** True when two names refer to the same model for Ollama (parts compared case-insensitively). */
export function sameModel(a: ModelName, b: ModelName): boolean {
  return (
    a.host.toLowerCase() === b.host.toLowerCase() &&
    a.namespace.toLowerCase() === b.namespace.toLowerCase() &&
    a.model.toLowerCase() === b.model.toLowerCase() &&
    a.tag.toLowerCase() === b.tag.toLowerCase()
  );
}

// One checker per setting, shared by the settings file loader (bad value → default) and the IPC
// validator (bad value → clear error).
import { isAbsolute } from 'node:path';
import { LANGUAGES, LIMITS, THEMES, type Settings } from '../../src-shared/contract.ts';

export type Check<T> = { ok: true; value: T } | { ok: false; why: string };

const ok = <T>(value: T): Check<T> => ({ ok: true, value });
const bad = (why: string): Check<never> => ({ ok: false, why });

export function checkOllamaHost(v: unknown): Check<string> {
  if (typeof v !== 'string') return bad('must be a string');
  const s = v.trim();
  if (s.length === 0 || s.length > LIMITS.urlChars) return bad(`must be 1–${LIMITS.urlChars} characters`);
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return bad(`'${s.slice(0, 80)}' is not a URL (expected e.g. http://127.0.0.1:11434)`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return bad('must start with http:// or https://');
  if (u.username || u.password) return bad('must not contain a user name or password');
  if (u.search || u.hash) return bad('must not contain a query or fragment');
  return ok(s.replace(/\/+$/, ''));
}

export function checkThreads(v: unknown): Check<number> {
  if (typeof v !== 'number' || !Number.isInteger(v)) return bad('must be a whole number');
  if (v < 0 || v > LIMITS.threadsMax) return bad(`must be between 0 (automatic) and ${LIMITS.threadsMax}`);
  return ok(v);
}

export function checkEnum<T extends string>(allowed: readonly T[]) {
  return (v: unknown): Check<T> =>
    typeof v === 'string' && (allowed as readonly string[]).includes(v)
      ? ok(v as T)
      : bad(`must be one of ${allowed.map((a) => `'${a}'`).join(', ')}`);
}

/** Shape only (absolute, bounded); whether the folder exists is checked where it is used. */
export function checkOutputDirShape(v: unknown): Check<string | null> {
  if (v === null) return ok(null);
  if (typeof v !== 'string') return bad('must be a folder path or null');
  if (v.length === 0 || v.length > LIMITS.pathChars) return bad(`must be 1–${LIMITS.pathChars} characters`);
  if (v.includes('\0')) return bad('must not contain NUL characters');
  if (!isAbsolute(v)) return bad('must be an absolute path');
  return ok(v);
}

/** A hub endpoint: '' (from the environment) or an http(s) base URL without credentials, query or fragment. */
export function checkHubEndpoint(v: unknown): Check<string> {
  if (v === '') return ok('');
  return checkOllamaHost(v);
}

/** A hub token: '' (from the environment) or one printable word. */
export function checkHubToken(v: unknown): Check<string> {
  if (typeof v !== 'string') return bad('must be a string');
  const s = v.trim();
  if (s.length > 512) return bad('must be at most 512 characters');
  if (!/^[\x21-\x7e]*$/.test(s)) return bad('must be one word of printable characters');
  return ok(s);
}

export const SETTINGS_CHECKS: { [K in keyof Settings]: (v: unknown) => Check<Settings[K]> } = {
  outputDir: checkOutputDirShape,
  ollamaHost: checkOllamaHost,
  threads: checkThreads,
  language: checkEnum(LANGUAGES),
  theme: checkEnum(THEMES),
  hfEndpoint: checkHubEndpoint,
  hfToken: checkHubToken,
  modelscopeEndpoint: checkHubEndpoint,
  modelscopeToken: checkHubToken,
};

export const SETTINGS_KEYS = Object.keys(SETTINGS_CHECKS) as Array<keyof Settings>;

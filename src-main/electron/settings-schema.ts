// One checker per setting, shared by the settings file loader (bad value → default) and the IPC
// validator (bad value → clear error).
import { isAbsolute } from 'node:path';
import { DEFAULT_EDITABLE_SETTINGS, LANGUAGES, LIMITS, THEMES, type EditableSettings, type HubTokens, type Settings } from '../../src-shared/contract.ts';
import type { Message, MessageParams } from '../../src-shared/message.ts';
import { msg, type MessageCode } from '../../src-shared/messages/index.ts';

/** `why` completes "setting '<name>' …" (the Settings screen shows it in the user's language). */
export type Check<T> = { ok: true; value: T } | { ok: false; why: Message };

const ok = <T>(value: T): Check<T> => ({ ok: true, value });
const bad = (code: MessageCode, params?: MessageParams): Check<never> => ({ ok: false, why: msg(code, params) });

export function checkOllamaHost(v: unknown): Check<string> {
  if (typeof v !== 'string') return bad('app.check.string');
  const s = v.trim();
  if (s.length === 0 || s.length > LIMITS.urlChars) return bad('app.check.length', { min: 1, max: LIMITS.urlChars });
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return bad('app.check.notUrl', { text: s.slice(0, 80) });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return bad('app.check.httpOnly');
  if (u.username || u.password) return bad('app.check.noCredentials');
  if (u.search || u.hash) return bad('app.check.noQuery');
  return ok(s.replace(/\/+$/, ''));
}

export function checkThreads(v: unknown): Check<number> {
  if (typeof v !== 'number' || !Number.isInteger(v)) return bad('app.check.wholeNumber');
  if (v < 0 || v > LIMITS.threadsMax) return bad('app.check.threads', { max: LIMITS.threadsMax });
  return ok(v);
}

export function checkEnum<T extends string>(allowed: readonly T[]) {
  return (v: unknown): Check<T> =>
    typeof v === 'string' && (allowed as readonly string[]).includes(v)
      ? ok(v as T)
      : bad('app.check.oneOf', { choices: allowed.map((a) => `'${a}'`).join(', ') });
}

/** Shape only (absolute, bounded); whether the folder exists is checked where it is used. */
export function checkOutputDirShape(v: unknown): Check<string | null> {
  if (v === null) return ok(null);
  if (typeof v !== 'string') return bad('app.check.folderOrNull');
  if (v.length === 0 || v.length > LIMITS.pathChars) return bad('app.check.length', { min: 1, max: LIMITS.pathChars });
  if (v.includes('\0')) return bad('app.check.noNul');
  if (!isAbsolute(v)) return bad('app.check.absolute');
  return ok(v);
}

/** A hub endpoint: '' (from the environment) or an http(s) base URL without credentials, query or fragment. */
export function checkHubEndpoint(v: unknown): Check<string> {
  if (v === '') return ok('');
  return checkOllamaHost(v);
}

/** A hub token: '' (from the environment) or one printable word. */
export function checkHubToken(v: unknown): Check<string> {
  if (typeof v !== 'string') return bad('app.check.string');
  const s = v.trim();
  if (s.length > 512) return bad('app.check.atMost', { max: 512 });
  if (!/^[\x21-\x7e]*$/.test(s)) return bad('app.check.oneWord');
  return ok(s);
}

/** The settings as the main process keeps them: with the hub tokens, which never leave this side. */
export type StoredSettings = EditableSettings & HubTokens;

export const DEFAULT_STORED_SETTINGS: StoredSettings = { ...DEFAULT_EDITABLE_SETTINGS, hfToken: '', modelscopeToken: '' };

/** What the renderer may see: every token replaced by whether one is saved. */
export function settingsView(s: StoredSettings): Settings {
  const { hfToken, modelscopeToken, ...editable } = s;
  return { ...editable, hfTokenSet: hfToken !== '', modelscopeTokenSet: modelscopeToken !== '' };
}

export const SETTINGS_CHECKS: { [K in keyof StoredSettings]: (v: unknown) => Check<StoredSettings[K]> } = {
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

export const SETTINGS_KEYS = Object.keys(SETTINGS_CHECKS) as Array<keyof StoredSettings>;

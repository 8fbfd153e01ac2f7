// Where the hubs are and who we are to them: endpoints, tokens and cache folders, from the settings
// the app stores or from the environment variables every tool shares (HF_ENDPOINT, HF_TOKEN,
// HF_HUB_CACHE/HF_HOME; MODELSCOPE_ENDPOINT/MODELSCOPE_DOMAIN, MODELSCOPE_API_TOKEN, MODELSCOPE_CACHE).
// Tokens are only ever put in Authorization headers: never in a message, a log line or an event.

import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface HubSettings {
  readonly hfEndpoint: string;
  readonly hfToken: string | null;
  /** The Hugging Face hub cache (`…/huggingface/hub`). */
  readonly hfCache: string;
  readonly modelscopeEndpoint: string;
  readonly modelscopeToken: string | null;
  /** ModelScope's cache (`~/.cache/modelscope/hub`, or MODELSCOPE_CACHE); models live in its `models/` folder. */
  readonly modelscopeCache: string;
  /** Connections per big file. */
  readonly connections: number;
  readonly fetch?: typeof fetch;
}

export const HF_DEFAULT_ENDPOINT = 'https://huggingface.co';
export const MODELSCOPE_DEFAULT_ENDPOINT = 'https://www.modelscope.cn';

type Env = Readonly<Record<string, string | undefined>>;

function nonEmpty(v: string | undefined | null): string | null {
  return v !== undefined && v !== null && v.trim() !== '' ? v.trim() : null;
}

/** huggingface_hub's order: HF_TOKEN, then the token file `$HF_HOME/token` that `huggingface-cli login` writes. */
function hfTokenFrom(env: Env, hfHome: string): string | null {
  const fromEnv = nonEmpty(env.HF_TOKEN) ?? nonEmpty(env.HUGGING_FACE_HUB_TOKEN);
  if (fromEnv) return fromEnv;
  try {
    return nonEmpty(readFileSync(nonEmpty(env.HF_TOKEN_PATH) ?? join(hfHome, 'token'), 'utf8'));
  } catch {
    return null;
  }
}

/** The settings from the environment, with any explicit values (the app's settings) on top. */
export function hubSettings(overrides: Partial<HubSettings> = {}, env: Env = process.env): HubSettings {
  const cacheHome = nonEmpty(env.XDG_CACHE_HOME) ?? join(homedir(), '.cache');
  const hfHome = nonEmpty(env.HF_HOME) ?? join(cacheHome, 'huggingface');
  const msEndpointEnv = nonEmpty(env.MODELSCOPE_ENDPOINT) ?? (nonEmpty(env.MODELSCOPE_DOMAIN) ? `https://${nonEmpty(env.MODELSCOPE_DOMAIN)!.replace(/^https?:\/\//, '')}` : null);
  const pick = <T>(v: T | null | undefined, fallback: T): T => (v === undefined || v === null || (typeof v === 'string' && v.trim() === '') ? fallback : v);
  return {
    hfEndpoint: pick(overrides.hfEndpoint, nonEmpty(env.HF_ENDPOINT) ?? HF_DEFAULT_ENDPOINT).replace(/\/+$/, ''),
    hfToken: pick(overrides.hfToken, hfTokenFrom(env, hfHome)),
    hfCache: pick(overrides.hfCache, nonEmpty(env.HF_HUB_CACHE) ?? nonEmpty(env.HUGGINGFACE_HUB_CACHE) ?? join(hfHome, 'hub')),
    modelscopeEndpoint: pick(overrides.modelscopeEndpoint, msEndpointEnv ?? MODELSCOPE_DEFAULT_ENDPOINT).replace(/\/+$/, ''),
    modelscopeToken: pick(overrides.modelscopeToken, nonEmpty(env.MODELSCOPE_API_TOKEN) ?? nonEmpty(env.MODELSCOPE_TOKEN)),
    modelscopeCache: pick(overrides.modelscopeCache, nonEmpty(env.MODELSCOPE_CACHE) ?? join(homedir(), '.cache', 'modelscope', 'hub')),
    connections: pick(overrides.connections, 4),
    ...(overrides.fetch ? { fetch: overrides.fetch } : {}),
  };
}

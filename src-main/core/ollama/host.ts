// Which Ollama server to talk to. Parsed like Ollama's own OLLAMA_HOST (no scheme → http, default port
// 11434; `http://h` → 80, `https://h` → 443). We only send models to this machine unless the user
// named another host explicitly (--host or the settings screen): an inherited OLLAMA_HOST pointing at
// another machine is refused, since uploading gigabytes to a surprise address is never what was meant.

import { isIP } from 'node:net';
import { quantfitError } from '../errors.ts';
import type { OllamaHost, OllamaHostSource } from './types.ts';

export const DEFAULT_OLLAMA_URL = 'http://127.0.0.1:11434';
const DEFAULT_PORT = '11434';

/** Parses an OLLAMA_HOST-style value into a base URL (no trailing slash) and its host name. */
export function parseHostValue(value: string): { url: string; hostname: string } {
  const s = value.trim();
  let scheme = 'http';
  let rest = s;
  let defaultPort = DEFAULT_PORT;
  const sep = s.indexOf('://');
  if (sep >= 0) {
    scheme = s.slice(0, sep).toLowerCase();
    rest = s.slice(sep + 3);
    if (scheme === 'http') defaultPort = '80';
    else if (scheme === 'https') defaultPort = '443';
    else throw quantfitError('ollama.error.scheme', { value });
  }
  const slash = rest.indexOf('/');
  const path = slash >= 0 ? rest.slice(slash).replace(/\/+$/, '') : '';
  const hostport = slash >= 0 ? rest.slice(0, slash) : rest;

  let host = hostport;
  let port = defaultPort;
  const bracketed = /^\[([^\]]*)\](?::(.*))?$/.exec(hostport);
  if (bracketed) {
    host = bracketed[1]!;
    if (bracketed[2] !== undefined) port = bracketed[2];
  } else if ((hostport.match(/:/g) ?? []).length === 1) {
    const i = hostport.indexOf(':');
    host = hostport.slice(0, i);
    port = hostport.slice(i + 1);
  }
  if (!/^\d+$/.test(port) || Number(port) > 65535) port = defaultPort;
  // An empty host (":8080") or a wildcard listen address means "this machine" to a client.
  if (host === '' || host === '0.0.0.0' || host === '::') host = '127.0.0.1';
  if (/[\s@]/.test(host)) throw quantfitError('ollama.error.hostName', { value });
  const shown = isIP(host) === 6 ? `[${host}]` : host;
  return { url: `${scheme}://${shown}:${port}${path}`, hostname: host.toLowerCase() };
}

/**
 * True for names and addresses that can only reach this machine. Not `*.localhost`: browsers keep
 * it local, but Node asks the system resolver, which may pass it on to DNS.
 */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || /^::ffff:127\./.test(h);
  return false;
}

export interface ResolveHostOptions {
  /** The user's explicit choice (--host, settings); may point at another machine. */
  readonly explicit?: string;
  /** Where OLLAMA_HOST is read from (default process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** Picks the host: explicit choice, else OLLAMA_HOST (loopback only), else 127.0.0.1:11434. */
export function resolveOllamaHost(options: ResolveHostOptions = {}): OllamaHost {
  const env = options.env ?? process.env;
  let value: string;
  let source: OllamaHostSource;
  if (options.explicit !== undefined && options.explicit.trim() !== '') {
    value = options.explicit;
    source = 'user';
  } else if (env.OLLAMA_HOST !== undefined && env.OLLAMA_HOST.trim() !== '') {
    value = env.OLLAMA_HOST;
    source = 'env';
  } else {
    return { url: DEFAULT_OLLAMA_URL, source: 'default', loopback: true };
  }
  const { url, hostname } = parseHostValue(value);
  const loopback = isLoopbackHost(hostname);
  if (!loopback && source !== 'user') {
    throw quantfitError('ollama.error.remoteEnv', { url });
  }
  return { url, source, loopback };
}

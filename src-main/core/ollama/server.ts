// Is Ollama there? Probe the server; if none answers, look for the `ollama` binary (PATH and the usual
// install locations) so the UI can offer to start `ollama serve`; if there is none, say how to get it.

import { spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { CancelledError, quantfitError, reasonOf, throwIfAborted } from '../errors.ts';
import type { Message } from '../../../src-shared/message.ts';
import { formatMessage, msg } from '../../../src-shared/messages/index.ts';
import type { OllamaClient } from './client.ts';
import type { OllamaServerStatus } from './types.ts';

export const OLLAMA_DOWNLOAD_URL = 'https://ollama.com/download';

/** How to get Ollama, as a message (INSTALL_MESSAGE is its English). */
export function installMessage(): Message {
  return msg('ollama.install', { url: OLLAMA_DOWNLOAD_URL });
}

export const INSTALL_MESSAGE = formatMessage(installMessage(), 'en');

export interface BinarySearchOptions {
  readonly platform?: NodeJS.Platform;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Test hook: whether a path is an executable file. */
  readonly isExecutable?: (path: string) => boolean;
}

function defaultIsExecutable(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, process.platform === 'win32' ? constants.F_OK : constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Where the official installers put the binary, per OS (checked after PATH). */
export function usualOllamaLocations(platform: NodeJS.Platform, env: Readonly<Record<string, string | undefined>>): string[] {
  if (platform === 'win32') {
    const local = env.LOCALAPPDATA ?? (env.USERPROFILE ? join(env.USERPROFILE, 'AppData', 'Local') : undefined);
    const out: string[] = [];
    if (local) out.push(join(local, 'Programs', 'Ollama', 'ollama.exe'));
    if (env.ProgramFiles) out.push(join(env.ProgramFiles, 'Ollama', 'ollama.exe'));
    return out;
  }
  if (platform === 'darwin') {
    return ['/Applications/Ollama.app/Contents/Resources/ollama', '/opt/homebrew/bin/ollama', '/usr/local/bin/ollama'];
  }
  return ['/usr/local/bin/ollama', '/usr/bin/ollama', '/snap/bin/ollama', ...(env.HOME ? [join(env.HOME, '.local', 'bin', 'ollama')] : [])];
}

/** The `ollama` executable to start, or null. */
export function findOllamaBinary(options: BinarySearchOptions = {}): string | null {
  const platform = options.platform ?? process.platform;
  const env = options.env ?? process.env;
  const isExecutable = options.isExecutable ?? defaultIsExecutable;
  const names = platform === 'win32' ? ['ollama.exe'] : ['ollama'];
  const pathVar = env.PATH ?? env.Path ?? '';
  const sep = platform === 'win32' ? ';' : platform === process.platform ? delimiter : ':';
  for (const dir of pathVar.split(sep)) {
    if (dir === '') continue;
    for (const n of names) {
      const candidate = join(dir, n);
      if (isExecutable(candidate)) return candidate;
    }
  }
  return usualOllamaLocations(platform, env).find((p) => isExecutable(p)) ?? null;
}

/** Running, stopped (binary found) or missing (install message). */
export async function probeServer(client: OllamaClient, options: BinarySearchOptions & { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<OllamaServerStatus> {
  const { host } = client;
  const version = await client.probeVersion(options);
  if (version !== null) return { state: 'running', host: host.url, version };
  const binary = findOllamaBinary(options);
  if (binary !== null) return { state: 'stopped', host: host.url, binary };
  return { state: 'missing', host: host.url, message: INSTALL_MESSAGE, installUrl: OLLAMA_DOWNLOAD_URL };
}

/**
 * Starts `<binary> serve` detached (it outlives us, as the Ollama app's server does) and waits until
 * `/api/version` answers. Refuses hosts on other machines: we can only start a server here.
 */
export async function startServer(
  client: OllamaClient,
  binary: string,
  opts: { timeoutMs?: number; signal?: AbortSignal; pollMs?: number; args?: readonly string[]; env?: Readonly<Record<string, string | undefined>> } = {},
): Promise<{ version: string; pid: number | undefined }> {
  const { host } = client;
  if (!host.loopback) throw quantfitError('ollama.error.startRemote', { url: host.url });
  throwIfAborted(opts.signal);
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const hostPort = new URL(host.url).host;
  let spawnError: Error | null = null;
  let exitCode: number | null = null;
  const child = spawn(binary, [...(opts.args ?? ['serve'])], {
    detached: true,
    stdio: 'ignore',
    env: { ...(opts.env ?? process.env), OLLAMA_HOST: hostPort },
    windowsHide: true,
  });
  child.on('error', (err) => (spawnError = err));
  child.on('exit', (code) => (exitCode = code ?? -1));
  child.unref();

  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (opts.signal?.aborted) {
      if (exitCode === null) child.kill();
      throw new CancelledError();
    }
    if (spawnError) throw quantfitError('ollama.error.startFailed', { binary, reason: reasonOf(spawnError) }, { file: binary }, spawnError);
    if (exitCode !== null) throw quantfitError('ollama.error.startExited', { binary, code: exitCode, hostPort }, { file: binary });
    const version = await client.probeVersion({ timeoutMs: 1000, signal: opts.signal });
    if (version !== null) return { version, pid: child.pid };
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 250));
  }
  // We started it and it never answered: do not leave it running behind the user's back.
  if (exitCode === null) child.kill();
  throw quantfitError('ollama.error.startSilent', { binary, url: host.url, seconds: Math.round(timeoutMs / 100) / 10 }, { file: binary });
}

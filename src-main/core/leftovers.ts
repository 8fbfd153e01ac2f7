// Leftovers of killed work: a job that is killed (the app quits, the OS kills it) runs no cleanup, so
// the temp files and work folders it made carry its pid in their names, and the next job sweeps
// those whose process is gone.

import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** A leftover this young is left alone even when its pid is not running here (another machine on a shared folder may be writing it). */
export const STALE_LEFTOVER_AGE_MS = 60_000;

/** True when process `pid` runs on this machine (under any user). */
export function processRunning(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // running, under another user
  }
}

export interface LeftoverPattern {
  /** Matches the names this kind of work makes; its first group is the maker's pid. */
  readonly name: RegExp;
  /** A temp file, or a work folder (removed with what it holds). */
  readonly kind: 'file' | 'directory';
}

/**
 * Removes the entries of `dir` that match `pattern`, whose process is no longer running and which
 * have not changed for a minute. Best effort; returns the paths removed.
 */
export async function sweepLeftovers(dir: string, pattern: LeftoverPattern, now: number = Date.now()): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const m = pattern.name.exec(name);
    if (!m || processRunning(Number(m[1]))) continue;
    const path = join(dir, name);
    const st = await stat(path).catch(() => null);
    if (st === null || now - st.mtimeMs < STALE_LEFTOVER_AGE_MS) continue;
    if (pattern.kind === 'file' ? !st.isFile() : !st.isDirectory()) continue;
    if (await rm(path, { recursive: pattern.kind === 'directory' }).then(() => true, () => false)) removed.push(path);
  }
  return removed;
}

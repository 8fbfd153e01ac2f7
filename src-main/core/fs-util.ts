// Small file-system helpers shared by the core and the CLI.

import { mkdir, rmdir, stat, statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import { quantfitError } from './errors.ts';

/** True when something (file or folder) exists at `path`. */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Folders a job made for its output, to remove again if the job does not finish. */
export interface MadeFolders {
  /** The folder asked for. */
  readonly dir: string;
  /** Removes the folders made (the deepest first), only while they are empty. */
  undo(): Promise<void>;
}

/**
 * Makes `dir` and its missing parents: null when it already existed. The caller maps errors to its
 * own message; on failure or cancel it calls undo() so a stopped job leaves no new empty folders.
 */
export async function makeFolders(dir: string): Promise<MadeFolders | null> {
  const first = await mkdir(dir, { recursive: true });
  if (first === undefined) return null;
  return {
    dir,
    async undo() {
      for (let at = dir; at.length >= first.length; at = dirname(at)) {
        if (!(await rmdir(at).then(() => true, () => false))) return;
        if (at === first) return;
      }
    },
  };
}

/** `dir` or its nearest existing ancestor; refused when that is a file (the folder cannot be made). */
export async function nearestFolder(dir: string): Promise<string> {
  for (let at = dir; ; at = dirname(at)) {
    const st = await stat(at).catch(() => null);
    if (st?.isDirectory() === true) return at;
    if (st !== null) throw quantfitError('fit.error.folderBlocked', { path: at }, { file: dir });
    if (dirname(at) === at) return at;
  }
}

/** Free bytes for an unprivileged writer in `dir`, or null when the file system does not say. */
export async function freeBytes(dir: string): Promise<number | null> {
  try {
    const s = await statfs(dir);
    const n = Number(s.bavail) * Number(s.bsize);
    return Number.isFinite(n) ? n : null;
  } catch {
    return null;
  }
}

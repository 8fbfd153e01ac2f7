// Small file-system helpers shared by the core and the CLI.

import { mkdir, rmdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

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

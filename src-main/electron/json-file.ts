// The app's small JSON files (settings, kept measurements): each write goes to a temp file that is
// renamed over the real one, so a crash leaves the old file or the new one, never half of either;
// writes run one after another in the order asked.

import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export class JsonFileWriter {
  private writing: Promise<void> = Promise.resolve();
  private seq = 0;

  constructor(readonly path: string) {}

  /** Queues `value` (as indented JSON); resolves when it is on disk, rejects when that write failed. */
  write(value: unknown, indent: number): Promise<void> {
    const text = `${JSON.stringify(value, null, indent)}\n`;
    const tmp = `${this.path}.${process.pid}.${++this.seq}.tmp`;
    const next = this.writing.then(async () => {
      await mkdir(dirname(this.path), { recursive: true });
      try {
        await writeFile(tmp, text, { encoding: 'utf8', flush: true });
        await rename(tmp, this.path);
      } catch (err) {
        await rm(tmp, { force: true });
        throw err;
      }
    });
    // A failed write must not wedge the queue for later ones.
    this.writing = next.catch(() => undefined);
    return next;
  }

  /** Resolves once every write requested so far is on disk. */
  flush(): Promise<void> {
    return this.writing;
  }
}

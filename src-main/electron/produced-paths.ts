// The files the app's own jobs produced this session: the only paths `openPath` may reveal.
// The renderer is untrusted; without this, a compromised page could ask main to hand any path on
// disk to the OS (and `shell.openPath` on a folder like `Calculator.app` launches it on macOS).
// No electron import, so it is unit-tested without Electron.
import { resolve } from 'node:path';
import type { JobMessage } from '../../src-shared/contract.ts';
import { quantfitError } from '../core/errors.ts';

export class ProducedPaths {
  private readonly paths = new Set<string>();

  /** Remember what a finished job wrote or registered (its GGUF and Modelfile). */
  note(message: JobMessage): void {
    if (message.kind !== 'done') return;
    this.paths.add(resolve(message.result.outputPath));
    if (message.result.modelfilePath) this.paths.add(resolve(message.result.modelfilePath));
  }

  has(path: string): boolean {
    return this.paths.has(resolve(path));
  }

  /** Throws unless `path` is one a job of this session produced. */
  assertProduced(path: string): string {
    if (!this.has(path)) throw quantfitError('app.notProduced', { path: path.slice(0, 200) });
    return path;
  }
}

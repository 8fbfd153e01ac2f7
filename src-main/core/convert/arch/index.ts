// The architectures Quantfit converts, one module each; anything else is refused by name.
import type { ArchModule } from './types.ts';
import { llama } from './llama.ts';

export const ARCHITECTURES: readonly ArchModule[] = [llama];

export function architectureFor(hfArch: string | undefined): ArchModule | undefined {
  return hfArch === undefined ? undefined : ARCHITECTURES.find((a) => a.hfArchitectures.includes(hfArch));
}

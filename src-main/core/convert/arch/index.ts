// The architectures Quantfit converts, one module each; anything else is refused by name.
import type { ArchModule } from './types.ts';
import { llama } from './llama.ts';
import { qwen2, qwen3, qwen3moe } from './qwen.ts';
import { gemma2, gemma3 } from './gemma.ts';
import { phi3 } from './phi3.ts';

export const ARCHITECTURES: readonly ArchModule[] = [llama, qwen2, qwen3, qwen3moe, gemma2, gemma3, phi3];

export function architectureFor(hfArch: string | undefined): ArchModule | undefined {
  return hfArch === undefined ? undefined : ARCHITECTURES.find((a) => a.hfArchitectures.includes(hfArch));
}

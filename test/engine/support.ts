// Shared fixtures of the engine tests: stories260K (a real tiny llama) and its quantized forms, made
// with our quantizer (byte-exact with llama-quantize), and a text to run them over.

import { formatMessage } from '../../src-shared/messages/index.ts';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { quantizeFile } from '../../src-main/core/quant/pipeline.ts';
import { findFtype } from '../../src-main/core/quant/ftypes.ts';
import { llamaUnavailableReason } from '../../src-main/core/engine/llama.ts';
import { repoRoot } from '../support/cli.ts';
import { tinyLlama, type SyntheticModel, type SyntheticTensor } from '../support/synthetic-gguf.ts';

export const STORIES = join(repoRoot, '..', 'shared', 'fixtures', 'stories260K.gguf');
export const STORIES_TEXT = join(repoRoot, 'test', 'fixtures', 'engine', 'little-stories.txt');

/** Why the engine tests cannot run here (no llama.cpp, or no stories260K), else undefined. */
export function engineSkip(): string | undefined {
  const llama = llamaUnavailableReason();
  if (llama) return formatMessage(llama, 'en');
  if (!existsSync(STORIES)) return `${STORIES} not found (the shared fixtures)`;
  return undefined;
}

export function storiesText(): string {
  return readFileSync(STORIES_TEXT, 'utf8');
}

/** `input` quantized to `type` into `dir`. */
export async function quantized(input: string, type: string, dir: string, name = 'model'): Promise<string> {
  const ftype = findFtype(type);
  if (!ftype) throw new Error(`unknown type ${type}`);
  const out = join(dir, `${name}-${type}.gguf`);
  if (!existsSync(out)) await quantizeFile(input, out, { ftype }, { threads: 2 });
  return out;
}

/** tinyLlama with a mixture-of-experts feed-forward (llama.cpp's llama architecture, Mixtral-style). */
export function tinyMoe(o: { nExpert?: number; nExpertUsed?: number; nVocab?: number } = {}): SyntheticModel {
  const nExpert = o.nExpert ?? 4;
  const base = tinyLlama({ nEmbd: 64, nLayer: 2, nFf: 96, nVocab: o.nVocab ?? 512, nCtx: 256 });
  const tensors: SyntheticTensor[] = [];
  for (const t of base.tensors) {
    const m = /^blk\.(\d+)\.ffn_(gate|down|up)\.weight$/.exec(t.name);
    if (!m) {
      tensors.push(t);
      continue;
    }
    if (m[2] === 'gate') tensors.push({ name: `blk.${m[1]}.ffn_gate_inp.weight`, shape: [64, nExpert] });
    tensors.push({ name: `blk.${m[1]}.ffn_${m[2]}_exps.weight`, shape: [...t.shape, nExpert] });
  }
  return { ...base, name: 'tiny-moe', hparams: { ...base.hparams, expert_count: nExpert, expert_used_count: o.nExpertUsed ?? 2 }, tensors };
}

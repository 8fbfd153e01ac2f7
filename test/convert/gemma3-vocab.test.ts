// Gemma 3 keeps only the real vocabulary's rows of token_embd (the converter's data[:n_vocab_real]):
// vocab_size with a tokenizer.model, tokenizer.json's vocabulary plus added tokens without one.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { planConversion } from '../../src-main/core/convert/plan.ts';
import { makeTempDir, removeTempDir } from '../support/synthetic-gguf.ts';
import { writeOtherFolder } from '../support/hf-folders.ts';

let root = '';
before(async () => { root = await makeTempDir('gemma3-vocab'); });
after(async () => { await removeTempDir(root); });

async function embdShape(dir: string): Promise<readonly number[]> {
  const conv = await planConversion(dir, { tokenizerKvs: [] });
  await conv.source.close();
  return conv.header.tensors.find((t) => t.name === 'token_embd.weight')!.shape;
}

test('with tokenizer.model: all vocab_size rows', async () => {
  const dir = await writeOtherFolder(join(root, 'spm'), { arch: 'Gemma3ForCausalLM', tied: true });
  assert.deepEqual(await embdShape(dir), [256, 32000]);
});

test('with tokenizer.json only: its vocabulary plus added tokens (fewer than the rows)', async () => {
  const dir = await writeOtherFolder(join(root, 'bpe'), { arch: 'Gemma3ForCausalLM', tied: true });
  await rm(join(dir, 'tokenizer.model'));
  const vocab = Object.fromEntries(Array.from({ length: 31990 }, (_, i) => [`t${i}`, i]));
  const added = Array.from({ length: 5 }, (_, i) => ({ id: 31990 + i, content: `<a${i}>`, special: true }));
  await writeFile(join(dir, 'tokenizer.json'), JSON.stringify({ model: { type: 'BPE', vocab, merges: [] }, added_tokens: added }));
  assert.deepEqual(await embdShape(dir), [256, 31995]);
});

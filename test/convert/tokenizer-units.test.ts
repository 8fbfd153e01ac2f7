// Pieces of the converter's behaviour that the oracle folders do not reach: merges given as [a, b]
// pairs (spaces written as U+0120), merges.txt, and the KV list's Python-dict semantics.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TokenizerFolder } from '../../src-main/core/convert/tokenizer/folder.ts';
import { KvList } from '../../src-main/core/convert/tokenizer/kv-list.ts';
import { SpecialVocab } from '../../src-main/core/convert/tokenizer/special-vocab.ts';
import { GgufValueType as T } from '../../src-main/core/gguf/types.ts';
import { writeFolder } from '../support/tokenizer-files.ts';

async function mergesOf(files: Record<string, string | object>): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'quantfit-tokunit-'));
  try {
    await writeFolder(dir, files);
    return (await SpecialVocab.load(new TokenizerFolder(dir), {}, { loadMerges: true })).merges;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('merges: "a b" strings as they are, [a, b] pairs joined with spaces inside parts as U+0120', async () => {
  assert.deepEqual(await mergesOf({ 'tokenizer.json': { model: { type: 'BPE', merges: ['Ġ t', 'h e'] } } }), ['Ġ t', 'h e']);
  assert.deepEqual(await mergesOf({ 'tokenizer.json': { model: { type: 'BPE', merges: [['Ġ', 't'], ['a b', 'c']] } } }), ['Ġ t', 'a\u0120b c']);
});

test('merges.txt when tokenizer.json has none: a #version line skipped, malformed lines dropped', async () => {
  assert.deepEqual(await mergesOf({ 'merges.txt': '#version: 0.2\r\nĠ t\nh e x\n\n  i n  \n' }), ['Ġ t', 'i n']);
  assert.deepEqual(await mergesOf({ 'merges.txt': 'a b\n' }), ['a b']);
});

test('KvList: a key set twice keeps its first place and takes the last value; empty strings and arrays are not written', () => {
  const kv = new KvList();
  kv.bool('a', true);
  kv.string('b', 'x');
  kv.bool('a', false);
  kv.string('c', '');
  kv.array('d', T.STRING, []);
  assert.deepEqual(kv.toArray(), [{ key: 'a', type: T.BOOL, value: false }, { key: 'b', type: T.STRING, value: 'x' }]);
});

test("pre-tokenizer names from real tokenizer.json files: the converter's chktxt hashes, BOS from the post-processor included", async () => {
  const { Tokenizer } = await import('@huggingface/tokenizers');
  const { readFile } = await import('node:fs/promises');
  const { preTokenizerName } = await import('../../src-main/core/convert/tokenizer/bpe-vocab.ts');
  const { lenmlTokenizerDir } = await import('../support/tokenizer-files.ts');
  const load = async (name: 'qwen3' | 'llama3'): Promise<Record<string, unknown>> =>
    JSON.parse(await readFile(join(lenmlTokenizerDir(name), 'tokenizer.json'), 'utf8')) as Record<string, unknown>;
  const name = (tj: Record<string, unknown>): string => preTokenizerName(new Tokenizer(tj, {}), 'tokenizer.json');
  assert.equal(name(await load('qwen3')), 'qwen2');
  const llama3 = await load('llama3');
  // This early Llama 3 tokenizer.json adds no BOS (post-processor ByteLevel only): the Smaug hash.
  assert.equal(name(llama3), 'smaug-bpe');
  // Meta's later file adds <|begin_of_text|> through TemplateProcessing: Meta-Llama-3-8B's hash.
  const bos = { SpecialToken: { id: '<|begin_of_text|>', type_id: 0 } };
  llama3.post_processor = {
    type: 'Sequence',
    processors: [
      { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
      {
        type: 'TemplateProcessing',
        single: [bos, { Sequence: { id: 'A', type_id: 0 } }],
        pair: [bos, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '<|begin_of_text|>', type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } }],
        special_tokens: { '<|begin_of_text|>': { id: '<|begin_of_text|>', ids: [128000], tokens: ['<|begin_of_text|>'] } },
      },
    ],
  };
  assert.equal(name(llama3), 'llama-bpe');
});

// The end-to-end check for BPE: a Qwen2-shaped Hugging Face folder (random BF16 weights) with
// the real Qwen tokenizer files goes through the one-pass conversion + quantization (Q4_K_M); the real
// llama.cpp (node-llama-cpp) loads the result, generates, and tokenizes multilingual text — Chinese,
// code, numbers, emoji, chat markup — to exactly the ids Hugging Face's tokenizer gives.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { quantizeFolder } from '../../src-main/core/convert/write.ts';
import { readGgufHeader } from '../../src-main/core/gguf/reader.ts';
import { kvString } from '../../src-main/core/gguf/metadata.ts';
import { makeTempDir, removeTempDir } from '../support/synthetic-gguf.ts';
import { writeQwenFolder } from '../support/hf-folders.ts';
import { lenmlTokenizerDir } from '../support/tokenizer-files.ts';

const skip = process.platform === 'linux' && process.arch === 'x64' ? false : 'node-llama-cpp prebuilt binaries are tested on linux-x64';

const TEXTS = [
  '你好，世界！今天天气很好，我们去公园散步吧。机器学习模型的量化可以显著减少内存占用。',
  'def fib(n: int) -> int:\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n\nprint([fib(i) for i in range(10)])  # 0, 1, 1, 2 …',
  'Prices: $1,299.99 / ¥8,888 / €0.5; pi ≈ 3.14159265358979; 2^64 = 18446744073709551616; 007 and 1e-9.',
  'Emoji: 🚀🦙🔥 👨‍👩‍👧‍👦 🇨🇳 😶‍🌫️ ✅ — mixed with text 和中文 and tabs\t\tand   spaces.\n\n\n',
  'Русский, العربية, हिन्दी, 日本語のテキスト, 한국어 문장, Ελληνικά, עברית.',
];
const CHAT = '<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\n写一首关于秋天的诗<|im_end|>\n<|im_start|>assistant\n';

test('a Qwen2 folder with the real Qwen tokenizer converts to Q4_K_M; llama.cpp loads it, generates and tokenizes like Hugging Face', { skip, timeout: 600_000 }, async () => {
  const dir = await makeTempDir('qwen-real-tok');
  try {
    const model = join(dir, 'Qwen2.5-tiny');
    await writeQwenFolder(model, { qwen: 'Qwen2ForCausalLM', dtype: 'BF16', tied: true, vocab: 151936, hidden: 256, intermediate: 256, layers: 1, heads: 4, kvHeads: 2 });
    // The helper writes Llama 2's tokenizer.model; this folder carries Qwen's own files instead.
    await rm(join(model, 'tokenizer.model'));
    const src = lenmlTokenizerDir('qwen3');
    await copyFile(join(src, 'tokenizer.json'), join(model, 'tokenizer.json'));
    await copyFile(join(src, 'tokenizer_config.json'), join(model, 'tokenizer_config.json'));

    const out = join(dir, 'qwen-Q4_K_M.gguf');
    await quantizeFolder(model, out, { ftype: 'Q4_K_M' }, { threads: 2 });
    const header = await readGgufHeader(out);
    assert.equal(kvString(header, 'general.architecture'), 'qwen2');
    assert.equal(kvString(header, 'tokenizer.ggml.model'), 'gpt2');
    assert.equal(kvString(header, 'tokenizer.ggml.pre'), 'qwen2');

    const { getLlama } = await import('node-llama-cpp');
    const llama = await getLlama({ gpu: false });
    const loaded = await llama.loadModel({ modelPath: out });
    try {
      const tokenizerConfig = JSON.parse(await readFile(join(src, 'tokenizer_config.json'), 'utf8')) as object;
      const hf = new Tokenizer(JSON.parse(await readFile(join(src, 'tokenizer.json'), 'utf8')), tokenizerConfig);
      let compared = 0;
      for (const text of TEXTS) {
        const expected = hf.encode(text, { add_special_tokens: false }).ids;
        assert.deepEqual([...loaded.tokenize(text, false)].map(Number), expected, JSON.stringify(text.slice(0, 30)));
        assert.equal(loaded.detokenize(loaded.tokenize(text, false)), text);
        compared += expected.length;
      }
      const chatIds = hf.encode(CHAT, { add_special_tokens: false }).ids;
      assert.deepEqual([...loaded.tokenize(CHAT, true)].map(Number), chatIds, 'chat markup: special tokens');

      const context = await loaded.createContext({ contextSize: 128 });
      let generated = 0;
      try {
        for await (const token of context.getSequence().evaluate(loaded.tokenize(CHAT, true))) {
          assert.ok(Number(token) >= 0 && Number(token) < 151936);
          if (++generated === 8) break;
        }
      } finally {
        await context.dispose();
      }
      assert.equal(generated, 8);
      console.log(`# Qwen2 Q4_K_M: ${compared} tokens of ${TEXTS.length} multilingual texts and ${chatIds.length} chat tokens equal Hugging Face's; ${generated} tokens generated`);
    } finally {
      await loaded.dispose();
      await llama.dispose();
    }
  } finally {
    await removeTempDir(dir);
  }
});

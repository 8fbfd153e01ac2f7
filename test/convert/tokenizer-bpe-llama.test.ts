// BPE tokenizers (tokenizer.json) can't go through the Python converter here (it needs transformers),
// so they are checked by what matters: a GGUF carrying readTokenizerKvs' key/values, loaded by the real
// llama.cpp (node-llama-cpp), tokenizes multilingual text — English, Chinese, code, numbers, emoji,
// Cyrillic, Arabic, Devanagari, Japanese, Korean, whitespace runs, ~90 KB of the calibration text —
// to exactly the ids Hugging Face's tokenizer gives, for the real Qwen3, Llama 3 and Gemma 3 files.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tokenizer } from '@huggingface/tokenizers';
import { readTokenizerKvs } from '../../src-main/core/convert/tokenizer/index.ts';
import { CHKTXT } from '../../src-main/core/convert/tokenizer/pre-tokenizer-hashes.ts';
import { isGgufArray, type GgufKv } from '../../src-main/core/gguf/types.ts';
import { makeTempDir, removeTempDir, writeSyntheticGguf, type SyntheticTensor } from '../support/synthetic-gguf.ts';
import { lenmlTokenizerDir, writeFolder } from '../support/tokenizer-files.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const skip = process.platform === 'linux' && process.arch === 'x64' ? false : 'node-llama-cpp prebuilt binaries are tested on linux-x64';

const MULTILINGUAL = [
  'Hello, world! 你好，世界。今天天气很好，我们去公园散步吧。',
  'function add(a, b) {\n  return a + b; // sum\n}\nconst x = 3.14159; let n = 1234567890; if (n >= 1e9) { x **= 2 }',
  '🚀🦙 emoji 😶‍🌫️ ✅ 👨‍👩‍👧‍👦 🇨🇳',
  '  indented\t\ttabs   and   spaces\n\n\n   \n',
  'Русский текст, العربية, हिन्दी, 日本語のテキスト, 한국어 문장입니다.',
  "I've been 'told he's there, 'RE you sure? 12,345.67 + 0x1F = ¥1000 — “quotes” «guillemets»",
].join('\n');

interface BpeCase {
  readonly name: 'qwen3' | 'llama3' | 'gemma3';
  readonly arch: string;
  readonly config: Record<string, unknown>;
  readonly pre: string;
  /** Text with the model's special tokens, tokenized with special-token parsing on both sides. */
  readonly special: string;
}

const CASES: readonly BpeCase[] = [
  { name: 'qwen3', arch: 'Qwen2ForCausalLM', config: { vocab_size: 151936 }, pre: 'qwen2', special: '<|im_start|>user\n你好<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n' },
  { name: 'llama3', arch: 'LlamaForCausalLM', config: { vocab_size: 128256, bos_token_id: 128000, eos_token_id: 128001 }, pre: 'smaug-bpe', special: '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n你好<|eot_id|>' },
  { name: 'gemma3', arch: 'Gemma3ForCausalLM', config: { vocab_size: 262208 }, pre: 'granite-embed-multi-311m', special: '<bos><start_of_turn>user\n你好<end_of_turn>\n<start_of_turn>model\n' },
];

/** Qwen2's tensors in llama.cpp's names with tiny random weights (output tied to token_embd). */
function qwen2Tensors(nVocab: number, nEmbd: number, nKv: number, nFf: number): SyntheticTensor[] {
  return [
    { name: 'token_embd.weight', shape: [nEmbd, nVocab], type: 'F16' },
    { name: 'blk.0.attn_norm.weight', shape: [nEmbd], scale: 1 },
    { name: 'blk.0.attn_q.weight', shape: [nEmbd, nEmbd], type: 'F16' },
    { name: 'blk.0.attn_q.bias', shape: [nEmbd] },
    { name: 'blk.0.attn_k.weight', shape: [nEmbd, nKv], type: 'F16' },
    { name: 'blk.0.attn_k.bias', shape: [nKv] },
    { name: 'blk.0.attn_v.weight', shape: [nEmbd, nKv], type: 'F16' },
    { name: 'blk.0.attn_v.bias', shape: [nKv] },
    { name: 'blk.0.attn_output.weight', shape: [nEmbd, nEmbd], type: 'F16' },
    { name: 'blk.0.ffn_norm.weight', shape: [nEmbd], scale: 1 },
    { name: 'blk.0.ffn_gate.weight', shape: [nEmbd, nFf], type: 'F16' },
    { name: 'blk.0.ffn_up.weight', shape: [nEmbd, nFf], type: 'F16' },
    { name: 'blk.0.ffn_down.weight', shape: [nFf, nEmbd], type: 'F16' },
    { name: 'output_norm.weight', shape: [nEmbd], scale: 1 },
  ];
}

const GGUF_ARCH: Record<string, string> = { Qwen2ForCausalLM: 'qwen2', LlamaForCausalLM: 'llama', Gemma3ForCausalLM: 'gemma3' };

/** ~90 KB of the shipped calibration text (English, Chinese, code) in 2 KB pieces from across the file. */
async function calibrationPieces(): Promise<string[]> {
  const text = await readFile(join(ROOT, 'resources/calibration/calibration.txt'), 'utf8').catch(() => '');
  const chars = [...text];
  const pieces: string[] = [];
  for (let i = 0; i < 45 && chars.length > 0; i++) {
    const start = Math.floor((i / 45) * Math.max(0, chars.length - 2048));
    pieces.push(chars.slice(start, start + 2048).join(''));
  }
  return pieces;
}

function kvValue(kvs: readonly GgufKv[], key: string): unknown {
  return kvs.find((e) => e.key === key)?.value;
}

let llamaPromise: Promise<import('node-llama-cpp').Llama> | undefined;
async function llamaCpp(): Promise<import('node-llama-cpp').Llama> {
  const { getLlama } = await import('node-llama-cpp');
  llamaPromise ??= getLlama({ gpu: false, logLevel: 'error' as never });
  return llamaPromise;
}
after(async () => { if (llamaPromise) await (await llamaPromise).dispose(); });

for (const c of CASES) {
  test(`llama.cpp tokenizes like Hugging Face with readTokenizerKvs' ${c.name} vocabulary (pre ${c.pre})`, { skip, timeout: 300_000 }, async () => {
    const dir = await makeTempDir(`tokbpe-${c.name}`);
    try {
      const src = lenmlTokenizerDir(c.name);
      const model = join(dir, 'model');
      const config = { architectures: [c.arch], ...c.config };
      await writeFolder(model, { 'config.json': config });
      await copyFile(join(src, 'tokenizer.json'), join(model, 'tokenizer.json'));
      await copyFile(join(src, 'tokenizer_config.json'), join(model, 'tokenizer_config.json'));
      const kvs = await readTokenizerKvs(model, config, { arch: c.arch });

      assert.equal(kvValue(kvs, 'tokenizer.ggml.model'), 'gpt2');
      assert.equal(kvValue(kvs, 'tokenizer.ggml.pre'), c.pre, 'the name the converter gives this chktxt hash');
      const tokenizerConfig = JSON.parse(await readFile(join(src, 'tokenizer_config.json'), 'utf8')) as { chat_template: string };
      assert.equal(kvValue(kvs, 'tokenizer.chat_template'), tokenizerConfig.chat_template, 'chat template carried over exactly');
      const tokens = kvValue(kvs, 'tokenizer.ggml.tokens');
      assert.ok(tokens !== undefined && isGgufArray(tokens as never));
      assert.equal((tokens as { items: unknown[] }).items.length, c.config.vocab_size, 'padded to config.json vocab_size');

      const nVocab = c.config.vocab_size as number;
      const gguf = join(dir, `${c.name}.gguf`);
      const fullModel = c.arch === 'Qwen2ForCausalLM';
      await writeSyntheticGguf(gguf, {
        arch: GGUF_ARCH[c.arch],
        hparams: {
          context_length: 256, embedding_length: 16, feed_forward_length: 32, block_count: 1,
          'attention.head_count': 2, 'attention.head_count_kv': 1, 'attention.layer_norm_rms_epsilon': 1e-6,
          'attention.key_length': 8, 'attention.value_length': 8, 'rope.freq_base': 1000000,
        },
        kv: kvs,
        tensors: fullModel ? qwen2Tensors(nVocab, 16, 8, 32) : [],
      });
      const llama = await llamaCpp();
      const loaded = await llama.loadModel({ modelPath: gguf, vocabOnly: !fullModel });
      try {
        const hf = new Tokenizer(JSON.parse(await readFile(join(src, 'tokenizer.json'), 'utf8')), tokenizerConfig);
        const texts = [MULTILINGUAL, CHKTXT, ...(await calibrationPieces())];
        let compared = 0;
        for (const [i, text] of texts.entries()) {
          const expected = hf.encode(text, { add_special_tokens: false }).ids;
          const actual = [...loaded.tokenize(text, false)].map(Number);
          assert.deepEqual(actual, expected, `text ${i} (${JSON.stringify(text.slice(0, 40))}…)`);
          compared += expected.length;
        }
        const expectedSpecial = hf.encode(c.special, { add_special_tokens: false }).ids;
        assert.deepEqual([...loaded.tokenize(c.special, true)].map(Number), expectedSpecial, 'special tokens parsed as the same ids');
        // Gemma 3's byte-fallback pieces (<0xF0>…) stay NORMAL on the converter's GPT-2 path, so llama.cpp
        // prints them as text; real Gemma 3 folders carry a tokenizer.model and take the SentencePiece path.
        if (c.name !== 'gemma3') assert.equal(loaded.detokenize(loaded.tokenize(MULTILINGUAL, false)), MULTILINGUAL, 'round trip');
        let generated = 0;
        if (fullModel) {
          // The whole model (random weights) runs: a chat prompt in, a few tokens out of this vocabulary.
          const context = await loaded.createContext({ contextSize: 64 });
          try {
            for await (const token of context.getSequence().evaluate(loaded.tokenize(c.special, true))) {
              assert.ok(Number(token) >= 0 && Number(token) < nVocab);
              if (++generated === 4) break;
            }
          } finally {
            await context.dispose();
          }
          assert.equal(generated, 4);
        }
        console.log(`# ${c.name}: ${texts.length} texts, ${compared} tokens equal; ${expectedSpecial.length} with special tokens${fullModel ? `; full qwen2 model loaded, generated ${generated} tokens` : ''}`);
      } finally {
        await loaded.dispose();
      }
    } finally {
      await removeTempDir(dir);
    }
  });
}

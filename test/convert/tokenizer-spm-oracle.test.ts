// SentencePiece tokenizers: the tokenizer.* key/values readTokenizerKvs returns equal, key by key and in
// order, with value types and values, what llama.cpp's convert_hf_to_gguf.py writes (--vocab-only) for
// the same synthetic folder — real tokenizer.model files, and the added-token, special-token,
// post-processor, padding and chat-template variations each architecture's set_vocab handles.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTokenizerKvs } from '../../src-main/core/convert/tokenizer/index.ts';
import { readHfConfig } from '../../src-main/core/convert/hf-config.ts';
import { readGgufHeader } from '../../src-main/core/gguf/reader.ts';
import { isGgufArray, GgufValueType as T, type GgufKv } from '../../src-main/core/gguf/types.ts';
import { convertOracleUnavailable, runConvertOracleBatch } from '../support/convert-oracle.ts';
import { encodeSentencePieceModel, sentencePieceModelBytes, writeFolder, type PieceSpec, type SentencePieceModelName } from '../support/tokenizer-files.ts';

const skip = convertOracleUnavailable();
if (skip) console.log(`# skipping SentencePiece tokenizer oracle tests: ${skip}`);

/** Hyperparameters each architecture's set_gguf_parameters needs to get as far as set_vocab. */
const BASE_HPARAMS = {
  hidden_size: 64, intermediate_size: 128, num_attention_heads: 4, num_key_value_heads: 2, num_hidden_layers: 1,
  rms_norm_eps: 1e-6, max_position_embeddings: 256, rope_theta: 10000.0, torch_dtype: 'bfloat16',
};
const ARCH_HPARAMS: Record<string, object> = {
  LlamaForCausalLM: { model_type: 'llama' },
  MistralForCausalLM: { model_type: 'mistral', sliding_window: null },
  Qwen2ForCausalLM: { model_type: 'qwen2' },
  Gemma2ForCausalLM: { model_type: 'gemma2', head_dim: 16, attn_logit_softcapping: 50.0, final_logit_softcapping: 30.0, sliding_window: 128, query_pre_attn_scalar: 16 },
  Gemma3ForCausalLM: { model_type: 'gemma3_text', head_dim: 16, sliding_window: 128, query_pre_attn_scalar: 16, rope_local_base_freq: 10000.0, final_logit_softcapping: null, attn_logit_softcapping: null },
  Phi3ForCausalLM: { model_type: 'phi3', original_max_position_embeddings: 256, rope_scaling: null },
};

interface Case {
  name: string;
  arch: keyof typeof ARCH_HPARAMS;
  /** A real model by name, or one encoded here piece by piece. */
  model: SentencePieceModelName | (() => Uint8Array);
  config?: object;
  files?: Record<string, string | object>;
}

const TEMPLATE = "{% for m in messages %}{{ bos_token }}[INST] {{ m['content'] }} [/INST]{% endfor %}";

/** Every piece type, scores at float32's edges, CJK, emoji, a space inside a piece, 256 byte pieces. */
function everyPieceType(): Uint8Array {
  const pieces: PieceSpec[] = [{ piece: '<unk>', score: 0, type: 2 }, { piece: '<s>', score: 0, type: 3 }, { piece: '</s>', score: 0, type: 3 }];
  for (let b = 0; b < 256; b++) pieces.push({ piece: `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`, score: 0, type: 6 });
  pieces.push(
    { piece: '<start_of_turn>', score: 0, type: 4 }, { piece: '<unused0>', score: 0, type: 5 }, { piece: '<mask>', score: 0, type: 4 },
    { piece: '\u2581the', score: -1.5, type: 1 }, { piece: '你好', score: -2.25, type: 1 }, { piece: '🦙', score: -1e-7, type: 1 },
    { piece: 'a b', score: -3.4e38, type: 1 }, { piece: '\u2581\u2581', score: 0.1, type: 1 },
  );
  return encodeSentencePieceModel(pieces);
}

const CASES: Case[] = [
  {
    name: 'a model with every piece type (USER_DEFINED and UNUSED pieces included), padded past the model',
    arch: 'LlamaForCausalLM', model: everyPieceType,
    config: { vocab_size: 272, bos_token_id: 1, eos_token_id: 2 },
    files: {
      'tokenizer_config.json': {
        added_tokens_decoder: { 259: { content: '<start_of_turn>', special: true }, 261: { content: '<mask>', special: false }, 268: { content: '<end_of_turn>', special: false } },
      },
    },
  },
  {
    name: 'Llama 2: special tokens from tokenizer_config, add_bos/add_eos, a chat template string',
    arch: 'LlamaForCausalLM', model: 'llama2',
    config: { vocab_size: 32000, bos_token_id: 1, eos_token_id: 2 },
    files: {
      'tokenizer_config.json': {
        add_bos_token: true, add_eos_token: false, bos_token: '<s>', pad_token: null, unk_token: '<unk>',
        eos_token: { content: '</s>', lstrip: false, normalized: false, rstrip: false, single_word: false },
        chat_template: TEMPLATE, legacy: false,
        added_tokens_decoder: { 0: { content: '<unk>', special: true }, 1: { content: '<s>', special: true }, 2: { content: '</s>', special: true } },
      },
    },
  },
  {
    name: 'Llama: padded vocabulary, added_tokens.json, added tokens that look special or hold U+2581, a TemplateProcessing post-processor, chat_template.jinja with named extras',
    arch: 'LlamaForCausalLM', model: 'llama2',
    config: { vocab_size: 32008, pad_token_id: 0, eos_token_id: [2, 32004] },
    files: {
      'added_tokens.json': { '<extra_0>': 32000, '<extra_1>': 32001, '<too_far>': 40000 },
      'tokenizer_config.json': {
        add_prefix_space: false, bos_token: '<s>', eos_token: '</s>', sep_token: '<sep>', unk_token: '<unk>',
        added_tokens_decoder: {
          32002: { content: '<|im_start|>', special: false },
          32003: { content: '\u2581hello\u2581world', special: false },
          32004: { content: '<sep>', special: true },
          32005: { content: '<unused7>', special: false },
        },
      },
      'tokenizer.json': {
        version: '1.0', normalizer: { type: 'Sequence', normalizers: [{ type: 'Lowercase' }, { type: 'StripAccents' }] },
        added_tokens: [
          { id: 0, content: '<unk>', special: true }, { id: 1, content: '<s>', special: true },
          { id: 2, content: '</s>', special: true }, { id: 32004, content: '<sep>', special: true },
        ],
        post_processor: {
          type: 'TemplateProcessing',
          single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '<sep>', type_id: 0 } }],
          pair: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }, { SpecialToken: { id: '<sep>', type_id: 1 } }],
          special_tokens: {},
        },
        model: { type: 'BPE', vocab: {}, merges: [] },
      },
      'chat_template.jinja': '{% for m in messages %}\r\n{{ m.content }}\r\n{% endfor %}\n',
      'additional_chat_templates/tool_use.jinja': '{{ tools }}',
    },
  },
  {
    name: 'Mistral (CodeLlama-sized 32016): infill ids, named templates in tokenizer_config',
    arch: 'MistralForCausalLM', model: 'llama2',
    config: { vocab_size: 32016, bos_token_id: 1, eos_token_id: 2 },
    files: {
      'tokenizer_config.json': {
        add_bos_token: true, add_eos_token: true, bos_token: '<s>', eos_token: '</s>',
        chat_template: [{ name: 'default', template: TEMPLATE }, { name: 'rag-v1', template: '{{ documents }}' }, { name: 'empty', template: '' }],
      },
    },
  },
  {
    name: 'Mistral with a RobertaProcessing post-processor, cls but no bos in tokenizer_config, chat_template.json',
    arch: 'MistralForCausalLM', model: 'llama2',
    config: { vocab_size: 32000 },
    files: {
      'tokenizer_config.json': { cls_token: '<s>', eos_token: '</s>', unk_token: { content: '<unk>', special: true }, add_eos_token: false, mask_token: '<unk>' },
      'tokenizer.json': {
        added_tokens: [{ id: 0, content: '<unk>', special: true }, { id: 1, content: '<s>', special: true }, { id: 2, content: '</s>', special: true }],
        post_processor: { type: 'RobertaProcessing', sep: ['</s>', 2], cls: ['<s>', 1], trim_offsets: true, add_prefix_space: true },
        normalizer: { type: 'BertNormalizer', lowercase: false, strip_accents: null },
        model: { type: 'BPE', vocab: {}, merges: [] },
      },
      'chat_template.json': { chat_template: '{{ messages[0].content }}' },
    },
  },
  {
    name: 'Gemma 2 with a unigram model (<pad> first): add_space_prefix false after the special vocabulary',
    arch: 'Gemma2ForCausalLM', model: 'unigram30k',
    config: { vocab_size: 30000, bos_token_id: 2, eos_token_id: 3, pad_token_id: 0 },
    files: { 'tokenizer_config.json': { add_bos_token: true, add_eos_token: false, chat_template: TEMPLATE } },
  },
  {
    name: 'Gemma 3 with a tokenizer.model, vocab_size in text_config smaller than the model',
    arch: 'Gemma3ForCausalLM', model: 'smart',
    config: { vocab_size: 32000, eos_token_id: 60000, bos_token_id: 1 },
    files: { 'tokenizer_config.json': { add_bos_token: true } },
  },
  {
    name: 'Qwen2 with a tokenizer.model (the SentencePiece path), no tokenizer_config',
    arch: 'Qwen2ForCausalLM', model: 'smart',
    config: { bos_token_id: 1, eos_token_id: 2 },
  },
  {
    name: 'Phi-3: its own vocabulary code, added tokens from tokenizer_config and tokenizer.json',
    arch: 'Phi3ForCausalLM', model: 'llama2',
    config: { vocab_size: 32064, bos_token_id: 1, eos_token_id: 32000, pad_token_id: 32000 },
    files: {
      'tokenizer_config.json': {
        tokenizer_class: 'LlamaTokenizer', add_bos_token: false, add_eos_token: false, bos_token: '<s>', eos_token: '<|endoftext|>',
        added_tokens_decoder: { 32000: { content: '<|endoftext|>', special: true }, 32001: { content: '<|assistant|>', special: true }, 32002: { content: '<|placeholder1|>', special: false } },
        chat_template: TEMPLATE,
      },
      'tokenizer.json': {
        added_tokens: [
          { id: 32000, content: '<|endoftext|>', special: true }, { id: 32001, content: '<|assistant|>', special: true },
          { id: 32002, content: '<|placeholder1|>', special: false }, { id: 32007, content: '<|end|>', special: true },
        ],
        model: { type: 'BPE', vocab: {}, merges: [] },
      },
    },
  },
];

function describeValue(kv: GgufKv): string {
  if (!isGgufArray(kv.value)) return JSON.stringify(kv.value).slice(0, 80);
  return `array<${kv.value.elementType}>[${kv.value.items.length}]`;
}

/** Same keys in the same order, same types, same values (FLOAT32 compared as float32). */
function assertKvsEqual(actual: readonly GgufKv[], expected: readonly GgufKv[], label: string): void {
  assert.deepEqual(actual.map((e) => e.key), expected.map((e) => e.key), `${label}: keys and their order`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    assert.equal(a.type, e.type, `${label}: type of ${e.key}`);
    if (!isGgufArray(e.value)) {
      assert.equal(a.value, e.value, `${label}: value of ${e.key}`);
      continue;
    }
    assert.ok(isGgufArray(a.value), `${label}: ${e.key} is an array`);
    assert.equal(a.value.elementType, e.value.elementType, `${label}: element type of ${e.key}`);
    assert.equal(a.value.items.length, e.value.items.length, `${label}: length of ${e.key}`);
    const float = e.value.elementType === T.FLOAT32;
    const bad = e.value.items.findIndex((x, j) => {
      const y = (a.value as { items: readonly unknown[] }).items[j];
      return float ? Math.fround(x as number) !== Math.fround(y as number) : x !== y;
    });
    assert.equal(bad, -1, `${label}: ${e.key}[${bad}] is ${JSON.stringify((a.value as { items: readonly unknown[] }).items[bad])}, the converter wrote ${JSON.stringify(e.value.items[bad])}`);
  }
}

/** All folders converted in one Python process before the comparisons; the converter's error per case. */
let workDir = '';
let oracleErrors: (string | undefined)[] = [];

function caseDir(i: number): string {
  return join(workDir, `case${i}`);
}

before(async () => {
  if (skip) return;
  workDir = await mkdtemp(join(tmpdir(), 'quantfit-tok-'));
  for (const [i, c] of CASES.entries()) {
    await writeFolder(join(caseDir(i), 'model'), {
      'config.json': { architectures: [c.arch], ...BASE_HPARAMS, ...ARCH_HPARAMS[c.arch], ...c.config },
      'tokenizer.model': typeof c.model === 'function' ? c.model() : await sentencePieceModelBytes(c.model),
      ...c.files,
    });
  }
  oracleErrors = await runConvertOracleBatch(
    CASES.map((_, i) => ({ modelDir: join(caseDir(i), 'model'), outFile: join(caseDir(i), 'ref.gguf'), args: ['--vocab-only'] })),
    workDir,
  );
});

after(async () => {
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

for (const [i, c] of CASES.entries()) {
  test(`tokenizer KVs equal convert_hf_to_gguf.py's: ${c.name}`, { skip }, async () => {
    assert.equal(oracleErrors[i], undefined, 'the converter converts the folder');
    const model = join(caseDir(i), 'model');
    const expected = (await readGgufHeader(join(caseDir(i), 'ref.gguf'))).kv.filter((e) => e.key.startsWith('tokenizer.'));
    const config = await readHfConfig(model);
    const actual = await readTokenizerKvs(model, config, { arch: c.arch });
    console.log(`# ${c.arch}/${typeof c.model === 'function' ? c.model.name : c.model}: ${expected.map((e) => `${e.key.replace('tokenizer.', '')}=${describeValue(e)}`).join(' ')}`);
    assertKvsEqual(actual, expected, c.name);
  });
}

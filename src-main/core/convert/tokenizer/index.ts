// The tokenizer.* key/values llama.cpp's convert_hf_to_gguf.py writes for a Hugging Face folder, in its
// order and with its value types: each architecture's set_vocab (which vocabulary path, and the
// extra keys it adds before or after), then gguf-py's SpecialVocab.add_to_gguf.

import { quantfitError, throwIfAborted, type QuantfitError } from '../../errors.ts';
import type { Message } from '../../../../src-shared/message.ts';
import { msg } from '../../../../src-shared/messages/index.ts';
import { GgufValueType as T, type GgufKv } from '../../gguf/types.ts';
import type { HfConfig } from '../hf-config.ts';
import { bpeVocab } from './bpe-vocab.ts';
import { isObject, truthy, TokenizerFolder, type JsonObject } from './folder.ts';
import { KvList, TokenizerKey } from './kv-list.ts';
import { phi3SentencePieceVocab, readSentencePieceModel, sentencePieceVocab, type ScoredVocab } from './sentencepiece-vocab.ts';
import { SpecialVocab } from './special-vocab.ts';

export interface TokenizerOptions {
  /** The Hugging Face architecture (config.json's architectures[0]) or its GGUF name. */
  arch: string;
  signal?: AbortSignal;
}

/** How each supported architecture's set_vocab starts. */
type VocabRoute = 'llama' | 'qwen2' | 'gpt2' | 'gemma2' | 'gemma3' | 'phi3';

const ROUTES: Readonly<Record<string, VocabRoute>> = {
  LlamaForCausalLM: 'llama',
  MistralForCausalLM: 'llama',
  llama: 'llama',
  Qwen2ForCausalLM: 'qwen2',
  Qwen3ForCausalLM: 'qwen2',
  qwen2: 'qwen2',
  qwen3: 'qwen2',
  // Qwen2Moe/Qwen3Moe keep TextModel's set_vocab: always the GPT-2 BPE path.
  Qwen2MoeForCausalLM: 'gpt2',
  Qwen3MoeForCausalLM: 'gpt2',
  qwen2moe: 'gpt2',
  qwen3moe: 'gpt2',
  Gemma2ForCausalLM: 'gemma2',
  gemma2: 'gemma2',
  Gemma3ForCausalLM: 'gemma3',
  gemma3: 'gemma3',
  Phi3ForCausalLM: 'phi3',
  phi3: 'phi3',
};

export function tokenizerArchitectures(): string[] {
  return Object.keys(ROUTES).filter((k) => /[A-Z]/.test(k));
}

export async function readTokenizerKvs(dir: string, config: HfConfig, options: TokenizerOptions): Promise<GgufKv[]> {
  const route = ROUTES[options.arch];
  if (route === undefined) {
    throw quantfitError('tokenizer.unsupportedArch', { arch: options.arch, supported: tokenizerArchitectures().join(', ') }, { file: dir });
  }
  const folder = new TokenizerFolder(dir, options.signal);
  const kv = new KvList();
  switch (route) {
    case 'llama':
      await llamaVocab(folder, config, kv);
      break;
    case 'qwen2':
      if (!(await spmVocab(folder, config, kv))) await gpt2Vocab(folder, config, kv);
      break;
    case 'gpt2':
      await gpt2Vocab(folder, config, kv);
      break;
    case 'gemma2':
      if (!(await spmVocab(folder, config, kv))) throw noTokenizer(folder, 'tokenizer.model');
      kv.bool(TokenizerKey.ADD_PREFIX, false);
      break;
    case 'gemma3':
      if (await spmVocab(folder, config, kv)) kv.bool(TokenizerKey.ADD_PREFIX, false);
      else await gpt2Vocab(folder, config, kv);
      break;
    case 'phi3':
      await phi3Vocab(folder, config, kv);
      break;
  }
  throwIfAborted(options.signal);
  return kv.toArray();
}

function noTokenizer(folder: TokenizerFolder, wanted: string): QuantfitError {
  return quantfitError('tokenizer.missing', { wanted }, { file: folder.dir });
}

function writeScoredVocab(kv: KvList, v: ScoredVocab): void {
  kv.string(TokenizerKey.MODEL, 'llama');
  kv.string(TokenizerKey.PRE, 'default');
  kv.array(TokenizerKey.LIST, T.STRING, v.tokens);
  kv.array(TokenizerKey.SCORES, T.FLOAT32, v.scores);
  kv.array(TokenizerKey.TOKEN_TYPE, T.INT32, v.types);
}

/** _set_vocab_sentencepiece; false when there is no tokenizer.model (the converter's FileNotFoundError). */
async function spmVocab(folder: TokenizerFolder, config: HfConfig, kv: KvList): Promise<boolean> {
  const pieces = await readSentencePieceModel(folder);
  if (pieces === undefined) return false;
  const v = await sentencePieceVocab(folder, config, pieces);
  writeScoredVocab(kv, v);
  (await SpecialVocab.load(folder, config, { nVocab: v.tokens.length })).addTo(kv);
  return true;
}

/** _set_vocab_gpt2: the BPE vocabulary of tokenizer.json, its pre-tokenizer's name, merges. */
async function gpt2Vocab(folder: TokenizerFolder, config: HfConfig, kv: KvList): Promise<void> {
  const v = await bpeVocab(folder, config, folder.signal);
  if (v === undefined) throw noTokenizer(folder, 'tokenizer.model or tokenizer.json');
  kv.string(TokenizerKey.MODEL, 'gpt2');
  kv.string(TokenizerKey.PRE, v.pre);
  kv.array(TokenizerKey.LIST, T.STRING, v.tokens);
  kv.array(TokenizerKey.TOKEN_TYPE, T.INT32, v.types);
  (await SpecialVocab.load(folder, config, { loadMerges: true })).addTo(kv);
}

/** LlamaModel.set_vocab: SentencePiece, else (Llama 3 style) GPT-2 BPE. */
async function llamaVocab(folder: TokenizerFolder, config: HfConfig, kv: KvList): Promise<void> {
  if ((await folder.isFile('tekken.json')) && !(await folder.isFile('tokenizer.json'))) {
    throw quantfitError('tokenizer.tekkenUnsupported', {}, { file: folder.path('tekken.json') });
  }
  const tc = await folder.jsonObject('tokenizer_config.json');
  if (tc !== undefined) {
    const addPrefix = tc.add_prefix_space;
    if (addPrefix !== undefined && addPrefix !== null) kv.bool(TokenizerKey.ADD_PREFIX, addPrefix === true || (addPrefix !== false && addPrefix !== 0 && addPrefix !== ''));
    if (tc.tokenizer_class === 'HybridDNATokenizer') throw unsupportedTokenizer(folder, 'tokenizer_config.json', msg('tokenizer.kind.hybridDna'));
  }
  if (!(await spmVocab(folder, config, kv))) {
    const tj = await folder.jsonObject('tokenizer.json');
    if (tj !== undefined && isLlamaHfBpe(tj)) {
      // LlamaHfVocab (a byte-fallback BPE tokenizer.json without tokenizer.model) needs transformers'
      // special-token bookkeeping; not reproduced yet.
      throw unsupportedTokenizer(folder, 'tokenizer.json', msg('tokenizer.kind.byteFallbackBpe'));
    }
    await gpt2Vocab(folder, config, kv);
  }
  const vocabSize = config.vocab_size ?? 32000;
  if (vocabSize === 32016) {
    // CodeLlama's infill tokens (only eot has a GGUF key at this converter commit).
    const sv = await SpecialVocab.load(folder, config, { specialTokenTypes: ['prefix', 'suffix', 'middle', 'eot'] });
    sv.setSpecialToken('prefix', 32007);
    sv.setSpecialToken('suffix', 32008);
    sv.setSpecialToken('middle', 32009);
    sv.setSpecialToken('eot', 32010);
    sv.addTo(kv);
  }
  if (vocabSize === 49152) kv.bool('tokenizer.ggml.add_bos_token', false); // Granite small models
}

/**
 * LlamaHfVocab's test: a BPE tokenizer.json with byte fallback and a Sequence decoder (Llama 3's
 * files, without byte fallback, fail it and go the GPT-2 way).
 */
function isLlamaHfBpe(tj: JsonObject): boolean {
  const model = tj.model;
  const decoder = tj.decoder;
  return isObject(model) && model.type === 'BPE' && truthy(model.byte_fallback) && isObject(decoder) && decoder.type === 'Sequence';
}

/** Phi3MiniModel.set_vocab: GPT2Tokenizer classes take the BPE path, others SentencePiece. */
async function phi3Vocab(folder: TokenizerFolder, config: HfConfig, kv: KvList): Promise<void> {
  const tc = await folder.jsonObject('tokenizer_config.json');
  if (tc?.tokenizer_class === 'GPT2Tokenizer') {
    await gpt2Vocab(folder, config, kv);
    return;
  }
  const pieces = await readSentencePieceModel(folder);
  if (pieces === undefined) throw noTokenizer(folder, 'tokenizer.model');
  const v = await phi3SentencePieceVocab(folder, config, pieces);
  writeScoredVocab(kv, v);
  (await SpecialVocab.load(folder, config, { nVocab: v.tokens.length })).addTo(kv);
}

function unsupportedTokenizer(folder: TokenizerFolder, file: string, kind: Message): QuantfitError {
  return quantfitError('tokenizer.unsupportedKind', { kind }, { file: folder.path(file) });
}

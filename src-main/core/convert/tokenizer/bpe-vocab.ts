// The converter's GPT-2 BPE vocabulary (get_vocab_base): tokenizer.json's vocabulary with its added
// tokens, in id order, padded with [PADn] to config.json's vocab_size; added tokens CONTROL when special
// (or looking special) and USER_DEFINED otherwise; and tokenizer.ggml.pre named by hashing the ids the
// real tokenizer gives for CHKTXT. The converter runs transformers' AutoTokenizer; here the same
// tokenizer.json runs through Hugging Face's tokenizers.js.

import { createHash } from 'node:crypto';
import { Tokenizer } from '@huggingface/tokenizers';
import { quantfitError, throwIfAborted } from '../../errors.ts';
import { msg } from '../../../../src-shared/messages/index.ts';
import type { HfConfig } from '../hf-config.ts';
import { isObject, truthy, type Json, type JsonObject, type TokenizerFolder } from './folder.ts';
import { CHKTXT, PRE_TOKENIZER_BY_HASH } from './pre-tokenizer-hashes.ts';
import { looksSpecial, SPM_SPACE, TokenType, type TokenTypeId } from './token-types.ts';

export interface BpeVocab {
  readonly tokens: string[];
  readonly types: TokenTypeId[];
  readonly pre: string;
}

interface AddedToken {
  readonly id: number;
  readonly content: string;
  readonly special: boolean;
  readonly normalized: boolean;
}

function readAddedTokens(folder: TokenizerFolder, tj: JsonObject): AddedToken[] {
  const list = tj.added_tokens;
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw folder.invalid('tokenizer.json', msg('tokenizer.bad.addedTokensNotList'));
  return list.map((t, i) => {
    if (!isObject(t) || typeof t.content !== 'string' || typeof t.id !== 'number' || !Number.isSafeInteger(t.id) || t.id < 0) {
      throw folder.invalid('tokenizer.json', msg('tokenizer.bad.addedToken', { index: i }));
    }
    return { id: t.id, content: t.content, special: truthy(t.special), normalized: truthy(t.normalized) };
  });
}

/** text → id as transformers' get_vocab() gives it: the model's vocabulary, then the added tokens. */
function readVocab(folder: TokenizerFolder, model: JsonObject, added: readonly AddedToken[]): Map<string, number> {
  const vocab = model.vocab;
  if (!isObject(vocab)) throw folder.invalid('tokenizer.json', msg('tokenizer.bad.vocabNotObject'));
  const out = new Map<string, number>();
  for (const [text, id] of Object.entries(vocab)) {
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) {
      throw folder.invalid('tokenizer.json', msg('tokenizer.bad.tokenId', { token: JSON.stringify(text), id: JSON.stringify(id) }));
    }
    out.set(text, id);
  }
  for (const t of added) out.set(t.content, t.id);
  return out;
}

/** The ids of CHKTXT (special tokens added, as transformers' encode() does) → the converter's name. */
export function preTokenizerName(tokenizer: Tokenizer, file: string): string {
  const ids = encodeOrRefuse(tokenizer, CHKTXT, true, file);
  const hash = createHash('sha256').update(`[${ids.join(', ')}]`).digest('hex');
  const name = PRE_TOKENIZER_BY_HASH.get(hash);
  if (name === undefined) {
    throw quantfitError('tokenizer.unknownPre', { hash }, { file });
  }
  return name;
}

/** tokenizers.js throws plain errors for what it cannot run (some Oniguruma regexes): one clear refusal. */
function encodeOrRefuse(tokenizer: Tokenizer, text: string, addSpecialTokens: boolean, file: string): number[] {
  try {
    return tokenizer.encode(text, { add_special_tokens: addSpecialTokens }).ids;
  } catch (err) {
    throw quantfitError('tokenizer.invalidFile', { detail: msg('tokenizer.bad.cannotBuild', { reason: (err as Error).message }) }, { file });
  }
}

function hparamVocabSize(config: HfConfig, fallback: number): number {
  const text = isObject(config.text_config as Json) ? (config.text_config as JsonObject) : undefined;
  const v = text !== undefined && 'vocab_size' in text ? text.vocab_size : 'vocab_size' in config ? config.vocab_size : fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw quantfitError('tokenizer.badVocabSize', { key: 'vocab_size', value: JSON.stringify(v) ?? 'undefined' }, { file: 'config.json', key: 'vocab_size' });
  }
  return v;
}

/** get_vocab_base for tokenizer.json; undefined when the folder has no tokenizer.json. */
export async function bpeVocab(folder: TokenizerFolder, config: HfConfig, signal?: AbortSignal): Promise<BpeVocab | undefined> {
  const tj = await folder.jsonObject('tokenizer.json');
  if (tj === undefined) return undefined;
  const model = tj.model;
  if (!isObject(model)) throw folder.invalid('tokenizer.json', msg('tokenizer.bad.noModel'));
  if (model.type !== 'BPE') {
    throw quantfitError('tokenizer.unknownModelType', { type: String(model.type ?? 'none') }, { file: folder.path('tokenizer.json') });
  }
  const added = readAddedTokens(folder, tj);
  const vocab = readVocab(folder, model, added);
  let maxId = -1;
  for (const id of vocab.values()) if (id > maxId) maxId = id;
  const vocabSize = hparamVocabSize(config, vocab.size);
  if (maxId >= vocabSize) {
    throw quantfitError('tokenizer.idPastVocab', { id: maxId, size: vocabSize }, { file: folder.path('tokenizer.json') });
  }
  const tokenizerConfig = (await folder.jsonObject('tokenizer_config.json')) ?? {};
  let tokenizer: Tokenizer;
  try {
    // tokenizers.js wants every component key present; the Rust library treats a missing one as null.
    const components = { normalizer: null, pre_tokenizer: null, post_processor: null, decoder: null, added_tokens: [] };
    tokenizer = new Tokenizer({ ...components, ...tj }, tokenizerConfig);
  } catch (err) {
    throw folder.invalid('tokenizer.json', msg('tokenizer.bad.cannotBuild', { reason: (err as Error).message }));
  }
  throwIfAborted(signal);
  const pre = preTokenizerName(tokenizer, folder.path('tokenizer.json'));

  const reverse = new Map<number, string>();
  for (const [text, id] of vocab) reverse.set(id, text);
  const addedByContent = new Map(added.map((t) => [t.content, t]));
  const addedById = new Map(added.map((t) => [t.id, t]));
  // transformers decodes with clean_up_tokenization_spaces from tokenizer_config (off by default).
  const cleanUp = tokenizerConfig.clean_up_tokenization_spaces === true;
  const tokens: string[] = [];
  const types: TokenTypeId[] = [];
  for (let i = 0; i < vocabSize; i++) {
    if ((i & 0xffff) === 0) throwIfAborted(signal);
    let token = reverse.get(i);
    if (token === undefined) {
      tokens.push(`[PAD${i}]`);
      types.push(TokenType.UNUSED);
      continue;
    }
    if (addedByContent.has(token)) {
      const info = addedById.get(i);
      if (info !== undefined && !info.normalized) {
        // llama.cpp expects CONTROL and USER_DEFINED tokens pre-normalized: the converter round-trips them.
        const ids = encodeOrRefuse(tokenizer, token, false, folder.path('tokenizer.json'));
        if (ids.length > 0) token = tokenizer.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: cleanUp });
      }
      if (info?.special === true || looksSpecial(token)) types.push(TokenType.CONTROL);
      else {
        token = token.replaceAll(SPM_SPACE, ' ');
        types.push(TokenType.USER_DEFINED);
      }
    } else {
      types.push(TokenType.NORMAL);
    }
    tokens.push(token);
  }
  return { tokens, types, pre };
}

// The vocabulary the converter builds from tokenizer.model (_create_vocab_sentencepiece, and Phi-3's
// own variant): the model's pieces, scores and types, overlaid by added_tokens.json and
// tokenizer_config.json's added_tokens_decoder (Phi-3: and tokenizer.json's added_tokens), padded to
// config.json's vocab_size with [PADn] tokens.

import { quantfitError } from '../../errors.ts';
import { msg } from '../../../../src-shared/messages/index.ts';
import type { HfConfig } from '../hf-config.ts';
import { isObject, truthy, type Json, type TokenizerFolder } from './folder.ts';
import { parseSentencePieceModel, PieceType, type SentencePiece } from './sentencepiece-model.ts';
import { looksSpecial, SPM_SPACE, TokenType, type TokenTypeId } from './token-types.ts';

export interface ScoredVocab {
  readonly tokens: string[];
  readonly scores: number[];
  readonly types: TokenTypeId[];
}

/** Scores the converter gives: unfilled slots, and tokens added on top of the model. */
const PAD_SCORE = -10000.0;
const ADDED_SCORE = -1000.0;

/** SentencePieceProcessor's IsUnknown/IsControl/IsUnused/IsByte, in that order; anything else is NORMAL. */
function pieceTokenType(p: SentencePiece): TokenTypeId {
  switch (p.type) {
    case PieceType.UNKNOWN:
      return TokenType.UNKNOWN;
    case PieceType.CONTROL:
      return TokenType.CONTROL;
    case PieceType.UNUSED:
      return TokenType.UNUSED;
    case PieceType.BYTE:
      return TokenType.BYTE;
    default:
      // USER_DEFINED pieces inside the model stay NORMAL, as in the converter.
      return TokenType.NORMAL;
  }
}

export async function readSentencePieceModel(folder: TokenizerFolder): Promise<SentencePiece[] | undefined> {
  const bytes = await folder.bytes('tokenizer.model');
  if (bytes === undefined) return undefined;
  return [...parseSentencePieceModel(bytes, folder.path('tokenizer.model')).pieces];
}

function hparams(config: HfConfig): Readonly<Record<string, unknown>> {
  const text = config.text_config;
  return typeof text === 'object' && text !== null && !Array.isArray(text) ? { ...config, ...(text as object) } : config;
}

function vocabSizeFrom(config: HfConfig, keys: readonly string[], fallback: number): number {
  const hp = hparams(config);
  const key = keys.find((k) => k in hp);
  const v = key === undefined ? undefined : hp[key];
  if (!truthy(v as Json)) return fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw quantfitError('tokenizer.badVocabSize', { key: key ?? 'vocab_size', value: JSON.stringify(v) ?? 'undefined' }, { file: 'config.json', key });
  }
  return v;
}

function emptyVocab(size: number): ScoredVocab {
  return {
    tokens: Array.from({ length: size }, (_, i) => `[PAD${i}]`),
    scores: new Array<number>(size).fill(PAD_SCORE),
    types: new Array<TokenTypeId>(size).fill(TokenType.UNUSED),
  };
}

function tokenId(folder: TokenizerFolder, file: string, raw: Json | undefined, what: string): number {
  const id = typeof raw === 'string' && /^-?\d+$/.test(raw) ? Number(raw) : raw;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) throw folder.invalid(file, msg('tokenizer.bad.tokenId', { token: what, id: JSON.stringify(raw) ?? 'undefined' }));
  return id;
}

function addedTokenContent(folder: TokenizerFolder, file: string, data: Json | undefined, id: number): { content: string; special: boolean } {
  if (!isObject(data) || typeof data.content !== 'string') throw folder.invalid(file, msg('tokenizer.bad.addedToken', { index: id }));
  return { content: data.content, special: truthy(data.special) };
}

async function overlayAddedTokensJson(folder: TokenizerFolder, v: ScoredVocab): Promise<void> {
  const added = await folder.jsonObject('added_tokens.json');
  if (added === undefined) return;
  for (const [text, raw] of Object.entries(added)) {
    const id = tokenId(folder, 'added_tokens.json', raw, JSON.stringify(text));
    if (id >= v.tokens.length) continue;
    v.tokens[id] = text;
    v.scores[id] = ADDED_SCORE;
    v.types[id] = TokenType.USER_DEFINED;
  }
}

/** `_create_vocab_sentencepiece` (Llama, Mistral, Qwen2/3 and Gemma 2/3 with a tokenizer.model). */
export async function sentencePieceVocab(folder: TokenizerFolder, config: HfConfig, pieces: readonly SentencePiece[]): Promise<ScoredVocab> {
  const size = vocabSizeFrom(config, ['vocab_size_per_layer_input', 'vocab_size'], pieces.length);
  const v = emptyVocab(size);
  for (let id = 0; id < pieces.length && id < size; id++) {
    v.tokens[id] = pieces[id].piece;
    v.scores[id] = pieces[id].score;
    v.types[id] = pieceTokenType(pieces[id]);
  }
  await overlayAddedTokensJson(folder, v);
  const tc = await folder.jsonObject('tokenizer_config.json');
  const decoder = tc?.added_tokens_decoder;
  if (isObject(decoder)) {
    for (const [key, data] of Object.entries(decoder)) {
      const id = tokenId(folder, 'tokenizer_config.json', key, 'an added token');
      let { content, special } = addedTokenContent(folder, 'tokenizer_config.json', data, id);
      if (id >= size) continue;
      if (special || looksSpecial(content)) v.types[id] = TokenType.CONTROL;
      else {
        content = content.replaceAll(SPM_SPACE, ' ');
        v.types[id] = TokenType.USER_DEFINED;
      }
      v.scores[id] = ADDED_SCORE;
      v.tokens[id] = content;
    }
  }
  return v;
}

/**
 * Phi3MiniModel.set_vocab's own copy: vocab_size from config.json or the model, added tokens from
 * tokenizer_config.json and then tokenizer.json, USER_DEFINED unless marked special, no "looks
 * special" rule and no U+2581 replacement. Where that code would index past the vocabulary, this refuses.
 */
export async function phi3SentencePieceVocab(folder: TokenizerFolder, config: HfConfig, pieces: readonly SentencePiece[]): Promise<ScoredVocab> {
  const size = 'vocab_size' in config ? vocabSizeFrom(config, ['vocab_size'], pieces.length) : pieces.length;
  if (pieces.length > size) {
    throw folder.invalid('tokenizer.model', msg('tokenizer.bad.morePieces', { pieces: pieces.length, size }));
  }
  const v = emptyVocab(size);
  pieces.forEach((p, id) => {
    v.tokens[id] = p.piece;
    v.scores[id] = p.score;
    v.types[id] = pieceTokenType(p);
  });
  await overlayAddedTokensJson(folder, v);
  const overlay = (file: string, id: number, data: Json | undefined): void => {
    const { content, special } = addedTokenContent(folder, file, data, id);
    if (id >= size) throw folder.invalid(file, msg('tokenizer.bad.addedPastVocab', { id, size }));
    v.tokens[id] = content;
    v.scores[id] = ADDED_SCORE;
    v.types[id] = special ? TokenType.CONTROL : TokenType.USER_DEFINED;
  };
  const tc = await folder.jsonObject('tokenizer_config.json');
  const decoder = tc?.added_tokens_decoder;
  if (isObject(decoder)) {
    for (const [key, data] of Object.entries(decoder)) overlay('tokenizer_config.json', tokenId(folder, 'tokenizer_config.json', key, 'an added token'), data);
  }
  const tj = await folder.jsonObject('tokenizer.json');
  const added = tj?.added_tokens;
  if (Array.isArray(added)) {
    for (const data of added) {
      overlay('tokenizer.json', tokenId(folder, 'tokenizer.json', isObject(data) ? data.id : undefined, 'an added token'), data);
    }
  }
  return v;
}

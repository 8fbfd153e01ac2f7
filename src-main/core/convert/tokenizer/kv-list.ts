// The converter's GGUFWriter keeps its key/values in a Python dict: a key written twice keeps its first
// position and takes the last value, and empty strings and arrays are not written at all. KvList
// reproduces exactly that, so the KVs come out in the order and with the values the converter writes.

import { GgufValueType as T, type GgufKv, type GgufValue } from '../../gguf/types.ts';

export class KvList {
  private readonly entries = new Map<string, GgufKv>();

  private set(key: string, type: number, value: GgufValue): void {
    this.entries.set(key, { key, type, value });
  }

  /** add_string: an empty string is not written. */
  string(key: string, value: string): void {
    if (value.length === 0) return;
    this.set(key, T.STRING, value);
  }

  uint32(key: string, value: number): void {
    this.set(key, T.UINT32, value);
  }

  bool(key: string, value: boolean): void {
    this.set(key, T.BOOL, value);
  }

  /** add_array: an empty array is not written; the element type is what Python's values map to. */
  array(key: string, elementType: number, items: readonly GgufValue[]): void {
    if (items.length === 0) return;
    this.set(key, T.ARRAY, { elementType, items });
  }

  remove(key: string): void {
    this.entries.delete(key);
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  toArray(): GgufKv[] {
    return [...this.entries.values()];
  }
}

/** gguf-py's Keys.Tokenizer names, for the keys this module writes. */
export const TokenizerKey = {
  MODEL: 'tokenizer.ggml.model',
  PRE: 'tokenizer.ggml.pre',
  LIST: 'tokenizer.ggml.tokens',
  TOKEN_TYPE: 'tokenizer.ggml.token_type',
  SCORES: 'tokenizer.ggml.scores',
  MERGES: 'tokenizer.ggml.merges',
  ADD_PREFIX: 'tokenizer.ggml.add_space_prefix',
  CHAT_TEMPLATE: 'tokenizer.chat_template',
  CHAT_TEMPLATES: 'tokenizer.chat_templates',
  NORMALIZER_LOWERCASE: 'tokenizer.ggml.normalizer.lowercase',
  NORMALIZER_STRIP_ACCENTS: 'tokenizer.ggml.normalizer.strip_accents',
} as const;

/**
 * The special-token kinds GGUFWriter has an `add_<kind>_token_id` for, and their keys (note gguf-py's
 * spelling "seperator" and "unknown"). A kind without a handler (cls; and prefix/suffix/middle at this commit)
 * is skipped, as there.
 */
export const SPECIAL_TOKEN_ID_KEYS: Readonly<Record<string, string>> = {
  bos: 'tokenizer.ggml.bos_token_id',
  eos: 'tokenizer.ggml.eos_token_id',
  unk: 'tokenizer.ggml.unknown_token_id',
  sep: 'tokenizer.ggml.seperator_token_id',
  pad: 'tokenizer.ggml.padding_token_id',
  mask: 'tokenizer.ggml.mask_token_id',
  eot: 'tokenizer.ggml.eot_token_id',
  eom: 'tokenizer.ggml.eom_token_id',
};

/** The kinds with an `add_add_<kind>_token` handler. */
export const ADD_SPECIAL_TOKEN_KEYS: Readonly<Record<string, string>> = {
  bos: 'tokenizer.ggml.add_bos_token',
  eos: 'tokenizer.ggml.add_eos_token',
  sep: 'tokenizer.ggml.add_sep_token',
};

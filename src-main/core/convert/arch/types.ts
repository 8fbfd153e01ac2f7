// What one architecture module provides: the Hugging Face class names it converts, the GGUF
// architecture, its hparams → GGUF keys (in the converter's order), and its tensors (names, shapes,
// per-tensor transforms), as llama.cpp's conversion/<arch>.py does.

import type { GgufKv } from '../../gguf/types.ts';
import type { HfConfig } from '../hf-config.ts';
import type { SourceTensor } from '../folder.ts';

/** Rows of an output tensor taken from one source tensor, in order. */
export interface Segment {
  readonly src: SourceTensor;
  /** Rows this segment contributes (rows = elements / last dimension). */
  readonly rows: number;
  /**
   * Llama's Q/K permutation within this segment: heads of (rows / heads) rows, each head's two
   * halves interleaved row by row (`reshape(h, 2, r/h/2, …).swapaxes(1, 2)`).
   */
  readonly permuteHeads?: number;
}

/** One tensor of the converted file, before its output type is chosen. */
export interface ConvTensor {
  /** GGUF name. */
  readonly name: string;
  /** Outermost dimension first (the source's order; GGUF stores it reversed). */
  readonly shape: readonly number[];
  /** Where the rows come from; absent for generated tensors. */
  readonly segments?: readonly Segment[];
  /** A generated float32 tensor (Llama 3.1's rope_freqs). */
  readonly data?: Float32Array;
  /** Gemma's norms: weight + 1, in float32. */
  readonly addOne?: boolean;
}

export interface ArchContext {
  readonly config: HfConfig;
  /** The source tensors in the converter's order. */
  readonly tensors: readonly SourceTensor[];
  /** The output ftype (LlamaFileType id), for general.file_type. */
  readonly fileType: number;
  /** tokenizer.json's vocabulary + added tokens, when the folder has no tokenizer.model. */
  readonly tokenizerJsonVocab?: number;
}

export interface ArchModule {
  readonly hfArchitectures: readonly string[];
  /** general.architecture. */
  readonly ggufArch: string;
  /** KVs written while the tensors are prepared, so right after general.architecture (Phi-3's rope attn_factor). */
  earlyKvs?(ctx: ArchContext): GgufKv[];
  /** set_gguf_parameters: every KV, general.file_type included, in the converter's order. */
  hparamKvs(ctx: ArchContext): GgufKv[];
  /** The output tensors in the converter's order (generated ones first). */
  tensors(ctx: ArchContext): ConvTensor[];
}

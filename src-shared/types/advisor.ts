// The advisor's answer: per quant type, how big the file is and how much memory running it takes,
// where it fits, and which type to pick and why. This is the JSON of `quantfit recommend --json`
// and the payload the desktop app shows.

import type { HardwareProfile } from './hardware.ts';
import type { Message } from '../message.ts';

/** Where a model runs: every layer on the GPU, some layers on it, all in system RAM, or nowhere. */
export type Fit = 'gpu' | 'partial' | 'cpu' | 'none';

/** One quant type's prediction at a given context length. */
export interface Estimate {
  /** llama-quantize ftype name, upper case: 'Q4_K_M', 'Q8_0', 'IQ2_XS'. */
  readonly type: string;
  /** Exact size of the GGUF file llama-quantize would write for this type. */
  readonly fileBytes: number;
  /** f16 K and V cache for the context length (GQA and sliding-window layers honoured). */
  readonly kvCacheBytes: number;
  /**
   * Compute (graph) buffers with flash attention: on the GPU as llama.cpp reserves them (advisor/gpu-memory.ts;
   * split between GPU and CPU, both buffers); on the CPU the part a prompt touches (advisor/cpu-memory.ts).
   */
  readonly computeBytes: number;
  /**
   * What llama.cpp keeps besides file, cache and compute, less what of the file it does not keep there: on
   * the CPU the repacked copies of the weights its SIMD kernels use, the output buffer and vocabulary, less
   * the file's unmapped header; all on the GPU, less the input layer (token_embd stays in RAM) and the
   * header (negative then); split, the host's output buffer and vocabulary and the output duplicate of tied
   * embeddings.
   */
  readonly runtimeBytes: number;
  /**
   * fileBytes + kvCacheBytes + computeBytes + runtimeBytes: what must be resident to run it — in RAM on the
   * CPU, in GPU memory all on the GPU, in both together when split.
   */
  readonly totalBytes: number;
  readonly fit: Fit;
  /** Repeating layers offloaded to the GPU (all of them for 'gpu', 0 for 'cpu'/'none'). */
  readonly gpuLayers: number;
  /** Perplexity increase on 7B LLaMA from llama.cpp PR 1684 (over its F16 figure, PPL_F16_LLAMA_7B); null when not measured. */
  readonly pplIncrease: number | null;
  /** This type cannot be made without an importance matrix. */
  readonly requiresImatrix: boolean;
  /** This model's own quality at this type, measured with llama.cpp (recommend --measure); absent when not measured. */
  readonly measured?: MeasuredQuality;
}

/** The F16 perplexity of 7B LLaMA in llama.cpp PR 1684's table, what pplIncrease is added to (Q4_0: 6.1565 = 5.9066 + 0.2499). */
export const PPL_F16_LLAMA_7B = 5.9066;

/** A type's quality measured on the model itself: KL divergence and perplexity against the original. */
export interface MeasuredQuality {
  readonly kld: number;
  readonly kldP99: number;
  readonly ppl: number;
  readonly pplReference: number;
  readonly sameTopP: number;
  /** Tokens scored. */
  readonly tokens: number;
  /** Quantized with an importance matrix computed over the same text. */
  readonly imatrix: boolean;
}

/** One row of the options table (the same shape as an Estimate). */
export type Option = Estimate;

export type ReasonCode =
  /** The recommended type fits here (type, fit, gpuLayers, totalBytes, budgetBytes). */
  | 'fits'
  /** The next better type and where it would (not) fit (type, fit, totalBytes, budgetBytes). */
  | 'step_up'
  /** The next smaller type and where it fits (type, fit, totalBytes). */
  | 'step_down'
  /** With a shorter context a better type fits (ctx, type, fit). */
  | 'shorter_context'
  /** A type was left out for lack of an importance matrix (type, types = what to use instead). */
  | 'needs_imatrix'
  /** Nothing fits at this context (type = smallest, totalBytes, budgetBytes). */
  | 'nothing_fits'
  /** This much more memory would make the smallest (or named) type fit (type, bytes). */
  | 'more_memory'
  /** The GPU memory figure is an estimate (Apple working-set limit, unknown free VRAM). */
  | 'gpu_memory_estimated'
  /** Part of the hardware is unknown; the estimate assumes the listed unknowns are absent. */
  | 'hardware_unknown';

/** A reason as data: a code plus the numbers behind it, for the UI to phrase in its language. */
export interface ReasonItem {
  readonly code: ReasonCode;
  readonly type?: string;
  readonly types?: readonly string[];
  readonly fit?: Fit;
  readonly ctx?: number;
  readonly gpuLayers?: number;
  readonly totalBytes?: number;
  readonly budgetBytes?: number;
  readonly bytes?: number;
  readonly detail?: string;
  /** hardware_unknown: what the probe could not learn that the estimate depends on. */
  readonly unknowns?: readonly Message[];
}

export interface Recommendation {
  /** The recommended ftype, or null when nothing fits at all. */
  readonly type: string | null;
  readonly fit: Fit;
  readonly gpuLayers: number;
  /** One or two English sentences. */
  readonly reason: string;
  /** The same reason as structured data. */
  readonly reasons: readonly ReasonItem[];
}

/** Memory the advisor plans with, after headroom for the OS and the runtime. */
export interface MemoryBudget {
  /** Usable GPU memory (largest single GPU; for unified memory the working set), 0 when none. */
  readonly gpuBytes: number;
  /** Usable system RAM for a CPU-only run. */
  readonly cpuBytes: number;
  /** GPU and RAM together for a partial offload (RAM not double-counted on unified machines). */
  readonly combinedBytes: number;
  readonly unified: boolean;
}

/** The whole answer of `quantfit recommend --json`. */
export interface RecommendReport {
  readonly hardware: HardwareProfile;
  readonly ctx: number;
  readonly budget: MemoryBudget;
  readonly options: readonly Option[];
  readonly recommended: Recommendation;
}

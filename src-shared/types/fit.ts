// What the fit job is asked to do and what it hands back: one definition for the CLI, the job host
// and the app (the request crosses the Electron IPC, so it is plain data).

import type { HardwareProfile } from './hardware.ts';
import type { Recommendation } from './advisor.ts';
import type { VerifyResult } from './ollama.ts';
import type { Message } from '../message.ts';

/**
 * Where the input came from when it is not a plain file of the user's (core/sources): names the
 * outputs (a blob's `sha256-…` makes a poor file name) and carries what the new model keeps.
 */
export interface FitSource {
  /** Stem for the output file and the default model name (`qwen2.5-0.5b-instruct`). */
  stem: string;
  /** An Ollama model it was read from: the default name is its name with the new type as the tag suffix. */
  ollamaName?: string | null;
  template?: string | null;
  system?: string | null;
  parameters?: Record<string, unknown> | null;
  license?: string[] | null;
}

/**
 * What to fit. The app sends the fields in FIT_REQUEST_FIELDS (contract.ts); main adds the output
 * path, Ollama host and threads from the settings; the CLI fills the rest from its flags.
 */
export interface FitRequest {
  /** The source GGUF (never modified), or a model reference (`ollama:NAME`, `hf:ORG/REPO`, a hub URL) the 'source' stage makes local. */
  modelPath: string;
  /** A llama-quantize type name or id (`Q4_K_M`, `q8_0`, `7`), or `auto` to let the advisor choose. */
  type: string;
  /** Context length for the prediction and `PARAMETER num_ctx`; default 4096, or the training context when shorter. */
  contextLength?: number | null;
  /** Folder for the quantized GGUF (and the Modelfile); default: the input's folder. */
  outputDir?: string | null;
  /** The output file itself (overrides outputDir and the default name `<input-stem>.<TYPE>.gguf`). */
  outputPath?: string | null;
  /** Ollama model name `model[:tag]`; default `<input-stem>:<type>` in lower case. */
  modelName?: string | null;
  /** Upload, create and verify in Ollama after quantizing (default true); false = quantize only. */
  register?: boolean;
  /** Replace an existing output file and an existing Ollama model of the same name. */
  force?: boolean;
  /** Replace an existing output file (default: `force`); for callers whose `force` means the model only. */
  replaceOutput?: boolean;
  /** Re-quantize an input that is already quantized (dequantize, quantize again: lower quality). */
  allowRequantize?: boolean;
  /** Importance matrix (llama-imatrix .dat or GGUF form). */
  imatrixPath?: string | null;
  /**
   * When the type needs an importance matrix and none is given, compute one with llama.cpp over the
   * calibration text (default true); the advisor may then choose the imatrix-only types.
   */
  makeImatrix?: boolean;
  /** After quantizing, measure the output against the input with llama.cpp (KL divergence, perplexity). */
  checkQuality?: boolean;
  /** The advisor's predicted memory when the caller has it; otherwise the job computes it. */
  predictedBytes?: number | null;
  /** Quantizer worker threads; 0 or absent = one per core. The output does not depend on it. */
  threads?: number;
  /** Ollama base URL; when given it counts as the user's explicit choice. */
  host?: string | null;
  system?: string | null;
  /** Write Quantfit's Go chat template even where Ollama (≥ 0.30) renders the GGUF's own (drops tool calling). */
  goTemplate?: boolean;
  /** Run the test prompt after create (default true). */
  verify?: boolean;
  /** Start `ollama serve` when no server answers and Ollama is installed. */
  startOllama?: boolean;
  /** 'auto' only: a profile probed earlier (the app caches one); otherwise this machine is probed. */
  hardware?: HardwareProfile | null;
  /** `modelPath` as an `ollama:` reference: pull it through Ollama first. */
  pull?: boolean;
  /** `modelPath` as a hub reference: the repo files to fetch (default: the best GGUF, or the model folder). */
  sourceFiles?: string[] | null;
  /** Where the input came from (an Ollama model, a hub download); null or absent for a plain file. */
  source?: FitSource | null;
  /** 'auto' only: "what if" memory sizes instead of the probed ones. */
  ramBytes?: number;
  vramBytes?: number;
  unified?: boolean;
}

/** How far the output strays from the input, as llama-perplexity --kl-divergence measures it (fractions). */
export interface FitQuality {
  ctx: number;
  chunks: number;
  /** Tokens scored. */
  tokens: number;
  reference: { ppl: number };
  candidate: { ppl: number };
  kld: { mean: number; median: number; p99: number; max: number };
  /** How often both put the same token on top. */
  sameTopP: number;
  /** RMS of the change in the probability of the actual next token. */
  rmsDeltaP: number;
}

/** What a finished fit hands back. */
export interface FitResult {
  /** The GGUF that was registered: the quantized output, or the input when quantizing was skipped. */
  outputPath: string;
  fileBytes: number;
  /** Lowercase hex sha256 of outputPath. */
  sha256: string;
  /** The llama-quantize type name (`Q8_0`). */
  type: string;
  elapsedMs: number;
  /** The Ollama model created, or null when not registered. */
  model: string | null;
  modelfilePath: string | null;
  /** The test run, or null when skipped or failed (then verifyError says why). */
  verify: VerifyResult | null;
  /** What the job warned about, as messages (rendered in the reader's language). */
  warnings: Message[];
  inputPath: string;
  /** False when the input already had the type and was registered as it is. */
  quantized: boolean;
  /** The input's type (`F32`), when it can be told. */
  sourceType: string | null;
  /** Context length used for the prediction and num_ctx; null when unknown. */
  ctx: number | null;
  /** Memory predicted for the model at ctx (file + KV cache + compute buffers). */
  predictedBytes: number | null;
  /** The advisor's answer when the type was 'auto'. */
  recommendation: Recommendation | null;
  /** Output tensors per ggml type (`{ Q8_0: 35, F32: 13 }`), when quantized. */
  tensorTypes: Record<string, number> | null;
  /** False when Ollama already had the blob (or nothing was registered). */
  uploaded: boolean;
  /** Why the test run failed (the model is registered regardless), or null. */
  verifyError: Message | null;
  /** The importance matrix the job computed (kept beside the output), or null. */
  imatrixPath: string | null;
  /** The quality check's figures (checkQuality), or null. */
  quality: FitQuality | null;
}

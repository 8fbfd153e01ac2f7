// What the Ollama bridge reports about models, as the CLI prints it and the app shows it (over IPC).
// Plain data only (no classes, no functions) so every value here survives structured clone.

/** One entry of `/api/tags`, flattened. */
export interface OllamaModelSummary {
  /** Display name as Ollama shows it, always with a tag (`llama3:latest`). */
  readonly name: string;
  readonly sizeBytes: number;
  /** Hex sha256 of the manifest (no `sha256:` prefix). */
  readonly digest: string;
  /** RFC 3339 timestamp as the server sent it. */
  readonly modifiedAt: string;
  readonly format: string | null;
  readonly family: string | null;
  readonly families: readonly string[];
  /** e.g. `8.0B`, `494.03M`. */
  readonly parameterSize: string | null;
  /** e.g. `Q4_K_M`, `F32`. */
  readonly quantization: string | null;
  readonly contextLength: number | null;
  readonly capabilities: readonly string[];
}

/** One entry of `/api/ps`. */
export interface RunningModel {
  readonly name: string;
  readonly digest: string;
  /** Total bytes Ollama allocated for the loaded model. */
  readonly sizeBytes: number;
  /** The part of `sizeBytes` in GPU memory (0 = CPU only). */
  readonly sizeVramBytes: number;
  /** Where it runs, derived from size/sizeVram: the PROCESSOR column of `ollama ps`. */
  readonly placement: 'gpu' | 'cpu' | 'split';
  /** Share of the model on the GPU, 0..100. */
  readonly gpuPercent: number;
  readonly contextLength: number | null;
  readonly expiresAt: string | null;
  readonly family: string | null;
  readonly quantization: string | null;
  readonly parameterSize: string | null;
}

/** `/api/show`, reduced to what the app displays and checks. */
export interface OllamaModelDetails {
  readonly name: string;
  readonly template: string;
  readonly system: string;
  /** The `parameters` text as Ollama printed it (one `name value` per line). */
  readonly parameters: string;
  /** The licence texts, joined with newlines as Ollama shows them ('' when none). */
  readonly license: string;
  readonly modelfile: string;
  readonly family: string | null;
  readonly parameterSize: string | null;
  readonly quantization: string | null;
  readonly capabilities: readonly string[];
  readonly modifiedAt: string | null;
  readonly modelInfo: Readonly<Record<string, unknown>>;
}

/** The result of the post-create smoke test (a short `/api/generate` plus `/api/ps`). */
export interface VerifyResult {
  readonly model: string;
  /** What the model wrote for the test prompt (trimmed to a few hundred chars). */
  readonly response: string;
  readonly doneReason: string | null;
  /** `load_duration` in ms. */
  readonly loadMs: number;
  /** `total_duration` in ms. */
  readonly totalMs: number;
  readonly promptTokens: number;
  readonly evalTokens: number;
  /** eval_count / eval_duration; null when the server reported no eval time. */
  readonly tokensPerSecond: number | null;
  /** From `/api/ps` after the load; null when the model was not listed (already unloaded). */
  readonly sizeBytes: number | null;
  readonly sizeVramBytes: number | null;
  readonly placement: RunningModel['placement'] | null;
  readonly contextLength: number | null;
  /** The advisor's predicted memory for this model, passed in by the caller. */
  readonly predictedBytes: number | null;
  /** sizeBytes - predictedBytes, and that as a percentage of predictedBytes. */
  readonly predictionErrorBytes: number | null;
  readonly predictionErrorPercent: number | null;
}

// Shapes the Ollama bridge hands to the CLI, the fit job and (over IPC) the renderer.
// Plain data only (no classes, no functions) so every value here survives structured clone.

import type { GgufKv } from '../gguf/types.ts';

/** Where the host came from: only an explicit user choice may point outside this machine. */
export type OllamaHostSource = 'default' | 'env' | 'user';

export interface OllamaHost {
  /** Normalised base URL without a trailing slash, e.g. `http://127.0.0.1:11434`. */
  readonly url: string;
  readonly source: OllamaHostSource;
  /** True when the host name is a loopback name or address. */
  readonly loopback: boolean;
}

/** What `probeServer` found. */
export type OllamaServerStatus =
  | { readonly state: 'running'; readonly host: string; readonly version: string }
  /** No server answered; `binary` is the `ollama` executable found (start it with `startServer`). */
  | { readonly state: 'stopped'; readonly host: string; readonly binary: string }
  /** No server and no `ollama` binary: `message` says how to install it. */
  | { readonly state: 'missing'; readonly host: string; readonly message: string; readonly installUrl: string };

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

/** Model families we know how to template; each has its own Go template in templates.ts. */
export type ChatFamily = 'llama2' | 'llama3' | 'chatml' | 'mistral' | 'gemma' | 'phi3';

/** What we decided to do about the chat template. */
export type TemplateChoice =
  /** We had no template to send, and Ollama's own detection picked one (seen in /api/show). */
  | { readonly kind: 'ollama'; readonly reason: string }
  /** Send our own Go template for `family`. */
  | { readonly kind: 'own'; readonly family: ChatFamily; readonly reason: string }
  /** A template the caller gave explicitly. */
  | { readonly kind: 'user'; readonly reason: string }
  /** Nothing applies: registered without a template, with a warning saying so. */
  | { readonly kind: 'none'; readonly reason: string };

/** Input of `registerGguf`: import one GGUF file into Ollama under `name`. */
export interface RegisterOptions {
  /** The GGUF to register (never modified). */
  readonly ggufPath: string;
  /** Model name, `model[:tag]` (tag defaults to `latest`). */
  readonly name: string;
  /** Base URL; when given it counts as the user's explicit choice (non-loopback allowed). */
  readonly host?: string;
  /** Lowercase hex sha256 of the file if already known (the quantizer computes it while writing). */
  readonly sha256?: string;
  /** `PARAMETER num_ctx` (the advisor's context). */
  readonly numCtx?: number;
  readonly system?: string;
  /** A Go template to use instead of the detected one. */
  readonly template?: string;
  /** Replace an existing model of the same name. Without it an existing name is refused. */
  readonly force?: boolean;
  /** Run the smoke test after create (default true). */
  readonly verify?: boolean;
  /** The advisor's predicted memory in bytes, shown next to what Ollama reports. */
  readonly predictedBytes?: number;
  /** Where to write the Modelfile: default `<base>.Modelfile` next to the GGUF; null writes none. */
  readonly modelfilePath?: string | null;
  /** Prompt for the smoke test. */
  readonly verifyPrompt?: string;
  /** Start `ollama serve` if no server answers and the binary is installed (default false). */
  readonly startServer?: boolean;
  /** The GGUF's metadata when the caller has it already (the quantizer's plan): skips re-reading the header. */
  readonly kv?: readonly GgufKv[];
}

export interface RegisterResult {
  /** Canonical name as created, `model:tag`. */
  readonly model: string;
  /** Absolute path of the registered GGUF. */
  readonly file: string;
  /** Lowercase hex sha256 of the GGUF as uploaded. */
  readonly sha256: string;
  /** False when the server already had the blob. */
  readonly uploaded: boolean;
  /** Path of the Modelfile written, or null when not written. */
  readonly modelfilePath: string | null;
  readonly template: TemplateChoice;
  /** The model's stop strings: those sent, or Ollama's own when it picked the template itself. */
  readonly stop: readonly string[];
  /** Null when verification was skipped or failed (then `verifyError` says why). */
  readonly verify: VerifyResult | null;
  /** Why the smoke test failed; the model is registered regardless. */
  readonly verifyError: string | null;
  readonly warnings: readonly string[];
}

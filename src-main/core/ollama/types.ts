// Shapes the Ollama bridge hands to the CLI, the fit job and (over IPC) the renderer.
// Plain data only (no classes, no functions) so every value here survives structured clone.

import type { GgufKv } from '../gguf/types.ts';
import type { VerifyResult } from '../../../src-shared/types/ollama.ts';
import type { Message } from '../../../src-shared/message.ts';

// The shapes that cross to the app live in src-shared (the renderer imports them from there).
export type { OllamaModelDetails, OllamaModelSummary, RunningModel, VerifyResult } from '../../../src-shared/types/ollama.ts';

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

/** Model families we know how to template; each has its own Go template in templates.ts. */
export type ChatFamily = 'llama2' | 'llama3' | 'chatml' | 'mistral' | 'gemma' | 'phi3';

/** What we decided to do about the chat template. */
export type TemplateChoice = (
  /** We had no template to send, and Ollama's own detection picked one (seen in /api/show). */
  | { readonly kind: 'ollama' }
  /** Send our own Go template for `family`. */
  | { readonly kind: 'own'; readonly family: ChatFamily }
  /** A template the caller gave explicitly. */
  | { readonly kind: 'user' }
  /** Nothing applies: registered without a template, with a warning saying so. */
  | { readonly kind: 'none' }
  /** No Go template sent: this Ollama (≥ 0.30) renders the GGUF's own chat template (tools included). */
  | { readonly kind: 'gguf' }
) & {
  /** Why, in English. */
  readonly reason: string;
  /** Why, as a message for the reader's language. */
  readonly reasonText: Message;
};

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
  /**
   * Write Quantfit's Go template for the model's family even where the server renders the GGUF's own
   * chat template (Ollama ≥ 0.30); a Go template drops tool calling. Older servers always get one.
   */
  readonly goTemplate?: boolean;
  /** Options the model keeps from the model it was made from (`ollama:` sources); ours (num_ctx) win, its `stop` wins over ours. */
  readonly parameters?: Readonly<Record<string, unknown>>;
  /** Licence texts, one layer each. */
  readonly license?: readonly string[];
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
  /** Its tensors' names and ggml types, likewise (checked against what the server can load). */
  readonly tensors?: ReadonlyArray<{ readonly name: string; readonly type: number }>;
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
  readonly verifyError: Message | null;
  readonly warnings: readonly Message[];
}

// The stages of a fit job, in the order they run: the one list the core's job runner checks its
// order against, the CLI's progress numbers and the app's progress screen draws, and cancel/cleanup
// unwinds (in reverse). To add a stage: add it here where it runs, write its stage function over the
// job context (src-main/core/jobs/), and call it in that order in runFitJob. Plain data: the renderer
// imports it through the contract (no node: or electron imports here).

export interface StageInfo {
  readonly id: string;
  /** What the stage does, for developers (user-facing labels live in the message catalogues). */
  readonly does: string;
  /** Drawn as a row on the app's progress screen. */
  readonly shownInApp: boolean;
  /** Talks to Ollama: skipped when the job only quantizes. */
  readonly ollama: boolean;
}

export const JOB_STAGES = [
  {
    id: 'source',
    does: 'resolve a model reference (hf:, modelscope:, ollama:, a hub URL) to a local file: download it, or read it in place (core/sources)',
    shownInApp: false,
    ollama: false,
  },
  {
    id: 'inspect',
    does: 'read the GGUF header (and the importance matrix); check that Ollama answers and read its version',
    shownInApp: false,
    ollama: false,
  },
  {
    id: 'advise',
    does: "choose the type ('auto': the advisor), output file and model name; refuse what Ollama cannot load, a taken name, a full disk",
    shownInApp: false,
    ollama: false,
  },
  {
    id: 'imatrix',
    does: 'compute an importance matrix with llama.cpp over the calibration text, when the chosen type needs one (core/engine)',
    shownInApp: false,
    ollama: false,
  },
  { id: 'quantize', does: 'write the quantized GGUF (a temp file renamed when complete); skipped when the input already has the type', shownInApp: true, ollama: false },
  {
    id: 'evaluate',
    does: 'measure the quantized model with llama.cpp (perplexity over the calibration text) (core/engine)',
    shownInApp: false,
    ollama: false,
  },
  { id: 'modelfile', does: 'choose the chat template and stop strings for this Ollama; write the Modelfile (temp until create succeeds)', shownInApp: false, ollama: true },
  { id: 'upload', does: "hash the GGUF unless the writer did; upload the blob unless Ollama has it", shownInApp: true, ollama: true },
  { id: 'create', does: 'create the model from the blob; confirm the template Ollama stored; keep the Modelfile', shownInApp: true, ollama: true },
  { id: 'verify', does: 'run the test prompt; compare the memory Ollama reports with the prediction', shownInApp: true, ollama: true },
] as const satisfies readonly StageInfo[];

export type Stage = (typeof JOB_STAGES)[number]['id'];

/** Every stage id, in order. */
export const STAGE_IDS: readonly Stage[] = JOB_STAGES.map((s) => s.id);

/** The stages the app's progress screen draws, in order. */
export const APP_STAGE_IDS: readonly Stage[] = JOB_STAGES.filter((s) => s.shownInApp).map((s) => s.id);

/** Position of a stage in the job (0-based). */
export function stageIndex(stage: Stage): number {
  return STAGE_IDS.indexOf(stage);
}

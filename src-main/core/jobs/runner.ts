// Runs a job's stages in the order of JOB_STAGES (src-shared/stages.ts) and keeps the one record of
// how far the job got and what exists because of it: the stage running, the stage the cancel came
// in, the warnings, and the files/blobs/models made. A stage may leave something to undo when the
// job fails (or only when it is cancelled); unwind() walks the stage list backwards running those.

import { STAGE_IDS, stageIndex, type Stage } from '../../../src-shared/stages.ts';
import type { Message } from '../../../src-shared/message.ts';
import { formatMessage } from '../../../src-shared/messages/index.ts';
import { throwIfAborted } from '../errors.ts';
import type { JobEvent } from '../progress.ts';

/** What exists now because of this job (the failure message and the app's "kept" note read it). */
export interface JobRecord {
  /** A finished output GGUF (kept when a later stage fails). */
  keptOutput: string | null;
  /** True while the output is being written: a failure then has removed the partial file. */
  writingOutput: boolean;
  /** The Ollama model name this job registers under, once chosen. */
  modelName: string | null;
  /** True when a model of that name existed before the job (it is replaced, never taken back). */
  modelExisted: boolean;
  /** sha256 of the GGUF, once known; blobOnServer: Ollama has it (uploaded now or before). */
  blobSha256: string | null;
  blobOnServer: boolean;
  /** The model this job created and that is still in Ollama. */
  modelCreated: string | null;
  /** The model this job created and removed again (cancelled), and why removing failed. */
  removedModel: string | null;
  removeError: Message | null;
}

/** Work to undo when the job stops early; `cancelled` tells a cancel from a failure. */
export type Undo = (cancelled: boolean) => Promise<void>;

export class StageRunner {
  /** The stage running now: the last one entered. */
  current: Stage | null = null;
  /** The stage running when the signal fired (the abort may only be noticed in a later stage). */
  abortedIn: Stage | null = null;
  readonly warnings: Message[] = [];
  readonly record: JobRecord = {
    keptOutput: null, writingOutput: false, modelName: null, modelExisted: false,
    blobSha256: null, blobOnServer: false, modelCreated: null, removedModel: null, removeError: null,
  };
  private readonly undos = new Map<Stage, Undo[]>();
  private readonly onAbort = (): void => {
    this.abortedIn ??= this.current;
  };

  constructor(
    readonly signal: AbortSignal | undefined,
    private readonly onEvent: ((e: JobEvent) => void) | undefined,
  ) {
    signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  /** Runs stage `id`; stages must come in JOB_STAGES order (a job's code and the list agree). */
  async run<T>(id: Stage, work: () => Promise<T>): Promise<T> {
    if (this.current !== null && stageIndex(id) <= stageIndex(this.current)) {
      throw new Error(`stage '${id}' cannot run after '${this.current}': JOB_STAGES lists it earlier`);
    }
    this.current = id;
    throwIfAborted(this.signal);
    return work();
  }

  /** Remembers `undo` for the stage running now; unwind() runs it if the job stops early. */
  onStop(undo: Undo): void {
    const stage = this.current ?? STAGE_IDS[0];
    if (stage === undefined) return;
    this.undos.set(stage, [...(this.undos.get(stage) ?? []), undo]);
  }

  /** Runs the undos of every stage entered, the last stage first (latest undo first within one). */
  async unwind(cancelled: boolean): Promise<void> {
    for (const stage of [...STAGE_IDS].reverse()) {
      for (const undo of [...(this.undos.get(stage) ?? [])].reverse()) await undo(cancelled);
    }
    this.undos.clear();
  }

  dispose(): void {
    this.signal?.removeEventListener('abort', this.onAbort);
  }

  emit = (e: JobEvent): void => {
    if (e.type === 'log' && e.level === 'warn') this.warnings.push(e.text ?? { code: 'common.text', params: { text: e.message } });
    this.onEvent?.(e);
  };

  start(stage: Stage, text?: Message): void {
    this.emit({ type: 'stage', stage, status: 'start', ...(text !== undefined ? { message: english(text), text } : {}) });
  }

  done(stage: Stage, text?: Message): void {
    this.emit({ type: 'stage', stage, status: 'done', ...(text !== undefined ? { message: english(text), text } : {}) });
  }

  skip(stage: Stage, text: Message): void {
    this.emit({ type: 'stage', stage, status: 'skipped', message: english(text), text });
  }

  info(stage: Stage, text: Message): void {
    this.emit({ type: 'log', level: 'info', stage, message: english(text), text });
  }

  warn(stage: Stage, text: Message): void {
    this.emit({ type: 'log', level: 'warn', stage, message: english(text), text });
  }
}

/** A stage's name for people (English: its id). */
export function stageName(stage: Stage): Message {
  return { code: `fit.stage.${stage}` };
}

/** A message's English text: what `message` carries next to `text` in every event. */
export function english(text: Message): string {
  return formatMessage(text, 'en');
}

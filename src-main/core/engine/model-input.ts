// The models llama.cpp runs for a job. llama.cpp reads GGUF files only, so a Hugging Face folder is
// converted (--outtype auto: the folder's own 16-bit type, which llama.cpp's CPU backend runs) into a
// hidden temp file in the job's work folder — once per job however many steps ask for it, and only
// when a step asks (a reference whose log-probs are cached is never converted) — and removed when
// the job releases its models (done, failed or cancelled). A GGUF file is used as it is.
// loadVocabulary() tokenizes for a folder without converting any weight.
// modelIdentity() says what a cache keyed by the model must change with, for a file or a folder.

import { randomBytes } from 'node:crypto';
import { readdir, realpath, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { formatBytes } from '../advisor/sizes.ts';
import { quantfitError, reasonOf, throwIfAborted } from '../errors.ts';
import { freeBytes, makeFolders, type MadeFolders } from '../fs-util.ts';
import { isModelFolder, readModelHeader } from '../convert/model.ts';
import { GgufWriter } from '../gguf/writer.ts';
import { sweepLeftovers } from '../leftovers.ts';
import { LlamaModel } from './llama.ts';
import type { JobEvent, Stage } from '../progress.ts';
import { formatMessage, msg } from '../../../src-shared/messages/index.ts';
import type { Message } from '../../../src-shared/message.ts';

/** How one step runs: its stage (the conversion's progress is reported under it), cancel and events. */
export interface EngineRun {
  readonly stage: Stage;
  readonly signal?: AbortSignal;
  readonly onEvent?: (e: JobEvent) => void;
}

export interface EngineModelsOptions {
  /** Where folder conversions go (made when missing, removed again on release while empty). */
  readonly workDir: string;
  /** The name a converted folder's general.* metadata is derived from (a hub snapshot's repo). */
  readonly nameFrom?: string;
}

/** The GGUF files llama.cpp loads for one job's models; release() when the job ends, however it ends. */
export class EngineModels {
  private readonly conversions = new Map<string, Promise<string>>();
  private readonly temps: string[] = [];
  private madeFolders: MadeFolders | null = null;

  constructor(private readonly options: EngineModelsOptions) {}

  /** The GGUF for `model`: the file itself, or the folder converted on the first ask (later asks share it). */
  async gguf(model: string, run: EngineRun): Promise<string> {
    if (!(await isModelFolder(model))) return model;
    const key = await realpath(model);
    let converted = this.conversions.get(key);
    if (converted === undefined) {
      converted = this.convert(model, run);
      this.conversions.set(key, converted);
      // A failed or cancelled conversion is not remembered: the next ask tries again.
      converted.catch(() => this.conversions.delete(key));
    }
    return converted;
  }

  /** Removes every conversion (and the work folder when this made it and it is empty). Safe to call again. */
  async release(): Promise<void> {
    const temps = this.temps.splice(0);
    this.conversions.clear();
    await Promise.all(temps.map((t) => rm(t, { force: true })));
    const made = this.madeFolders;
    this.madeFolders = null;
    await made?.undo();
  }

  private async convert(folder: string, run: EngineRun): Promise<string> {
    const { planConversion } = await import('../convert/plan.ts');
    const { convertFolder } = await import('../convert/write.ts');
    const nameFrom = this.options.nameFrom !== undefined ? { nameFrom: this.options.nameFrom } : {};
    const conv = await planConversion(folder, { outtype: 'auto', signal: run.signal, ...nameFrom });
    await conv.source.close();
    const { workDir } = this.options;
    await this.makeWorkDir();
    const free = await freeBytes(workDir);
    if (free !== null && free < conv.header.fileSize) {
      throw quantfitError('engine.input.noSpace', { folder, needs: formatBytes(conv.header.fileSize), free: formatBytes(free), dir: workDir }, { file: workDir });
    }
    throwIfAborted(run.signal);
    await sweepStaleConversions(workDir);
    const out = join(workDir, tempName(folder, 'gguf'));
    // Remembered before writing: the writer removes its partial file itself, release() the finished one.
    this.temps.push(out);
    info(run, msg('engine.input.converting', { folder, type: conv.outtype.toUpperCase(), size: formatBytes(conv.header.fileSize), file: out }));
    const statusText = msg('engine.input.progress');
    const onEvent = run.onEvent && ((e: JobEvent) => run.onEvent!(e.type === 'progress' ? { ...e, statusText } : e));
    const c = await convertFolder(folder, out, { outtype: 'auto', within: run.stage, signal: run.signal, ...(onEvent ? { onEvent } : {}), ...nameFrom });
    info(run, msg('engine.input.converted', { folder, seconds: c.seconds.toFixed(1) }));
    return out;
  }

  private async makeWorkDir(): Promise<void> {
    const made = await makeFolders(this.options.workDir).catch((err: unknown) => {
      throw quantfitError('engine.input.makeFolder', { dir: this.options.workDir, reason: reasonOf(err) }, { file: this.options.workDir }, err);
    });
    this.madeFolders ??= made;
  }
}

/**
 * `model`'s vocabulary alone, loaded by llama.cpp to tokenize with: a GGUF file's own; a folder's from
 * a header-only GGUF of its conversion (metadata, no tensors: no weight is read or converted), written
 * into `workDir` and removed once loaded. free() it when done.
 */
export async function loadVocabulary(model: string, workDir: string, signal?: AbortSignal): Promise<LlamaModel> {
  if (!(await isModelFolder(model))) return LlamaModel.load(model, { vocabOnly: true });
  const header = await readModelHeader(model, signal);
  const path = join(workDir, tempName(model, 'vocab.gguf'));
  try {
    const writer = await GgufWriter.create(path, { kv: header.kv, tensors: [], alignment: header.alignment, ...(signal ? { signal } : {}) });
    await writer.finish();
    return await LlamaModel.load(path, { vocabOnly: true });
  } finally {
    await rm(path, { force: true });
  }
}

/** `.quantfit-<folder>.<pid>.<random>.<ext>`: hidden, and the pid tells a killed job's leftover from a running one's. */
function tempName(folder: string, ext: string): string {
  return `.quantfit-${basename(folder)}.${process.pid}.${randomBytes(4).toString('hex')}.${ext}`;
}

const TEMP_NAME = /^\.quantfit-.+\.(\d{1,10})\.[0-9a-f]{8}\.(vocab\.)?gguf$/;

/**
 * Removes conversions in `dir` that a job killed before its release (no cleanup runs then) left behind:
 * those whose process is gone and that are older than a minute (another machine may share the folder).
 */
export function sweepStaleConversions(dir: string, now: number = Date.now()): Promise<string[]> {
  return sweepLeftovers(dir, { name: TEMP_NAME, kind: 'file' }, now);
}

function info(run: EngineRun, text: Message): void {
  run.onEvent?.({ type: 'log', level: 'info', stage: run.stage, message: formatMessage(text, 'en'), text });
}

/** Files in a model folder that are not the model: outputs and notes people keep beside it. */
const NOT_MODEL_FILE = /^\.|\.(gguf|logprobs|partial|md|modelfile)$/i;

/**
 * What a cache keyed by `model` must change with: a file's real path, size and modification time;
 * a folder's real path (a hub snapshot's names its commit) and the name, size and modification
 * time of every file of the model in it (config, weights, tokenizer — symlinks followed into the
 * hub's blobs), so that editing or replacing any of them makes a new key.
 */
export async function modelIdentity(model: string): Promise<Record<string, unknown>> {
  const real = await realpath(model);
  const st = await stat(real);
  if (!st.isDirectory()) return { file: real, size: st.size, mtimeMs: st.mtimeMs };
  const files: Array<[string, number, number]> = [];
  for (const name of (await readdir(real)).sort()) {
    if (NOT_MODEL_FILE.test(name)) continue;
    const f = await stat(join(real, name)).catch(() => null);
    if (f?.isFile() === true) files.push([name, f.size, f.mtimeMs]);
  }
  return { folder: real, files };
}

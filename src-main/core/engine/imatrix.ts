// Importance matrices from the model's own activations, as llama-imatrix collects them: llama.cpp's
// evaluation callback sees every matrix multiplication's input; for each weight matrix of a layer
// (blk.*) it sums x² per input column over the tokens (per expert for MoE: MUL_MAT_ID routes each
// token to its experts) and counts the tokens. Written in llama-imatrix's GGUF form.

import { tmpdir } from 'node:os';
import { dirname } from 'node:path';
import { quantfitError, throwIfAborted } from '../errors.ts';
import type { JobEvent } from '../progress.ts';
import { writeGgufImatrix, type ImatrixData } from '../imatrix/gguf-format.ts';
import { LlamaModel, type LlamaBindings } from './llama.ts';
import { chunkLayout, createChunkContext, decodeChunkGroupByMicroBatch, planChunks, TokenProgress } from './chunks.ts';
import { EngineModels } from './model-input.ts';

export const DEFAULT_IMATRIX_CTX = 512;

export interface ImatrixOptions {
  readonly text: string;
  /** Recorded in imatrix.datasets (llama-imatrix records the path as given). */
  readonly textFile: string;
  readonly ctx?: number;
  /** At most this many chunks (default: all the text holds). */
  readonly chunks?: number;
  readonly threads?: number;
  /** Collect output.weight too (llama-imatrix --process-output). */
  readonly processOutput?: boolean;
  readonly signal?: AbortSignal;
  readonly onEvent?: (e: JobEvent) => void;
  /**
   * The job's models for llama.cpp (a folder converted once, shared with its other steps; the caller
   * releases them). Default: this run's own, converting a folder into `workDir`, released at the end.
   */
  readonly models?: EngineModels;
  /** Where this run's own conversion of a folder goes (default: the output's folder, else the system's temp folder). */
  readonly workDir?: string;
}

const GGML_TYPE_F32 = 0;
/** llama-imatrix ignores multiplications over fewer tokens than this. */
const MIN_TOKENS = 16;
/**
 * llama.cpp's name for the final norm (res->t_embd), the last node before the output head. Without
 * --process-output nothing after it is collected and no logits are read, so the graph stops there:
 * the output matrix (n_embd × n_vocab per token) is not multiplied at all.
 */
const FINAL_NORM = 'result_norm';

/** "CUDA0#blk.0.attn_k.weight#0" → "blk.0.attn_k.weight": the weight's name without backend decorations. */
export function weightName(name: string): string {
  const start = name.indexOf('#');
  if (start < 0) return name;
  const end = name.indexOf('#', start + 1);
  return end < 0 ? name.slice(start + 1) : name.slice(start + 1, end);
}

interface Entry {
  sums: Float32Array;
  counts: number[];
}

/** Accumulates Σx² and token counts per weight matrix from llama.cpp's evaluation callback. */
class ActivationCollector {
  readonly entries = new Map<string, Entry>();
  private readonly mulMat: number;
  private readonly mulMatId: number;
  /** A failure inside the callback (it cannot throw through llama.cpp); rethrown after decode. */
  failure: Error | undefined;

  constructor(
    private readonly b: LlamaBindings,
    private readonly processOutput: boolean,
  ) {
    this.mulMat = b.ops.get('MUL_MAT')!;
    this.mulMatId = b.ops.get('MUL_MAT_ID')!;
  }

  /**
   * cb_eval: `ask` — do we want this node's data; otherwise — collect it, and say whether the rest of
   * the graph is to be computed (false stops it: llama.cpp's scheduler skips the remaining nodes).
   */
  readonly onEval = (node: bigint, ask: boolean): boolean => {
    if (this.failure) return false;
    try {
      return ask ? this.wants(node) : this.collect(node);
    } catch (err) {
      this.failure = err instanceof Error ? err : new Error(String(err));
      return false;
    }
  };

  private wants(node: bigint): boolean {
    const op = this.b.nodeOp(node);
    if (op === this.mulMatId) return true;
    if (op !== this.mulMat) return !this.processOutput && this.b.nodeName(node) === FINAL_NORM;
    const src1 = this.b.node(this.b.nodeSource(node, 1)!);
    if (src1.ne[1] < MIN_TOKENS || src1.type !== GGML_TYPE_F32) return false;
    const name = weightName(this.b.nodeName(this.b.nodeSource(node, 0)!));
    return name.startsWith('blk.') || (this.processOutput && name === 'output.weight');
  }

  private collect(pointer: bigint): boolean {
    const node = this.b.node(pointer);
    if (node.op !== this.mulMat && node.op !== this.mulMatId) return false; // the final norm: stop here
    const src0Ptr = this.b.nodeSource(pointer, 0)!;
    const src1Ptr = this.b.nodeSource(pointer, 1)!;
    const src0 = this.b.node(src0Ptr);
    const src1 = this.b.node(src1Ptr);
    const name = weightName(this.b.nodeName(src0Ptr));
    if (src1.nb[0] !== 4) throw new Error(`${name}: activations are not contiguous F32 rows`);
    const data = new Float32Array(this.b.nodeData(src1Ptr, Number(this.b.fn.ggml_nbytes(src1Ptr))));
    if (node.op === this.mulMatId) this.collectExperts(name, pointer, src0.ne[2], src1, data);
    else this.collectDense(name, src0, src1, data);
    return true;
  }

  /** MUL_MAT_ID: ids [n_expert_used, n_tokens], src1 [cols, n_expert_used or 1, n_tokens]. */
  private collectExperts(name: string, pointer: bigint, nExperts: number, src1: ReturnType<LlamaBindings['node']>, data: Float32Array): void {
    const idsPtr = this.b.nodeSource(pointer, 2)!;
    const ids = this.b.node(idsPtr);
    const nIds = ids.ne[0];
    const nTokens = src1.ne[2];
    if (ids.ne[1] !== nTokens) throw new Error(`${name}: expert ids for ${ids.ne[1]} tokens, activations for ${nTokens}`);
    if (src1.ne[3] !== 1) throw new Error(`${name}: activations with more than 3 dimensions`);
    const idView = new DataView(this.b.nodeData(idsPtr, Number(this.b.fn.ggml_nbytes(idsPtr))));
    const ne0 = src1.ne[0];
    const e = this.entry(name, ne0 * nExperts, nExperts);
    const touched = new Uint8Array(nExperts);
    for (let idx = 0; idx < nIds; idx++) {
      for (let row = 0; row < nTokens; row++) {
        const ex = idView.getInt32(row * ids.nb[1] + idx * ids.nb[0], true);
        if (ex < 0 || ex >= nExperts) throw new Error(`${name}: expert id ${ex} out of 0…${nExperts - 1}`);
        const x = ((idx % src1.ne[1]) * src1.nb[1] + row * src1.nb[2]) / 4;
        e.counts[ex]!++;
        touched[ex] = 1;
        addSquares(e.sums, ex * ne0, data, x, ne0);
      }
    }
    for (let ex = 0; ex < nExperts; ex++) if (touched[ex]) assertFinite(name, e.sums.subarray(ex * ne0, (ex + 1) * ne0));
  }

  /** MUL_MAT: one count per matrix (3-D weights: one sum row per matrix, activations broadcast over them). */
  private collectDense(name: string, src0: ReturnType<LlamaBindings['node']>, src1: ReturnType<LlamaBindings['node']>, data: Float32Array): void {
    const nMat = src0.ne[2] * src0.ne[3];
    const ne0 = src1.ne[0];
    const e = this.entry(name, ne0 * nMat, 1);
    for (let i3 = 0; i3 < src1.ne[3]; i3++) {
      for (let i2 = 0; i2 < src1.ne[2]; i2++) {
        const acc = ((i3 % src0.ne[3]) * src0.ne[2] + (i2 % src0.ne[2])) * ne0;
        for (let row = 0; row < src1.ne[1]; row++) {
          addSquares(e.sums, acc, data, (row * src1.nb[1] + i2 * src1.nb[2] + i3 * src1.nb[3]) / 4, ne0);
        }
      }
    }
    assertFinite(name, e.sums);
    const rows = src1.ne[1] * src1.ne[2] * src1.ne[3];
    for (let i = 0; i < e.counts.length; i++) e.counts[i]! += Math.floor(rows / nMat);
  }

  private entry(name: string, values: number, counts: number): Entry {
    let e = this.entries.get(name);
    if (!e) {
      e = { sums: new Float32Array(values), counts: new Array<number>(counts).fill(0) };
      this.entries.set(name, e);
    } else if (e.sums.length !== values || e.counts.length !== counts) {
      throw new Error(`${name}: inconsistent size (${e.sums.length} vs ${values} sums, ${e.counts.length} vs ${counts} counts)`);
    }
    return e;
  }
}

/**
 * sums[at…at+n) += x² for x in data[from…from+n), in float arithmetic as llama-imatrix's loop: the
 * square rounded to float (fround), then the sum of two floats, exact in double, rounded to float by
 * the store. Same activations give the same bits.
 */
function addSquares(sums: Float32Array, at: number, data: Float32Array, from: number, n: number): void {
  for (let j = 0; j < n; j++) {
    const x = data[from + j]!;
    sums[at + j] += Math.fround(x * x);
  }
}

function assertFinite(name: string, values: Float32Array): void {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i]!)) throw quantfitError('engine.imatrix.nonFinite', { tensor: name }, { tensor: name });
}

/** Runs the model (a GGUF file or a Hugging Face folder) over the text and returns its importance matrix (llama-imatrix's raw form). */
export async function collectImatrix(modelPath: string, options: ImatrixOptions): Promise<ImatrixData> {
  const models = options.models ?? new EngineModels({ workDir: options.workDir ?? tmpdir() });
  try {
    return await collectWith(models, modelPath, options);
  } finally {
    if (options.models === undefined) await models.release();
  }
}

async function collectWith(models: EngineModels, modelPath: string, options: ImatrixOptions): Promise<ImatrixData> {
  const ctx = options.ctx ?? DEFAULT_IMATRIX_CTX;
  const run = { stage: 'imatrix', ...(options.signal ? { signal: options.signal } : {}), ...(options.onEvent ? { onEvent: options.onEvent } : {}) } as const;
  const model = await LlamaModel.load(await models.gguf(modelPath, run));
  try {
    const plan = planChunks(model, options.text, { ctx, maxChunks: options.chunks, textFile: options.textFile });
    const layout = chunkLayout(ctx);
    const collector = new ActivationCollector(model.bindings, options.processOutput === true);
    // Every position produces logits, as in llama-imatrix: the last layer then runs over every token. One
    // micro-batch per decode keeps llama.cpp's output buffer at n_ubatch rows instead of n_batch.
    const context = createChunkContext(model, layout, { outputFrom: 0, threads: options.threads, onEval: collector.onEval });
    const progress = new TokenProgress('imatrix', ctx * plan.chunks, options.onEvent);
    try {
      for (let c = 0; c < plan.chunks; c += layout.nSeq) {
        throwIfAborted(options.signal);
        const count = Math.min(layout.nSeq, plan.chunks - c);
        await decodeChunkGroupByMicroBatch(context, plan, layout, c, count, { signal: options.signal });
        if (collector.failure) throw collector.failure;
        progress.add(count * ctx);
      }
    } finally {
      context.free();
    }
    if (collector.entries.size === 0) throw quantfitError('engine.imatrix.empty', {}, { file: modelPath });
    // The chunk count llama-imatrix records: whole chunks' worth of tokens seen by the busiest entry.
    const maxCount = Math.max(...[...collector.entries.values()].flatMap((e) => e.counts));
    return { entries: collector.entries, datasets: [options.textFile], chunkCount: Math.floor(maxCount / ctx), chunkSize: ctx };
  } finally {
    model.free();
  }
}

/** collectImatrix, written to `output` (GGUF form). */
export async function makeImatrix(modelPath: string, output: string, options: ImatrixOptions): Promise<ImatrixData> {
  const data = await collectImatrix(modelPath, { ...options, workDir: options.workDir ?? dirname(output) });
  throwIfAborted(options.signal);
  await writeGgufImatrix(output, data, options.signal);
  return data;
}

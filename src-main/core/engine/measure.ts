// This model's own quality per quant type (`recommend --measure`): each type quantized whole into a
// work folder and scored against the original as `quantfit eval` scores it (KL divergence, perplexity),
// the original's log-probs computed once; types that need an importance matrix get one computed once.

import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { REQUIRES_IMATRIX } from '../advisor/quality.ts';
import { throwIfAborted } from '../errors.ts';
import { sweepLeftovers } from '../leftovers.ts';
import { isModelFolder, readModelHeader } from '../convert/model.ts';
import type { GgufHeader } from '../gguf/types.ts';
import { imatrixKvOverrides, loadImatrix, type Imatrix } from '../imatrix/index.ts';
import type { JobEvent } from '../progress.ts';
import { parseFtype, type Ftype } from '../quant/ftypes.ts';
import { quantizeFile } from '../quant/pipeline.ts';
import { planQuantization } from '../quant/policy.ts';
import type { MeasuredQuality } from '../../../src-shared/types/advisor.ts';
import { formatMessage, msg } from '../../../src-shared/messages/index.ts';
import { evaluateQuant } from './eval.ts';
import { makeImatrix } from './imatrix.ts';
import { EngineModels } from './model-input.ts';

/** True when quantizing `header` to `ftype` needs an importance matrix (llama-quantize refuses it without one). */
export function typeNeedsImatrix(header: GgufHeader, ftype: Ftype): boolean {
  if (REQUIRES_IMATRIX.has(ftype.name)) return true;
  try {
    planQuantization(header, { ftype, allowRequantize: true });
    return false;
  } catch (err) {
    return (err as { code?: string }).code === 'quant.needsImatrix';
  }
}

export interface MeasureOptions {
  readonly text: string;
  readonly textFile: string;
  readonly ctx?: number;
  readonly chunks?: number;
  readonly threads?: number;
  /** A folder with room for one quantized copy; a work folder inside it is removed at the end. */
  readonly workDir: string;
  readonly signal?: AbortSignal;
  readonly onEvent?: (e: JobEvent) => void;
}

/** `.quantfit-measure-<pid>-XXXXXX`: the pid tells a killed measurement's folder from a running one's. */
export const MEASURE_WORK_FOLDER = { name: /^\.quantfit-measure-(\d{1,10})-[A-Za-z0-9]{6}$/, kind: 'directory' } as const;

/**
 * Each type's KL divergence and perplexity against `model` (a GGUF file or a Hugging Face folder; a
 * folder is quantized in one pass like `quantize`, and converted for llama.cpp once, in the work
 * folder, only for as long as the importance matrix and the original's log-probs need it).
 */
export async function measureTypes(model: string, types: readonly string[], options: MeasureOptions): Promise<Map<string, MeasuredQuality>> {
  const ftypes = types.map((t) => parseFtype(t));
  const folder = await isModelFolder(model);
  const header = await readModelHeader(model, options.signal);
  await sweepLeftovers(options.workDir, MEASURE_WORK_FOLDER);
  const work = await mkdtemp(join(options.workDir, `.quantfit-measure-${process.pid}-`));
  const models = new EngineModels({ workDir: work });
  const run = { ...(options.threads ? { threads: options.threads } : {}), ...(options.signal ? { signal: options.signal } : {}), ...(options.onEvent ? { onEvent: options.onEvent } : {}) };
  try {
    let imatrix: Imatrix | undefined;
    if (ftypes.some((f) => typeNeedsImatrix(header, f))) {
      const path = join(work, 'imatrix.gguf');
      await makeImatrix(model, path, { text: options.text, textFile: options.textFile, ctx: options.ctx, chunks: 32, models, ...run });
      imatrix = await loadImatrix(path);
    }
    const out = new Map<string, MeasuredQuality>();
    let chunks = options.chunks;
    for (const [index, ftype] of ftypes.entries()) {
      throwIfAborted(options.signal);
      // Which type the quantize and evaluate progress that follows belongs to.
      const note = msg('measure.typeStart', { type: ftype.name, index: index + 1, count: ftypes.length });
      options.onEvent?.({ type: 'log', level: 'info', message: formatMessage(note, 'en'), text: note });
      const path = join(work, `${ftype.name}.gguf`);
      const withImatrix = imatrix ? { imatrix: imatrix.entries, overrideKv: imatrixKvOverrides(imatrix) } : {};
      if (folder) await (await import('../convert/write.ts')).quantizeFolder(model, path, { ftype, ...withImatrix }, run);
      else await quantizeFile(model, path, { ftype, ...withImatrix }, run);
      const r = await evaluateQuant(model, path, { text: options.text, textFile: options.textFile, ctx: options.ctx, chunks, cacheDir: work, models, ...run });
      await rm(path, { force: true });
      // The original's log-probs are cached now, for exactly this many chunks: its conversion is not needed again.
      chunks = r.chunks;
      await models.release();
      out.set(ftype.name, {
        kld: r.kld.mean, kldP99: r.kld.p99, ppl: r.candidate.ppl, pplReference: r.reference.ppl, sameTopP: r.sameTopP, tokens: r.tokens, imatrix: imatrix !== undefined,
      });
    }
    return out;
  } finally {
    await models.release();
    await rm(work, { recursive: true, force: true });
  }
}

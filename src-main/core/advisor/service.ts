// One call for the CLI and the app: read a model's header, probe (or imagine) the machine, advise.

import type { Message } from '../../../src-shared/message.ts';
import { dirname } from 'node:path';
import { readModelHeader } from '../convert/model.ts';
import { probeHardware } from '../hardware/probe.ts';
import { applyOverrides, type HardwareOverrides } from '../hardware/override.ts';
import type { HardwareProfile } from '../hardware/types.ts';
import { adviseFromPlan } from './recommend.ts';
import { planModel } from './estimate.ts';
import { quantizerPlanner } from './planner.ts';
import type { RecommendReport } from './types.ts';

export interface RecommendModelOptions extends HardwareOverrides {
  /** Context length in tokens (default: 4096, or the model's training context when shorter). */
  readonly ctx?: number;
  /** An importance matrix is at hand: IQ2/IQ1 types may be recommended. */
  readonly hasImatrix?: boolean;
  /** A profile probed earlier (the app caches one); otherwise this machine is probed. */
  readonly hardware?: HardwareProfile;
  /** Where output will go, for the free-disk figure (default: the model's folder). */
  readonly outputDir?: string;
  /** The target Ollama's version, when known: types it cannot load are never recommended. */
  readonly ollamaVersion?: string | null;
}

export interface RecommendModelResult extends RecommendReport {
  /** ftypes the quantizer refused for this model, with its reason. */
  readonly skipped: readonly { readonly type: string; readonly reason: string; readonly message: Message }[];
}

export async function recommendModel(path: string, options: RecommendModelOptions = {}): Promise<RecommendModelResult> {
  // The probe mostly waits for child processes (lscpu, lspci, …): start it first, plan meanwhile.
  const probing = options.hardware ? Promise.resolve(options.hardware) : probeHardware({ outputDir: options.outputDir ?? dirname(path) });
  const header = await readModelHeader(path);
  const model = planModel(header, quantizerPlanner, { hasImatrix: options.hasImatrix === true });
  const probed = await probing;
  const hardware = applyOverrides(probed, {
    ...(options.ramBytes !== undefined ? { ramBytes: options.ramBytes } : {}),
    ...(options.vramBytes !== undefined ? { vramBytes: options.vramBytes } : {}),
    ...(options.unified === true ? { unified: true } : {}),
  });
  return adviseFromPlan(model, header, hardware, {
    hasImatrix: options.hasImatrix === true,
    ollamaVersion: options.ollamaVersion ?? null,
    ...(options.ctx !== undefined ? { ctx: options.ctx } : {}),
  });
}

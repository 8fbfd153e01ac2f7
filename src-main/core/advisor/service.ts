// One call for the CLI and the app: read a model's header, probe (or imagine) the machine, advise.

import type { Message } from '../../../src-shared/message.ts';
import { dirname } from 'node:path';
import { readModelHeader } from '../convert/model.ts';
import { probeHardware } from '../hardware/probe.ts';
import { applyOverrides, type HardwareOverrides } from '../hardware/override.ts';
import type { HardwareProfile } from '../hardware/types.ts';
import { adviseFromPlan } from './recommend.ts';
import { estimateAt, planModel, type PlanSummary } from './estimate.ts';
import { memoryBudget } from './budget.ts';
import { quantizerPlanner } from './planner.ts';
import type { Estimate, RecommendReport } from './types.ts';
import type { GgufHeader } from '../gguf/types.ts';

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

/** The machine a model is advised for: the given profile or this machine's, with any "what if" sizes applied. */
export async function machineFor(options: HardwareOverrides & { readonly hardware?: HardwareProfile; readonly outputDir: string }): Promise<HardwareProfile> {
  const probed = options.hardware ?? await probeHardware({ outputDir: options.outputDir });
  return applyOverrides(probed, {
    ...(options.ramBytes !== undefined ? { ramBytes: options.ramBytes } : {}),
    ...(options.vramBytes !== undefined ? { vramBytes: options.vramBytes } : {}),
    ...(options.unified === true ? { unified: true } : {}),
  });
}

export interface EstimatePlanOptions extends HardwareOverrides {
  readonly ctx: number;
  readonly hardware?: HardwareProfile;
  /** Where output will go, for the free-disk figure of a probe. */
  readonly outputDir: string;
}

/**
 * The advisor's estimate of one type already planned (a given --type, or the input as it is), on this
 * machine or the given one: the same figures `recommend` shows for that type.
 */
export async function estimatePlan(header: GgufHeader, type: string, plan: PlanSummary, options: EstimatePlanOptions): Promise<{ estimate: Estimate; hardware: HardwareProfile }> {
  const model = planModel(header, () => plan, { hasImatrix: true, types: [type] });
  const hardware = await machineFor(options);
  const estimate = estimateAt(model, options.ctx, memoryBudget(hardware), hardware.cpu.simd)[0]!;
  return { estimate, hardware };
}

/** A model's tensors as they are stored, as a plan: for estimating a file that is not re-quantized. */
export function storedPlan(header: GgufHeader): PlanSummary {
  return { fileBytes: header.fileSize, tensors: header.tensors.map((t) => ({ name: t.name, byteSize: t.byteSize, targetType: t.type, shape: t.shape, offset: t.offset })) };
}

export async function recommendModel(path: string, options: RecommendModelOptions = {}): Promise<RecommendModelResult> {
  // The probe mostly waits for child processes (lscpu, lspci, …): start it first, plan meanwhile.
  const probing = machineFor({ ...options, outputDir: options.outputDir ?? dirname(path) });
  const header = await readModelHeader(path);
  const model = planModel(header, quantizerPlanner, { hasImatrix: options.hasImatrix === true });
  const hardware = await probing;
  return adviseFromPlan(model, header, hardware, {
    hasImatrix: options.hasImatrix === true,
    ollamaVersion: options.ollamaVersion ?? null,
    ...(options.ctx !== undefined ? { ctx: options.ctx } : {}),
  });
}

// Per quant type: the exact file size (from the quantizer's own plan), the KV cache and compute
// buffers at a context length, and where the whole fits on a machine.

import type { GgufHeader } from '../gguf/types.ts';
import type { Estimate, Fit, MemoryBudget } from './types.ts';
import { kvCacheBytes } from './memory.ts';
import { cpuComputeBytes, cpuRuntimeBytes, weightResidency, type CpuSimd, type WeightTensor } from './cpu-memory.ts';
import { deviceWeights, offloadMemory, type DeviceWeights, type OffloadMemory } from './gpu-memory.ts';
import { modelParams, type ModelParams } from './model-params.ts';
import { ESTIMATED_FTYPES, REQUIRES_IMATRIX, pplIncrease, qualityRank } from './quality.ts';
import { describeError, errorMessage } from '../errors.ts';
import type { Message } from '../../../src-shared/message.ts';

/** What the advisor needs from a quantization plan (type, shape and offset: for the CPU's residency). */
export interface PlanSummary {
  readonly fileBytes: number;
  readonly tensors: readonly { readonly name: string; readonly byteSize: number; readonly targetType?: number; readonly shape?: readonly number[]; readonly offset?: number }[];
}

/** Plans one ftype for a header (the quantizer's planQuantization, or a stand-in in tests). */
export type Planner = (header: GgufHeader, ftype: string, hasImatrix: boolean) => PlanSummary;

/** A type's plan reduced to what placement needs: weights per device layer and the rest. */
export interface TypePlan {
  readonly type: string;
  readonly fileBytes: number;
  /** The weights grouped as llama.cpp assigns them to devices (input, repeating layers, output). */
  readonly devices: DeviceWeights;
  /** The tensors as the file stores them, when the plan says (for what a CPU run keeps resident). */
  readonly weights: readonly WeightTensor[] | undefined;
}

export interface PlannedModel {
  readonly params: ModelParams;
  readonly plans: readonly TypePlan[];
  /** Types the planner refused for this model, with its reason. */
  readonly skipped: readonly { readonly type: string; readonly reason: string; readonly message: Message }[];
}

const LAYER_TENSOR = /^blk\.(\d+)\./;

/** N of a blk.N.* tensor name, else -1; each name parsed once, as every type plans the same tensors. */
function layerIndexer(): (name: string) => number {
  const seen = new Map<string, number>();
  return (name) => {
    let il = seen.get(name);
    if (il === undefined) {
      const m = LAYER_TENSOR.exec(name);
      il = m ? Number(m[1]) : -1;
      seen.set(name, il);
    }
    return il;
  };
}

/** The plan's tensors as stored, when the plan says their types and places (a stand-in plan may not). */
function weightTensors(plan: PlanSummary): WeightTensor[] | undefined {
  const out: WeightTensor[] = [];
  for (const t of plan.tensors) {
    if (t.targetType === undefined || t.shape === undefined || t.offset === undefined) return undefined;
    out.push({ name: t.name, type: t.targetType, shape: t.shape, offset: t.offset, byteSize: t.byteSize });
  }
  return out;
}

function summarize(type: string, plan: PlanSummary, layers: number, layerOf: (name: string) => number): TypePlan {
  return { type, fileBytes: plan.fileBytes, devices: deviceWeights(plan.tensors, layers, layerOf), weights: weightTensors(plan) };
}

/** Plans every type once; sizes do not depend on the context, so other contexts reuse the plans. */
export function planModel(header: GgufHeader, planner: Planner, options: { hasImatrix: boolean; types?: readonly string[] }): PlannedModel {
  const params = modelParams(header);
  const plans: TypePlan[] = [];
  const skipped: { type: string; reason: string; message: Message }[] = [];
  const layerOf = layerIndexer();
  for (const type of options.types ?? ESTIMATED_FTYPES) {
    try {
      // Sizes of imatrix-only types are predicted as if a matrix were given: the user may make one.
      plans.push(summarize(type, planner(header, type, options.hasImatrix || REQUIRES_IMATRIX.has(type)), params.layerCount, layerOf));
    } catch (err) {
      skipped.push({ type, reason: describeError(err), message: errorMessage(err) });
    }
  }
  plans.sort((a, b) => qualityRank(a.type) - qualityRank(b.type));
  return { params, plans, skipped };
}

export interface Placement {
  readonly fit: Fit;
  readonly gpuLayers: number;
  /** Bytes on the GPU (0 for cpu/none). */
  readonly gpuBytes: number;
  /** GPU and host memory when layers are offloaded ('gpu', 'partial'; for 'none' on a GPU machine, all of them). */
  readonly offload: OffloadMemory | null;
}

/**
 * Where a type goes. All layers on the GPU when they fit there (gpu-memory.ts: weights but the input
 * layer, the whole KV cache, the compute buffer) and what stays in RAM fits RAM; otherwise the output layer
 * and as many of the last repeating layers as the GPU holds (llama.cpp offloads from the output end), as
 * long as the rest fits RAM; otherwise all in RAM (`cpuTotal`: what a CPU run keeps resident,
 * cpu-memory.ts); otherwise nowhere. On unified memory the GPU's part is RAM too, so both must fit RAM.
 */
export function place(plan: TypePlan, params: ModelParams, ctx: number, budget: MemoryBudget, cpuTotal: number): Placement {
  const all = budget.gpuBytes > 0 ? offloadMemory(params, plan.devices, ctx, params.layerCount) : null;
  if (all) {
    const ramOk = (m: OffloadMemory) => (budget.unified ? m.vramBytes + m.hostBytes : m.hostBytes) <= budget.cpuBytes;
    if (all.vramBytes <= budget.gpuBytes && ramOk(all)) return { fit: 'gpu', gpuLayers: params.layerCount, gpuBytes: all.vramBytes, offload: all };
    // Each layer moved to the GPU adds its weights and cache there: the most that fit is the one to try.
    for (let n = params.layerCount - 1; n >= 1; n--) {
      const m = offloadMemory(params, plan.devices, ctx, n);
      if (m.vramBytes > budget.gpuBytes) continue;
      if (ramOk(m)) return { fit: 'partial', gpuLayers: n, gpuBytes: m.vramBytes, offload: m };
      break;
    }
  }
  if (cpuTotal <= budget.cpuBytes) return { fit: 'cpu', gpuLayers: 0, gpuBytes: 0, offload: null };
  return { fit: 'none', gpuLayers: 0, gpuBytes: 0, offload: all };
}

/**
 * Every planned type at one context length. The figures are those of where it runs: on the GPU what
 * llama.cpp puts there (gpu-memory.ts), split between GPU and RAM both together, on the CPU what the
 * process keeps resident (cpu-memory.ts: mapped and repacked weights, the compute pages a prompt touches,
 * the runtime). `simd`: the CPU it runs on, which decides the weights llama.cpp repacks (none when not given).
 */
export function estimateAt(model: PlannedModel, ctx: number, budget: MemoryBudget, simd?: CpuSimd): Estimate[] {
  const kv = kvCacheBytes(model.params, ctx);
  const cpuCompute = cpuComputeBytes(model.params, ctx);
  const cpuRuntime = cpuRuntimeBytes(model.params);
  return model.plans.map((plan) => {
    // What must stay resident: the mapped file less the pages of repacked tensors, which nothing reads
    // again once copied (cpu-memory.ts), plus the copies.
    const w = plan.weights && simd ? weightResidency(plan.weights, simd) : { mappedBytes: plan.fileBytes, repackedBytes: 0, reclaimableBytes: 0 };
    const cpuTotal = w.mappedBytes - w.reclaimableBytes + w.repackedBytes + kv + cpuCompute + cpuRuntime;
    const placement = place(plan, model.params, ctx, budget, cpuTotal);
    const m = placement.offload;
    // Fully offloaded, the figure is the GPU's; split, the GPU's and RAM's together.
    const [computeBytes, totalBytes] = m === null
      ? [cpuCompute, cpuTotal]
      : placement.fit === 'gpu'
        ? [m.gpuComputeBytes, m.vramBytes]
        : [m.gpuComputeBytes + m.hostComputeBytes, m.vramBytes + m.hostBytes];
    return {
      type: plan.type,
      fileBytes: plan.fileBytes,
      kvCacheBytes: kv,
      computeBytes,
      runtimeBytes: totalBytes - plan.fileBytes - kv - computeBytes,
      totalBytes,
      fit: placement.fit,
      gpuLayers: placement.gpuLayers,
      pplIncrease: pplIncrease(plan.type),
      requiresImatrix: REQUIRES_IMATRIX.has(plan.type),
    };
  });
}

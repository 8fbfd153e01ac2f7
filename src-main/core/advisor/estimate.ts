// Per quant type: the exact file size (from the quantizer's own plan), the KV cache and compute
// buffers at a context length, and where the whole fits on a machine.

import type { GgufHeader } from '../gguf/types.ts';
import type { Estimate, Fit, MemoryBudget } from './types.ts';
import { computeBufferBytes, kvCacheBytes, layerKvBytes } from './memory.ts';
import { cpuComputeBytes, cpuRuntimeBytes, weightResidency, type CpuSimd, type WeightTensor } from './cpu-memory.ts';
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

/** A type's plan reduced to what placement needs: weights per repeating layer and the rest. */
export interface TypePlan {
  readonly type: string;
  readonly fileBytes: number;
  /** Weight bytes of blk.N.* tensors, index N. */
  readonly layerWeightBytes: readonly number[];
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
  const layerWeightBytes = new Array<number>(layers).fill(0);
  for (const t of plan.tensors) {
    const il = layerOf(t.name);
    if (il >= 0 && il < layers) layerWeightBytes[il] += t.byteSize;
  }
  return { type, fileBytes: plan.fileBytes, layerWeightBytes, weights: weightTensors(plan) };
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
}

/**
 * Where a model of `totalBytes` goes. All on the GPU when it fits there; otherwise the last layers
 * (llama.cpp offloads from the output end) go to the GPU, each with its KV cache, alongside the compute
 * buffer, as long as they fit, and the rest plus a CPU compute buffer must fit in RAM; otherwise all in
 * RAM (`cpuTotal`: what a CPU run keeps resident, cpu-memory.ts); otherwise nowhere.
 * On unified memory the GPU part is RAM too, so the whole must fit the RAM budget.
 */
export function place(plan: TypePlan, params: ModelParams, ctx: number, budget: MemoryBudget, kvBytes: number, computeBytes: number, cpuTotal: number): Placement {
  const total = plan.fileBytes + kvBytes + computeBytes;
  if (budget.gpuBytes > 0 && total <= budget.gpuBytes && (!budget.unified || total <= budget.cpuBytes)) {
    return { fit: 'gpu', gpuLayers: params.layerCount, gpuBytes: total };
  }
  // Split between devices, the CPU runs its layers with a compute buffer of its own.
  const ramOk = (gpuPart: number) => (budget.unified ? total + computeBytes : total - gpuPart + computeBytes) <= budget.cpuBytes;
  if (budget.gpuBytes > 0) {
    let used = computeBytes;
    let layers = 0;
    for (let il = params.layerCount - 1; il >= 0; il--) {
      const add = plan.layerWeightBytes[il]! + layerKvBytes(params, il, ctx);
      if (used + add > budget.gpuBytes) break;
      used += add;
      layers++;
    }
    if (layers > 0 && ramOk(used)) return { fit: 'partial', gpuLayers: layers, gpuBytes: used };
  }
  if (cpuTotal <= budget.cpuBytes) return { fit: 'cpu', gpuLayers: 0, gpuBytes: 0 };
  return { fit: 'none', gpuLayers: 0, gpuBytes: 0 };
}

/**
 * Every planned type at one context length. The figures are those of where it runs: on the GPU (or split)
 * the weights, cache and compute buffer as llama.cpp reserves them; on the CPU what the process keeps
 * resident (cpu-memory.ts: mapped and repacked weights, the compute pages a prompt touches, the runtime).
 * `simd`: the CPU it runs on, which decides the weights llama.cpp repacks (none when not given).
 */
export function estimateAt(model: PlannedModel, ctx: number, budget: MemoryBudget, simd?: CpuSimd): Estimate[] {
  const kv = kvCacheBytes(model.params, ctx);
  const compute = computeBufferBytes(model.params, ctx);
  const cpuCompute = cpuComputeBytes(model.params, ctx);
  const cpuRuntime = cpuRuntimeBytes(model.params);
  return model.plans.map((plan) => {
    // What must stay resident: the mapped file less the pages of repacked tensors, which nothing reads
    // again once copied (cpu-memory.ts), plus the copies.
    const w = plan.weights && simd ? weightResidency(plan.weights, simd) : { mappedBytes: plan.fileBytes, repackedBytes: 0, reclaimableBytes: 0 };
    const cpuTotal = w.mappedBytes - w.reclaimableBytes + w.repackedBytes + kv + cpuCompute + cpuRuntime;
    const placement = place(plan, model.params, ctx, budget, kv, compute, cpuTotal);
    const onCpu = placement.fit === 'cpu' || (placement.fit === 'none' && budget.gpuBytes === 0);
    return {
      type: plan.type,
      fileBytes: plan.fileBytes,
      kvCacheBytes: kv,
      computeBytes: onCpu ? cpuCompute : compute,
      runtimeBytes: onCpu ? cpuTotal - plan.fileBytes - kv - cpuCompute : 0,
      totalBytes: onCpu ? cpuTotal : plan.fileBytes + kv + compute,
      fit: placement.fit,
      gpuLayers: placement.gpuLayers,
      pplIncrease: pplIncrease(plan.type),
      requiresImatrix: REQUIRES_IMATRIX.has(plan.type),
    };
  });
}

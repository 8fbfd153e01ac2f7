// Picks a quant type from the estimates and says why, as data (codes and numbers) and in English.

import { formatMessage } from '../../../src-shared/messages/index.ts';
import type { HardwareProfile } from '../hardware/types.ts';
import type { Estimate, Fit, ReasonItem, Recommendation, RecommendReport } from './types.ts';
import { estimateAt, planModel, type PlannedModel, type Planner } from './estimate.ts';
import { memoryBudget, type BudgetDetail } from './budget.ts';
import { ACCEPTABLE_FLOOR_TYPE, CPU_BEST_TYPE, LADDER, REQUIRES_IMATRIX } from './quality.ts';
import { DEFAULT_CTX } from './constants.ts';
import { formatBytes } from './sizes.ts';
import type { GgufHeader } from '../gguf/types.ts';
import { quantfitError } from '../errors.ts';
import { ftypeLoads } from '../ollama/compat.ts';

const TIER_ORDER: readonly Fit[] = ['gpu', 'partial', 'cpu'];
const FIT_RANK: Readonly<Record<Fit, number>> = { gpu: 0, partial: 1, cpu: 2, none: 3 };
/** Shortest context the advisor suggests. */
const MIN_SUGGESTED_CTX = 512;

export interface RecommendOptions {
  /** An importance matrix is at hand (or will be computed): imatrix-only types are allowed. */
  readonly hasImatrix: boolean;
  /** The target Ollama's version, when known: types it cannot load are never recommended. */
  readonly ollamaVersion?: string | null;
}

interface Choice {
  readonly estimate: Estimate | null;
}

function ladderIndex(type: string): number {
  const i = LADDER.indexOf(type);
  return i < 0 ? LADDER.length : i;
}

/** The ladder rows present in the estimates, best first, minus what the user cannot make or load. */
function candidates(options: readonly Estimate[], hasImatrix: boolean, ollamaVersion: string | null): Estimate[] {
  return LADDER
    .map((t) => options.find((o) => o.type === t))
    .filter((o): o is Estimate => o !== undefined && (hasImatrix || !REQUIRES_IMATRIX.has(o.type)) && ftypeLoads(o.type, ollamaVersion));
}

/**
 * The best type in the best tier: GPU over partial offload over CPU, as long as the tier still allows
 * a type at least as good as ACCEPTABLE_FLOOR_TYPE; on the CPU side nothing better than CPU_BEST_TYPE
 * (bandwidth-bound). When no tier reaches the floor, the best quality that fits anywhere.
 */
function choose(options: readonly Estimate[], hasImatrix: boolean, ollamaVersion: string | null): Choice {
  const ladder = candidates(options, hasImatrix, ollamaVersion);
  const floor = ladderIndex(ACCEPTABLE_FLOOR_TYPE);
  const cpuCap = ladderIndex(CPU_BEST_TYPE);
  const bestIn = (tier: Fit) => ladder.find((o) => o.fit === tier && (tier === 'gpu' || ladderIndex(o.type) >= cpuCap));
  for (const tier of TIER_ORDER) {
    const pick = bestIn(tier);
    if (pick && ladderIndex(pick.type) <= floor) return { estimate: pick };
  }
  const capped = TIER_ORDER.map(bestIn).filter((o): o is Estimate => o !== undefined);
  // Without a capped pick (e.g. only bigger types can be made from this input), any type that fits.
  const fitting = capped.length > 0 ? capped : ladder.filter((o) => o.fit !== 'none');
  fitting.sort((a, b) => ladderIndex(a.type) - ladderIndex(b.type) || FIT_RANK[a.fit] - FIT_RANK[b.fit]);
  return { estimate: fitting[0] ?? null };
}

/** True when `a` is a better outcome than `b` (better tier at acceptable quality, or better quality). */
function better(a: Estimate | null, b: Estimate | null): boolean {
  if (a === null) return false;
  if (b === null) return true;
  const qa = ladderIndex(a.type), qb = ladderIndex(b.type);
  if (qa < qb) return true;
  return qa === qb && FIT_RANK[a.fit] < FIT_RANK[b.fit];
}

function budgetFor(fit: Fit, budget: BudgetDetail): number {
  return fit === 'gpu' || fit === 'partial' ? budget.gpuBytes : budget.cpuBytes;
}

const GB = formatBytes;
const PLACE: Readonly<Record<Fit, string>> = {
  gpu: 'entirely on the GPU', partial: 'partly on the GPU', cpu: 'in system RAM, on the CPU', none: 'nowhere',
};

function sentence(r: ReasonItem): string {
  switch (r.code) {
    case 'fits':
      return r.fit === 'partial'
        ? `${r.type} needs ${GB(r.totalBytes!)}; ${r.gpuLayers} layers fit on the GPU (${GB(r.budgetBytes!)} usable), the rest runs from RAM.`
        : `${r.type} needs ${GB(r.totalBytes!)} and fits ${PLACE[r.fit!]} (${GB(r.budgetBytes!)} usable).`;
    case 'step_up':
      return r.detail === 'slower_on_cpu'
        ? `${r.type} would fit too (${PLACE[r.fit!]}) but runs slower on the CPU for little gain.`
        : r.fit === 'none'
          ? `${r.type} (${GB(r.totalBytes!)}) does not fit.`
          : `${r.type} (${GB(r.totalBytes!)}) would only fit ${PLACE[r.fit!]}.`;
    case 'step_down':
      return `${r.type} (${GB(r.totalBytes!)}) is the smaller alternative, ${PLACE[r.fit!]}.`;
    case 'shorter_context':
      return `With a context of ${r.ctx} tokens, ${r.type} would fit ${PLACE[r.fit!]}.`;
    case 'needs_imatrix':
      return `${r.type} would fit ${PLACE[r.fit!]} but needs an importance matrix${r.types && r.types.length > 0 ? `; without one, ${r.types.join(' or ')}` : ''}.`;
    case 'nothing_fits':
      return `Nothing fits at a context of ${r.ctx} tokens: even ${r.type} needs ${GB(r.totalBytes!)} and ${GB(r.budgetBytes!)} is usable.`;
    case 'more_memory':
      return `${r.type} needs ${GB(r.bytes!)} more memory.`;
    case 'gpu_memory_estimated':
      return 'The GPU memory limit is an estimate.';
    case 'hardware_unknown':
      return `Not known: ${(r.unknowns ?? []).map((u) => formatMessage(u, 'en')).join('; ')}.`;
  }
}

export function reasonText(reasons: readonly ReasonItem[]): string {
  return reasons.map(sentence).join(' ');
}

/** Recommends at `ctx`; looks at shorter contexts only to name what they would allow. */
export function recommendFrom(model: PlannedModel, hardware: HardwareProfile, ctx: number, options: RecommendOptions): { options: Estimate[]; recommended: Recommendation; budget: BudgetDetail } {
  const budget = memoryBudget(hardware);
  const estimates = estimateAt(model, ctx, budget, hardware.cpu.simd);
  const version = options.ollamaVersion ?? null;
  const { estimate: pick } = choose(estimates, options.hasImatrix, version);
  const ladder = candidates(estimates, options.hasImatrix, version);
  const reasons: ReasonItem[] = [];

  if (pick) {
    reasons.push({ code: 'fits', type: pick.type, fit: pick.fit, gpuLayers: pick.gpuLayers, totalBytes: pick.totalBytes, budgetBytes: budgetFor(pick.fit, budget) });
    const i = ladder.indexOf(pick);
    const up = i > 0 ? ladder[i - 1]! : undefined;
    if (up) {
      const slower = up.fit !== 'none' && pick.fit !== 'gpu' && FIT_RANK[up.fit] <= FIT_RANK[pick.fit];
      reasons.push({ code: 'step_up', type: up.type, fit: up.fit, totalBytes: up.totalBytes, budgetBytes: budgetFor(up.fit === 'none' ? pick.fit : up.fit, budget), ...(slower ? { detail: 'slower_on_cpu' } : {}) });
    }
    const down = ladder[i + 1];
    if (down && down.fit !== 'none') reasons.push({ code: 'step_down', type: down.type, fit: down.fit, totalBytes: down.totalBytes });
  } else {
    const smallest = ladder[ladder.length - 1];
    if (smallest) {
      reasons.push({ code: 'nothing_fits', ctx, type: smallest.type, totalBytes: smallest.totalBytes, budgetBytes: budget.combinedBytes });
      reasons.push({ code: 'more_memory', type: smallest.type, bytes: Math.max(0, smallest.totalBytes - budget.combinedBytes) });
    }
  }

  // A shorter context that allows a better outcome: the longest such, halving down to 512.
  const pickIsTop = pick !== null && pick.fit === 'gpu' && ladder.indexOf(pick) === 0;
  if (!pickIsTop) {
    for (let c = Math.floor(ctx / 2); c >= MIN_SUGGESTED_CTX; c = Math.floor(c / 2)) {
      const alt = choose(estimateAt(model, c, budget, hardware.cpu.simd), options.hasImatrix, version).estimate;
      if (better(alt, pick) || (alt !== null && pick !== null && alt.type === pick.type && FIT_RANK[alt.fit] < FIT_RANK[pick.fit])) {
        reasons.push({ code: 'shorter_context', ctx: c, type: alt!.type, fit: alt!.fit });
        break;
      }
    }
  }

  // Types left out for want of an importance matrix that would have done better.
  if (!options.hasImatrix) {
    const imatrixOnly = candidates(estimates, true, version).filter((o) => REQUIRES_IMATRIX.has(o.type) && o.fit !== 'none');
    // Only worth saying when no type the user can make already reaches that placement.
    const reachable = (fit: Fit) => ladder.some((o) => o.fit !== 'none' && FIT_RANK[o.fit] <= FIT_RANK[fit]);
    const helpful = imatrixOnly.find((o) => (pick === null || FIT_RANK[o.fit] < FIT_RANK[pick.fit]) && !reachable(o.fit));
    if (helpful) {
      const instead = ladder.filter((o) => (o.type === 'Q2_K' || o.type === 'Q3_K_S') && o.fit !== 'none').map((o) => o.type);
      reasons.push({ code: 'needs_imatrix', type: helpful.type, fit: helpful.fit, types: instead });
    }
  }

  if (budget.gpuEstimated && pick !== null && pick.fit !== 'cpu') reasons.push({ code: 'gpu_memory_estimated' });
  const relevantUnknowns = hardware.unknowns.filter((u) => /^hardware\.unknown\.(ramTotal|vram|gpu)/.test(u.code));
  if (relevantUnknowns.length > 0) reasons.push({ code: 'hardware_unknown', unknowns: relevantUnknowns });

  const recommended: Recommendation = {
    type: pick?.type ?? null,
    fit: pick?.fit ?? 'none',
    gpuLayers: pick?.gpuLayers ?? 0,
    reason: reasonText(reasons),
    reasons,
  };
  return { options: estimates, recommended, budget };
}

export interface AdviseOptions extends RecommendOptions {
  readonly ctx?: number;
  readonly planner: Planner;
}

/** The whole answer of `quantfit recommend`: plan every type, estimate, place and pick. */
export function advise(header: GgufHeader, hardware: HardwareProfile, options: AdviseOptions): RecommendReport & { skipped: PlannedModel['skipped'] } {
  return adviseFromPlan(planModel(header, options.planner, { hasImatrix: options.hasImatrix }), header, hardware, options);
}

/**
 * advise for a model planned already: planning needs no hardware, so a caller can plan while the
 * hardware probe (mostly waiting for lscpu, lspci and the like) runs.
 */
export function adviseFromPlan(
  model: PlannedModel, header: GgufHeader, hardware: HardwareProfile, options: RecommendOptions & { readonly ctx?: number },
): RecommendReport & { skipped: PlannedModel['skipped'] } {
  if (model.plans.length === 0) {
    const first = model.skipped[0];
    throw first ? quantfitError('advisor.nothingPlannableBecause', { reason: first.message }, { file: header.path }) : quantfitError('advisor.nothingPlannable', {}, { file: header.path });
  }
  const ctx = options.ctx ?? Math.min(DEFAULT_CTX, model.params.contextLengthTrain ?? DEFAULT_CTX);
  const { options: estimates, recommended, budget } = recommendFrom(model, hardware, ctx, options);
  const { gpuEstimated: _omit, ...plainBudget } = budget;
  return { hardware, ctx, budget: plainBudget, options: estimates, recommended, skipped: model.skipped };
}

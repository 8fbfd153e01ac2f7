// The advisor's file sizes come from the quantizer's own plan, so they are exactly what
// `quantfit quantize` (and llama-quantize) would write.

import type { GgufHeader } from '../gguf/types.ts';
import { planQuantization } from '../quant/policy.ts';
import type { PlanSummary, Planner } from './estimate.ts';

export const quantizerPlanner: Planner = (header: GgufHeader, ftype: string, hasImatrix: boolean): PlanSummary => {
  const plan = planQuantization(header, { ftype, hasImatrix });
  return { fileBytes: plan.fileBytes, tensors: plan.tensors };
};

// How much memory the advisor may plan with on a machine, after the reserves in constants.ts.

import type { HardwareProfile } from '../hardware/types.ts';
import type { MemoryBudget } from './types.ts';
import { RUNTIME_RAM_OVERHEAD_BYTES, UNIFIED_GPU_RESERVE_BYTES, discreteGpuReserve, ramOsReserve } from './constants.ts';

export interface BudgetDetail extends MemoryBudget {
  /** The GPU figure rests on an estimate (Apple working set, GTT fraction). */
  readonly gpuEstimated: boolean;
}

/**
 * RAM: total minus the OS reserve and the runtime's own memory. GPU: the dedicated memory of every
 * offload-capable discrete GPU (llama.cpp splits layers across them) minus the driver reserve; with no
 * discrete GPU, the working set of a unified GPU, never more than the RAM budget. Integrated GPUs are
 * ignored when a discrete one is present.
 */
export function memoryBudget(hw: HardwareProfile): BudgetDetail {
  const ramTotal = hw.ram.totalBytes;
  const cpuBytes = ramTotal === null ? 0 : Math.max(0, ramTotal - ramOsReserve(ramTotal) - RUNTIME_RAM_OVERHEAD_BYTES);
  const discrete = hw.gpus.filter((g) => g.offload && !g.unified && g.vramTotalBytes !== null);
  if (discrete.length > 0) {
    const gpuBytes = discrete.reduce((s, g) => s + Math.max(0, g.vramTotalBytes! - discreteGpuReserve(g.vramTotalBytes!)), 0);
    return { gpuBytes, cpuBytes, combinedBytes: cpuBytes + gpuBytes, unified: false, gpuEstimated: false };
  }
  const unified = hw.gpus.filter((g) => g.offload && g.unified && g.workingSetBytes !== null);
  if (unified.length > 0) {
    const best = unified.reduce((a, b) => (b.workingSetBytes! > a.workingSetBytes! ? b : a));
    const gpuBytes = Math.min(cpuBytes, Math.max(0, best.workingSetBytes! - UNIFIED_GPU_RESERVE_BYTES));
    return { gpuBytes, cpuBytes, combinedBytes: cpuBytes, unified: true, gpuEstimated: best.workingSetEstimated };
  }
  return { gpuBytes: 0, cpuBytes, combinedBytes: cpuBytes, unified: false, gpuEstimated: false };
}

// "What if" machines: replace the probed RAM and/or GPU with sizes the user gives.

import type { GpuInfo, HardwareProfile } from './types.ts';
import { appleWorkingSetBytes, sharedGpuWorkingSetBytes } from './unified-memory.ts';
import { quantfitError } from '../errors.ts';

export interface HardwareOverrides {
  /** Total system RAM in bytes. */
  readonly ramBytes?: number;
  /** GPU memory in bytes (0: no GPU). With `unified`, the part of RAM the GPU may use. */
  readonly vramBytes?: number;
  /** The GPU shares system RAM (Apple Silicon, APU). */
  readonly unified?: boolean;
}

/** The unknowns a "what if" size replaces: the RAM's, and the GPUs' (their memory, their list). */
const RAM_UNKNOWN = /^hardware\.unknown\.ram/;
const GPU_UNKNOWN = /^hardware\.unknown\.(gpu|vram)/;

function hypotheticalGpu(bytes: number, unified: boolean, estimated: boolean): GpuInfo {
  return {
    vendor: 'other', model: unified ? 'hypothetical unified-memory GPU' : 'hypothetical GPU',
    vramTotalBytes: bytes, vramFreeBytes: null, unified,
    workingSetBytes: unified ? bytes : null, workingSetEstimated: estimated,
    backend: unified ? 'metal' : 'cuda', offload: true,
  };
}

/** The profile with the given parts replaced; `source` becomes 'override'. */
export function applyOverrides(hw: HardwareProfile, o: HardwareOverrides): HardwareProfile {
  if (o.ramBytes === undefined && o.vramBytes === undefined && o.unified !== true) return hw;
  for (const [name, v] of [['ram', o.ramBytes], ['vram', o.vramBytes]] as const) {
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 0)) throw quantfitError('hardware.sizeOption', { name, value: v });
  }
  let unknowns = [...hw.unknowns];
  const ram = o.ramBytes !== undefined ? { totalBytes: o.ramBytes, availableBytes: o.ramBytes } : hw.ram;
  if (o.ramBytes !== undefined) unknowns = unknowns.filter((u) => !RAM_UNKNOWN.test(u.code));
  const ramTotal = ram.totalBytes;

  let gpus: readonly GpuInfo[];
  if (o.vramBytes !== undefined || o.unified === true) {
    unknowns = unknowns.filter((u) => !GPU_UNKNOWN.test(u.code));
    if (o.vramBytes === 0) gpus = [];
    else if (o.unified === true) {
      if (o.vramBytes !== undefined) gpus = [hypotheticalGpu(o.vramBytes, true, false)];
      else if (ramTotal !== null) gpus = [hypotheticalGpu(appleWorkingSetBytes(ramTotal), true, true)];
      else throw quantfitError('hardware.unifiedNeedsRam');
    } else gpus = [hypotheticalGpu(o.vramBytes!, false, false)];
  } else if (o.ramBytes !== undefined) {
    // A unified GPU's share follows the RAM; recompute estimated working sets for the new size.
    gpus = hw.gpus.map((g) => {
      if (!g.unified || !g.workingSetEstimated || ramTotal === null) return g;
      const ws = g.vendor === 'apple' ? appleWorkingSetBytes(ramTotal) : sharedGpuWorkingSetBytes(ramTotal, null);
      return { ...g, vramTotalBytes: ws, workingSetBytes: ws };
    });
  } else gpus = hw.gpus;

  return { ...hw, ram, gpus, unknowns, source: 'override' };
}

// How much of a shared (unified) RAM pool a GPU may use, when the platform does not say.

const GiB = 1024 ** 3;

/**
 * Apple Silicon: Metal's recommendedMaxWorkingSetSize follows the kernel's default GPU wired-memory
 * limit (sysctl iogpu.wired_limit_mb = 0 means "default"). Widely measured defaults: about 2/3 of RAM
 * on machines with up to 36 GiB, 3/4 above. Newer macOS releases have reported somewhat more on large
 * machines (e.g. ~107.5 GiB of 128 GiB), so this model errs low. Always flagged as an estimate.
 */
export const APPLE_WORKING_SET_RULES: readonly { readonly maxRamBytes: number; readonly fraction: number }[] = [
  { maxRamBytes: 36 * GiB, fraction: 2 / 3 },
  { maxRamBytes: Number.POSITIVE_INFINITY, fraction: 3 / 4 },
];

/**
 * Other unified GPUs (AMD APUs, Intel iGPUs) on Linux: the amdgpu/i915 drivers let the GPU map system
 * RAM through GTT, which TTM caps at half of RAM by default; the BIOS carve-out (reported as VRAM) is
 * usually far smaller. The larger of the two is the estimate.
 */
export const SHARED_GTT_FRACTION = 1 / 2;

export function appleWorkingSetBytes(ramBytes: number): number {
  const rule = APPLE_WORKING_SET_RULES.find((r) => ramBytes <= r.maxRamBytes) ?? APPLE_WORKING_SET_RULES[APPLE_WORKING_SET_RULES.length - 1]!;
  return Math.floor(ramBytes * rule.fraction);
}

export function sharedGpuWorkingSetBytes(ramBytes: number, carveOutBytes: number | null): number {
  return Math.max(Math.floor(ramBytes * SHARED_GTT_FRACTION), carveOutBytes ?? 0);
}

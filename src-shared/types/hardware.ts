// What the machine has, as the advisor needs it: memory pools, GPUs, CPU features, free disk.
// Every byte count is a plain number of bytes (safe up to 8 PiB). Anything the probe could not
// learn is null and named in `unknowns` — the probe never guesses silently.

import type { Message } from '../message.ts';

export type GpuVendor = 'nvidia' | 'amd' | 'intel' | 'apple' | 'other';

export interface GpuInfo {
  readonly vendor: GpuVendor;
  /** Marketing name as reported (e.g. "NVIDIA GeForce RTX 4090", "Apple M2"). */
  readonly model: string;
  /** Dedicated memory, or for a unified GPU the memory it may use; null when unknown. */
  readonly vramTotalBytes: number | null;
  /** Free dedicated memory right now (NVIDIA via nvidia-smi); null when the platform does not say. */
  readonly vramFreeBytes: number | null;
  /** Shares system RAM (Apple Silicon, APUs, most integrated GPUs). */
  readonly unified: boolean;
  /**
   * For a unified GPU: how much of RAM the GPU may address. On Apple Silicon this models Metal's
   * recommendedMaxWorkingSetSize from the default wired-memory limit; `workingSetEstimated` says so.
   */
  readonly workingSetBytes: number | null;
  readonly workingSetEstimated: boolean;
  /** Runtime backend llama.cpp/Ollama would use for it ('none': not a compute device). */
  readonly backend: 'cuda' | 'rocm' | 'metal' | 'vulkan' | 'sycl' | 'none';
  /**
   * Whether the advisor plans to offload layers to it. False for display-only adapters and for
   * integrated Intel graphics (offloading there gains nothing over the CPU on the same RAM).
   */
  readonly offload: boolean;
}

export interface RamInfo {
  readonly totalBytes: number | null;
  /** Memory the OS says can be handed out without swapping (MemAvailable on Linux). */
  readonly availableBytes: number | null;
}

export interface CpuInfo {
  readonly model: string | null;
  readonly physicalCores: number | null;
  readonly logicalCores: number | null;
  /** Node's process.arch of the probed machine: 'x64', 'arm64', ... */
  readonly arch: string | null;
  readonly simd: { readonly avx2: boolean; readonly avx512: boolean; readonly neon: boolean; readonly f16c: boolean; readonly fma: boolean };
}

export interface DiskInfo {
  /** The folder whose file system was asked. */
  readonly path: string;
  readonly freeBytes: number | null;
  readonly totalBytes: number | null;
}

export interface HardwareProfile {
  /** Node's process.platform of the probed machine ('linux', 'darwin', 'win32'). */
  readonly platform: string | null;
  readonly ram: RamInfo;
  readonly gpus: readonly GpuInfo[];
  readonly cpu: CpuInfo;
  readonly disk: DiskInfo | null;
  /** What the probe could not learn, one short phrase each (e.g. "free VRAM of GPU 0 (AMD …)"). */
  readonly unknowns: readonly Message[];
  /** 'probe' for a real machine, 'override' when --ram/--vram/--unified replaced (part of) it. */
  readonly source: 'probe' | 'override' | 'fixture';
}

// Every assumption the advisor makes about the runtime and the machine, in one place.
// The runtime modelled is llama.cpp as Ollama runs it: one sequence, f16 KV cache, default batches.

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

/** Context length used when none is asked for (Ollama's default num_ctx). */
export const DEFAULT_CTX = 4096;

/** llama.cpp's default micro-batch (n_ubatch): the compute graph is reserved for this many tokens. */
export const N_UBATCH = 512;

/** llama.cpp rounds the context (and the SWA cache) up to a multiple of this (llama-context.cpp). */
export const CTX_PAD = 256;

/** K and V are cached as f16 (llama.cpp's default cache_type_k/v). */
export const KV_BYTES_PER_ELEMENT = 2;

/** Activations in the compute graph are f32. */
export const ACTIVATION_BYTES = 4;

/**
 * System RAM kept back for the OS, the desktop and other programs: a fraction of RAM, at least
 * `minBytes`, at most `maxBytes`.
 */
export const RAM_OS_RESERVE = { fraction: 0.2, minBytes: 1 * GiB, maxBytes: 4 * GiB } as const;

/** The inference process itself (runtime code, tokenizer, host-side buffers). */
export const RUNTIME_RAM_OVERHEAD_BYTES = 256 * MiB;

/**
 * Dedicated GPU memory kept back for the driver context (CUDA/ROCm context, BLAS workspaces) and the
 * display: a fraction of VRAM, at least `minBytes`.
 */
export const DISCRETE_GPU_RESERVE = { fraction: 0.06, minBytes: 768 * MiB } as const;

/** Kept back from a unified GPU's working set (Metal/Vulkan runtime objects). */
export const UNIFIED_GPU_RESERVE_BYTES = 256 * MiB;

export function ramOsReserve(totalBytes: number): number {
  return Math.min(RAM_OS_RESERVE.maxBytes, Math.max(RAM_OS_RESERVE.minBytes, Math.round(totalBytes * RAM_OS_RESERVE.fraction)));
}

export function discreteGpuReserve(vramBytes: number): number {
  return Math.max(DISCRETE_GPU_RESERVE.minBytes, Math.round(vramBytes * DISCRETE_GPU_RESERVE.fraction));
}

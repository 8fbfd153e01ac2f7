// What running a model on the CPU keeps resident, as llama.cpp (llama-server's defaults: mmap, the CPU
// backend's repacking extra buffer, flash attention on, one sequence, logits of the last token) does it:
//   mapped weights   the file's pages from the first to the last tensor read through the mapping; the
//                    loader maps the file with MAP_POPULATE and unmaps only what lies outside that range
//                    (llama-model-loader.cpp), so repacked tensors inside it stay resident too — clean
//                    pages never read again, which RSS counts but the kernel reclaims under pressure:
//                    the advisor leaves them out of what must fit (workingSetBytes);
//   repacked copies  weights the CPU backend re-lays out for its SIMD kernels (ggml-cpu/repack.cpp:
//                    ggml_repack_get_optimal_repack_type) live in a second, malloc'd buffer of equal size;
//   KV cache         memory.ts;
//   compute          the pages a prompt's micro-batch touches in the reserved compute buffer (see
//                    cpuComputeBytes; the reservation itself is larger, but untouched pages are not RSS);
//   runtime          the output buffer, and what the loader builds per vocabulary entry, plus a constant.

import { GgmlType } from '../gguf/ggml-types.ts';
import { flashAttentionLayerBytes, kvCacheBytes } from './memory.ts';
import { ACTIVATION_BYTES, MiB } from './constants.ts';
import type { ModelParams } from './model-params.ts';

/** The CPU's SIMD families, as the hardware profile reports them. */
export interface CpuSimd {
  readonly avx2: boolean;
  readonly avx512: boolean;
  readonly neon: boolean;
}

/** A weight as stored in the file: ggml type, shape (ne0 first), offset in the data section, bytes. */
export interface WeightTensor {
  readonly name: string;
  readonly type: number;
  readonly shape: readonly number[];
  readonly offset: number;
  readonly byteSize: number;
}

/** Tables read with GGML_OP_GET_ROWS: the repack buffer type does not support that op, so they stay mapped. */
const ROW_LOOKUP = /^(token_embd|per_layer_token_embd|position_embd|token_types)\.weight$/;

/** Rows must divide by the interleave of the kernel chosen for the type (8 on x86, 4 or 8 on ARM). */
function repackInterleave(type: number, simd: CpuSimd): number {
  if (simd.avx2) {
    // x86: Q4_0, Q4_K, IQ4_NL, MXFP4 with AVX2; Q2_K with AVX-512 (8×8 kernels).
    if (type === GgmlType.Q4_0 || type === GgmlType.Q4_K || type === GgmlType.IQ4_NL || type === GgmlType.MXFP4) return 8;
    if (type === GgmlType.Q2_K && simd.avx512) return 8;
    return 0;
  }
  if (simd.neon) {
    // AArch64 with dot-product (every 64-bit ARM CPU llama.cpp's prebuilt binaries target).
    if (type === GgmlType.Q4_K || type === GgmlType.Q5_K || type === GgmlType.Q6_K) return 8;
    if (type === GgmlType.Q4_0 || type === GgmlType.IQ4_NL || type === GgmlType.MXFP4 || type === GgmlType.Q8_0 || type === GgmlType.Q1_0) return 4;
  }
  return 0;
}

/** True when llama.cpp's CPU backend keeps a repacked copy of this weight (a matrix of a mat-mul). */
export function repackedOnCpu(t: Pick<WeightTensor, 'name' | 'type' | 'shape'>, simd: CpuSimd): boolean {
  if (ROW_LOOKUP.test(t.name)) return false;
  // ggml_n_dims: 2 for MUL_MAT weights, 3 for the experts of MUL_MAT_ID.
  let dims = t.shape.length;
  while (dims > 1 && t.shape[dims - 1] === 1) dims--;
  if (dims !== 2 && dims !== 3) return false;
  const interleave = repackInterleave(t.type, simd);
  return interleave > 0 && t.shape[1]! % interleave === 0;
}

export interface WeightResidency {
  /** Bytes of the file kept mapped: from the first to the end of the last tensor not repacked. */
  readonly mappedBytes: number;
  /** Bytes of the repacked copies (same size as the tensors: the blocks are only interleaved). */
  readonly repackedBytes: number;
  /**
   * The mapped pages of repacked tensors: read once to make the copy, never again. Resident after the
   * load (RSS counts them) but clean file pages, which the kernel drops first when memory runs short.
   */
  readonly reclaimableBytes: number;
}

/**
 * Resident weight bytes on the CPU. With tied embeddings llama.cpp creates the output matrix as a
 * duplicate of token_embd: a mat-mul weight, repacked when its type allows, so a second copy.
 */
export function weightResidency(tensors: readonly WeightTensor[], simd: CpuSimd): WeightResidency {
  let first = Infinity;
  let last = 0;
  let repackedBytes = 0;
  const repacked: WeightTensor[] = [];
  for (const t of tensors) {
    if (repackedOnCpu(t, simd)) {
      repackedBytes += t.byteSize;
      repacked.push(t);
      continue;
    }
    first = Math.min(first, t.offset);
    last = Math.max(last, t.offset + t.byteSize);
  }
  const embd = tensors.find((t) => t.name === 'token_embd.weight');
  if (embd && !tensors.some((t) => t.name === 'output.weight') && repackedOnCpu({ ...embd, name: 'output.weight' }, simd)) {
    repackedBytes += embd.byteSize;
  }
  let reclaimableBytes = 0;
  for (const t of repacked) reclaimableBytes += Math.max(0, Math.min(last, t.offset + t.byteSize) - Math.max(first, t.offset));
  return { mappedBytes: last > first ? last - first : 0, repackedBytes, reclaimableBytes };
}

/**
 * The compute buffer a prompt touches on the CPU with flash attention and the last token's logits (what
 * llama-server does): llama.cpp's allocator lays out that graph from offset 0 of the reserved buffer, so
 * the pages touched are that graph's own size, the layer phase (memory.ts: flashAttentionLayerBytes) —
 * one token's logits never outgrow it. Checked against llama.cpp's reservation with n_outputs_max = 1 in
 * test/advisor/llama-parity.test.ts. `cellsInUse`: the cache cells filled so far (default: all of them).
 */
export function cpuComputeBytes(params: ModelParams, ctx: number, cellsInUse?: number): number {
  return flashAttentionLayerBytes(params, ctx, cellsInUse);
}

/**
 * What the loaded model costs besides weights, cache and compute: the host output buffer (the logits of
 * one sequence, 4 bytes per vocabulary entry) and what loading leaves per vocabulary entry (llama_vocab's
 * token table, text → id map and piece cache, and what the GGUF metadata leaves in the allocator),
 * plus a constant. The last two are measured (bench/memory-estimate.ts: 4 shapes with 32K–262K
 * vocabularies, 512–32K contexts; a least-squares fit of the RSS left once the other terms are taken).
 */
export function cpuRuntimeBytes(params: ModelParams): number {
  return ACTIVATION_BYTES * params.vocabSize + RUNTIME_BYTES_PER_TOKEN * params.vocabSize + RUNTIME_FIXED_BYTES;
}

/** Resident bytes per vocabulary entry (measured on glibc, see cpuRuntimeBytes). */
export const RUNTIME_BYTES_PER_TOKEN = 320;
/** Resident bytes of a loaded model and context whatever its size (measured, see cpuRuntimeBytes). */
export const RUNTIME_FIXED_BYTES = 2 * MiB;

export interface CpuRunMemory {
  readonly mappedBytes: number;
  readonly repackedBytes: number;
  readonly reclaimableBytes: number;
  readonly kvBytes: number;
  readonly computeBytes: number;
  readonly runtimeBytes: number;
  /** The process's RSS growth: every term above but the reclaimable one. */
  readonly totalBytes: number;
  /** What must stay resident to run at speed: totalBytes less the reclaimable pages (the advisor's figure). */
  readonly workingSetBytes: number;
}

/** Everything a CPU run of these weights keeps resident at `ctx` (see the terms at the top; `cellsInUse`: cpuComputeBytes). */
export function cpuRunMemory(params: ModelParams, tensors: readonly WeightTensor[], ctx: number, simd: CpuSimd, cellsInUse?: number): CpuRunMemory {
  const { mappedBytes, repackedBytes, reclaimableBytes } = weightResidency(tensors, simd);
  const kvBytes = kvCacheBytes(params, ctx);
  const computeBytes = cpuComputeBytes(params, ctx, cellsInUse);
  const runtimeBytes = cpuRuntimeBytes(params);
  const totalBytes = mappedBytes + repackedBytes + kvBytes + computeBytes + runtimeBytes;
  return { mappedBytes, repackedBytes, reclaimableBytes, kvBytes, computeBytes, runtimeBytes, totalBytes, workingSetBytes: totalBytes - reclaimableBytes };
}

// What running a model with layers offloaded to a GPU takes on the GPU and what stays in RAM, as llama.cpp
// (llama-server's and node-llama-cpp's defaults: mmap, flash attention auto, one sequence, op offload on)
// lays it out:
//   which weights go where  llama-model.cpp load_tensors: n_gpu_layers counts the output layer as layer
//                           n_layer, so it is offloaded first, then the repeating layers from the last one
//                           down; the input layer (token_embd and other row-lookup tables) always stays on
//                           the CPU. Tied embeddings: the output matrix is a duplicate of token_embd created
//                           on the output layer's device, so the GPU holds a copy while the CPU keeps the table.
//   host weights            mapped from the file. With a GPU that has a pinned host buffer type (CUDA, ROCm,
//                           Vulkan, SYCL) that type comes before the CPU's repacking type in the CPU's buffer
//                           list and mmap turns it into the plain mapped buffer (llama-model-loader.cpp: "avoid
//                           using a host buffer when using mmap"), so nothing is repacked; without one (Metal)
//                           the repacked copy replaces the mapped pages it was made from. Either way what must
//                           stay resident is the host tensors' own bytes.
//   KV cache                per layer on that layer's device (offload_kqv on), sliding-window layers smaller
//                           (memory.ts).
//   GPU compute             one graph reserved for a micro-batch whose every token asks for logits
//                           (n_outputs_max defaults to n_batch): the larger of the flash-attention layer phase
//                           and the output phase (memory.ts), and, with layers left on the CPU, a copy of their
//                           largest weight: a prompt's mat-muls (≥ 32 tokens) whose weights sit in host memory
//                           run on the GPU (ggml-backend.cpp: op_offload; the CUDA backend's offload_op), each
//                           weight copied into the compute buffer, one split per weight, the memory reused.
//   host compute            the graph inputs, which the scheduler keeps on the CPU (token ids, positions, the
//                           f16 masks, the embedded rows the CPU looked up), and with layers left on the CPU
//                           the activations of their non-offloaded ops; in the GPU's pinned host buffer, every
//                           page of which is resident.
//   host runtime            the output buffer (n_vocab floats, pinned), the vocabulary (cpu-memory.ts).
// Not modelled: the GPU runtime's own memory (CUDA context, cuBLAS workspaces: the budget's driver reserve).

import { ACTIVATION_BYTES } from './constants.ts';
import { cpuRuntimeBytes } from './cpu-memory.ts';
import { computeReservationBytes, flashAttentionLayerBytes, layerKvBytes, maskBytes, microBatchTokens } from './memory.ts';
import type { ModelParams } from './model-params.ts';

/** A type's weights grouped as llama.cpp assigns them to devices. */
export interface DeviceWeights {
  /** Bytes of blk.N.* tensors, index N. */
  readonly layerBytes: readonly number[];
  /** The largest tensor of each layer: what one offloaded mat-mul copies to the GPU. */
  readonly layerLargestBytes: readonly number[];
  /** The input layer (token_embd and the other row-lookup tables): always in host memory. */
  readonly inputBytes: number;
  /** The output layer (output.weight or, tied, the duplicate of token_embd; output_norm; the rest). */
  readonly outputBytes: number;
}

const LAYER_TENSOR = /^blk\.(\d+)\./;
/** Tables read with GET_ROWS: the input layer. */
const INPUT_TENSOR = /^(token_embd|per_layer_token_embd|position_embd|token_types)\.weight$/;

/** Groups tensors (name and bytes, as stored) by device layer; `layerOf` may cache the name parsing. */
export function deviceWeights(
  tensors: readonly { readonly name: string; readonly byteSize: number }[],
  layerCount: number,
  layerOf: (name: string) => number = (name) => Number(LAYER_TENSOR.exec(name)?.[1] ?? -1),
): DeviceWeights {
  const layerBytes = new Array<number>(layerCount).fill(0);
  const layerLargestBytes = new Array<number>(layerCount).fill(0);
  let inputBytes = 0;
  let outputBytes = 0;
  let tiedEmbeddingBytes = 0;
  let hasOutput = false;
  for (const t of tensors) {
    const il = layerOf(t.name);
    if (il >= 0 && il < layerCount) {
      layerBytes[il] += t.byteSize;
      layerLargestBytes[il] = Math.max(layerLargestBytes[il]!, t.byteSize);
    } else if (INPUT_TENSOR.test(t.name)) {
      inputBytes += t.byteSize;
      if (t.name === 'token_embd.weight') tiedEmbeddingBytes = t.byteSize;
    } else {
      outputBytes += t.byteSize;
      if (t.name === 'output.weight') hasOutput = true;
    }
  }
  if (!hasOutput) outputBytes += tiedEmbeddingBytes;
  return { layerBytes, layerLargestBytes, inputBytes, outputBytes };
}

export interface OffloadMemory {
  /** Repeating layers on the GPU (the output layer goes with the first of them). */
  readonly gpuLayers: number;
  readonly gpuWeightBytes: number;
  readonly gpuKvBytes: number;
  readonly gpuComputeBytes: number;
  /** Everything on the GPU. */
  readonly vramBytes: number;
  readonly hostWeightBytes: number;
  readonly hostKvBytes: number;
  readonly hostComputeBytes: number;
  readonly hostRuntimeBytes: number;
  /** What must stay resident in RAM. */
  readonly hostBytes: number;
}

/** Graph inputs the scheduler keeps on the CPU: token ids, positions and output ids (i32), the masks, the embedded rows. */
export function hostInputBytes(params: ModelParams, ctx: number): number {
  const tokens = microBatchTokens(ctx);
  return 3 * 4 * tokens + maskBytes(params, ctx) + ACTIVATION_BYTES * tokens * params.embeddingLength;
}

/** The GPU's compute buffer with every layer offloaded: the larger of the layer and output phases, all allocated. */
export function gpuComputeBytes(params: ModelParams, ctx: number): number {
  return computeReservationBytes(params, ctx);
}

/**
 * GPU and host memory with the output layer and the last `gpuLayers` repeating layers on the GPU (all of
 * them: full offload), at `ctx` (see the terms at the top).
 */
export function offloadMemory(params: ModelParams, weights: DeviceWeights, ctx: number, gpuLayers: number): OffloadMemory {
  const layers = params.layerCount;
  const n = Math.max(0, Math.min(layers, gpuLayers));
  const firstGpuLayer = layers - n;
  let gpuWeightBytes = weights.outputBytes;
  let hostWeightBytes = weights.inputBytes;
  let gpuKvBytes = 0;
  let hostKvBytes = 0;
  let largestHostWeight = 0;
  for (let il = 0; il < layers; il++) {
    const kv = layerKvBytes(params, il, ctx);
    if (il >= firstGpuLayer) {
      gpuWeightBytes += weights.layerBytes[il]!;
      gpuKvBytes += kv;
    } else {
      hostWeightBytes += weights.layerBytes[il]!;
      hostKvBytes += kv;
      largestHostWeight = Math.max(largestHostWeight, weights.layerLargestBytes[il]!);
    }
  }
  const gpuCompute = gpuComputeBytes(params, ctx) + largestHostWeight;
  const inputs = hostInputBytes(params, ctx);
  // With layers left on the CPU it runs their norms, rope and attention: the layer phase's activations.
  const hostComputeBytes = firstGpuLayer > 0 ? inputs + flashAttentionLayerBytes(params, ctx) - maskBytes(params, ctx) : inputs;
  const hostRuntimeBytes = cpuRuntimeBytes(params);
  return {
    gpuLayers: n,
    gpuWeightBytes,
    gpuKvBytes,
    gpuComputeBytes: gpuCompute,
    vramBytes: gpuWeightBytes + gpuKvBytes + gpuCompute,
    hostWeightBytes,
    hostKvBytes,
    hostComputeBytes,
    hostRuntimeBytes,
    hostBytes: hostWeightBytes + hostKvBytes + hostComputeBytes + hostRuntimeBytes,
  };
}

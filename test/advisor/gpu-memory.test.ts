// The GPU terms of the memory estimate (advisor/gpu-memory.ts) against numbers worked out by hand from
// llama.cpp's rules (no GPU needed): which weights go to the GPU (llama-model.cpp load_tensors), the KV
// cache per layer, the compute buffer reserved for a micro-batch with every token's logits
// (llama-context.cpp sched_reserve), what the scheduler keeps on the host (ggml-backend.cpp), and where
// placement puts each type.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { modelParams } from '../../src-main/core/advisor/model-params.ts';
import { deviceWeights, gpuComputeBytes, hostInputBytes, offloadMemory } from '../../src-main/core/advisor/gpu-memory.ts';
import { cpuRuntimeBytes } from '../../src-main/core/advisor/cpu-memory.ts';
import { estimateAt, planModel } from '../../src-main/core/advisor/estimate.ts';
import type { MemoryBudget } from '../../src-main/core/advisor/types.ts';
import { headerWith } from './support.ts';

const MiB = 1024 * 1024;

// A small GQA llama: 4 layers, n_embd 1024, 8 heads of 128, 2 KV heads (K and V rows of 256), n_ff 4096,
// 32000 tokens. Tensor sizes are round numbers chosen for the arithmetic; only their sums matter.
const params = modelParams(headerWith('llama', { block_count: 4, embedding_length: 1024, 'attention.head_count': 8, 'attention.head_count_kv': 2, feed_forward_length: 4096, vocab_size: 32000 }));
const LAYER = { attn_norm: 4096, attn_q: 1_000_000, attn_k: 250_000, attn_v: 250_000, attn_output: 1_000_000, ffn_norm: 4096, ffn_gate: 4_000_000, ffn_up: 4_000_000, ffn_down: 5_000_000 };
const LAYER_BYTES = Object.values(LAYER).reduce((s, b) => s + b, 0);
function tensors(tied: boolean): { name: string; byteSize: number }[] {
  const out = [{ name: 'token_embd.weight', byteSize: 10_000_000 }, { name: 'output_norm.weight', byteSize: 4096 }];
  if (!tied) out.push({ name: 'output.weight', byteSize: 12_000_000 });
  for (let il = 0; il < 4; il++) for (const [n, b] of Object.entries(LAYER)) out.push({ name: `blk.${il}.${n}.weight`, byteSize: b });
  return out;
}

// Worked out at ctx 4096 (n_ubatch 512):
const KV_LAYER = 4096 * (256 + 256) * 2; //                       cells × (n_embd_k_gqa + n_embd_v_gqa) × f16 = 4 MiB
const LAYER_PHASE_ACT = 4 * 512 * (3 * 4096 + 4 * 1024); //       f32 feed-forward phase: 32 MiB
const MASK = 4096 * 512 * 2; //                                    f16 mask, n_kv × tokens: 4 MiB
const OUTPUT_PHASE = 4 * 512 * (32000 + 2 * 1024); //              f32 logits of 512 tokens + 2 n_embd rows: 66.5 MiB
const INPUTS = 3 * 4 * 512 + MASK + 4 * 512 * 1024; //             ids, positions, output ids; mask; embedded rows

test('device layers: token_embd is the input layer (host); output.weight and output_norm the output layer; blk.N by layer', () => {
  const w = deviceWeights(tensors(false), 4);
  assert.equal(w.inputBytes, 10_000_000);
  assert.equal(w.outputBytes, 12_000_000 + 4096);
  assert.deepEqual(w.layerBytes, [LAYER_BYTES, LAYER_BYTES, LAYER_BYTES, LAYER_BYTES]);
  assert.deepEqual(w.layerLargestBytes, [5_000_000, 5_000_000, 5_000_000, 5_000_000]);
  // Tied embeddings: llama.cpp creates output as a duplicate of token_embd on the output layer's device.
  const tied = deviceWeights(tensors(true), 4);
  assert.equal(tied.inputBytes, 10_000_000);
  assert.equal(tied.outputBytes, 4096 + 10_000_000);
});

test('GPU compute: the larger of the flash-attention layer phase and the output phase with every token\'s logits', () => {
  assert.equal(gpuComputeBytes(params, 4096), OUTPUT_PHASE);
  assert.ok(LAYER_PHASE_ACT + MASK < OUTPUT_PHASE);
  // At 128K the masks (131072 × 512 × 2 = 128 MiB) outgrow the logits.
  assert.equal(gpuComputeBytes(params, 131072), LAYER_PHASE_ACT + 131072 * 512 * 2);
  assert.equal(hostInputBytes(params, 4096), INPUTS);
});

test('full offload: VRAM holds output and repeating layers, the whole KV cache, the compute buffer; RAM the input layer', () => {
  const m = offloadMemory(params, deviceWeights(tensors(false), 4), 4096, 4);
  assert.equal(m.gpuWeightBytes, 12_004_096 + 4 * LAYER_BYTES);
  assert.equal(m.gpuKvBytes, 4 * KV_LAYER);
  assert.equal(m.gpuComputeBytes, OUTPUT_PHASE);
  assert.equal(m.vramBytes, 12_004_096 + 4 * LAYER_BYTES + 4 * KV_LAYER + OUTPUT_PHASE);
  assert.equal(m.hostWeightBytes, 10_000_000);
  assert.equal(m.hostKvBytes, 0);
  assert.equal(m.hostComputeBytes, INPUTS);
  // Host runtime: the pinned output buffer (n_vocab floats) and the vocabulary (cpu-memory.ts).
  assert.equal(m.hostRuntimeBytes, cpuRuntimeBytes(params));
  assert.equal(m.hostBytes, 10_000_000 + INPUTS + cpuRuntimeBytes(params));
});

test('partial offload: the output layer and the last layers go first; CPU layers keep their KV, and their largest weight is copied to the GPU for a prompt', () => {
  const m = offloadMemory(params, deviceWeights(tensors(false), 4), 4096, 3);
  assert.equal(m.gpuLayers, 3);
  assert.equal(m.gpuWeightBytes, 12_004_096 + 3 * LAYER_BYTES);
  assert.equal(m.gpuKvBytes, 3 * KV_LAYER);
  // op_offload: blk.0's mat-muls run on the GPU for a 512-token batch; ffn_down (5 MB) is the largest copy.
  assert.equal(m.gpuComputeBytes, OUTPUT_PHASE + 5_000_000);
  assert.equal(m.hostWeightBytes, 10_000_000 + LAYER_BYTES);
  assert.equal(m.hostKvBytes, KV_LAYER);
  // The CPU runs blk.0's other ops: the layer phase's activations next to the inputs.
  assert.equal(m.hostComputeBytes, INPUTS + LAYER_PHASE_ACT);
  assert.equal(m.hostBytes, 10_000_000 + LAYER_BYTES + KV_LAYER + INPUTS + LAYER_PHASE_ACT + cpuRuntimeBytes(params));
  // Tied: the GPU still gets the output duplicate of token_embd, the CPU keeps the table.
  const tied = offloadMemory(params, deviceWeights(tensors(true), 4), 4096, 3);
  assert.equal(tied.gpuWeightBytes, 4096 + 10_000_000 + 3 * LAYER_BYTES);
  assert.equal(tied.hostWeightBytes, 10_000_000 + LAYER_BYTES);
});

test('sliding-window layers: an offloaded SWA layer brings window + n_ubatch cells, a dense one the context', () => {
  // gemma2 pattern: even layers SWA (window 1024 → padded 1024 + 512 = 1536 cells), odd layers dense.
  const g = modelParams(headerWith('gemma2', { block_count: 4, embedding_length: 1024, 'attention.head_count': 8, 'attention.head_count_kv': 2, 'attention.key_length': 128, 'attention.value_length': 128, feed_forward_length: 4096, vocab_size: 32000, 'attention.sliding_window': 1024 }));
  const w = deviceWeights(tensors(false), 4);
  const row = (256 + 256) * 2;
  const one = offloadMemory(g, w, 8192, 1);
  assert.equal(one.gpuKvBytes, 8192 * row, 'blk.3 is dense');
  assert.equal(one.hostKvBytes, 8192 * row + 2 * 1536 * row);
  const two = offloadMemory(g, w, 8192, 2);
  assert.equal(two.gpuKvBytes, 8192 * row + 1536 * row, 'blk.2 is SWA');
  // Two f16 masks on the host: the full cache's and the window's.
  assert.equal(hostInputBytes(g, 8192), 3 * 4 * 512 + (8192 + 1536) * 512 * 2 + 4 * 512 * 1024);
});

function plannedModel(tied = false) {
  const header = headerWith('llama', { block_count: 4, embedding_length: 1024, 'attention.head_count': 8, 'attention.head_count_kv': 2, feed_forward_length: 4096, vocab_size: 32000 });
  const t = tensors(tied);
  return planModel(header, () => ({ fileBytes: t.reduce((s, x) => s + x.byteSize, 0) + 4096, tensors: t }), { hasImatrix: true, types: ['Q4_K_M'] });
}

const budget = (gpuBytes: number, cpuBytes: number, unified = false): MemoryBudget => ({ gpuBytes, cpuBytes, combinedBytes: unified ? cpuBytes : gpuBytes + cpuBytes, unified });

test('placement: all layers when the GPU holds them, else the most layers that fit, as long as the rest fits RAM', () => {
  const model = plannedModel();
  const w = model.plans[0]!.devices;
  const full = offloadMemory(params, w, 4096, 4);
  const three = offloadMemory(params, w, 4096, 3);
  const two = offloadMemory(params, w, 4096, 2);
  const ram = 8 * 1024 * MiB;
  const at = (b: MemoryBudget) => estimateAt(model, 4096, b)[0]!;
  let e = at(budget(full.vramBytes, ram));
  assert.deepEqual([e.fit, e.gpuLayers, e.totalBytes, e.computeBytes], ['gpu', 4, full.vramBytes, OUTPUT_PHASE]);
  assert.equal(e.fileBytes + e.kvCacheBytes + e.computeBytes + e.runtimeBytes, e.totalBytes);
  e = at(budget(full.vramBytes - 1, ram));
  assert.deepEqual([e.fit, e.gpuLayers, e.totalBytes], ['partial', 3, three.vramBytes + three.hostBytes]);
  e = at(budget(three.vramBytes - 1, ram));
  assert.deepEqual([e.fit, e.gpuLayers], ['partial', 2]);
  assert.equal(e.totalBytes, two.vramBytes + two.hostBytes);
  // RAM too small for what stays on the host: neither split nor CPU.
  e = at(budget(three.vramBytes, three.hostBytes - 1));
  assert.equal(e.fit, 'none');
  // Unified memory: the GPU's part is RAM too.
  e = at(budget(full.vramBytes, full.vramBytes + full.hostBytes, true));
  assert.equal(e.fit, 'gpu');
  e = at(budget(full.vramBytes, full.vramBytes + full.hostBytes - 1, true));
  assert.notEqual(e.fit, 'gpu');
});

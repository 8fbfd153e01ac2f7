// The CPU terms of the memory estimate (advisor/cpu-memory.ts), from llama.cpp's own rules: which weights
// ggml's CPU backend repacks (ggml-cpu/repack.cpp), what stays mapped (llama-model-loader.cpp), and the
// compute pages of a flash-attention prompt (llama-context.cpp's reservation with one output).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GgmlType } from '../../src-main/core/gguf/ggml-types.ts';
import { modelParams } from '../../src-main/core/advisor/model-params.ts';
import { cpuComputeBytes, cpuRunMemory, cpuRuntimeBytes, repackedOnCpu, weightResidency, type CpuSimd, type WeightTensor } from '../../src-main/core/advisor/cpu-memory.ts';
import { kvCacheBytes } from '../../src-main/core/advisor/memory.ts';
import { headerWith } from './support.ts';

const AVX2: CpuSimd = { avx2: true, avx512: false, neon: false };
const AVX512: CpuSimd = { avx2: true, avx512: true, neon: false };
const NEON: CpuSimd = { avx2: false, avx512: false, neon: true };
const NONE: CpuSimd = { avx2: false, avx512: false, neon: false };

const w = (name: string, type: number, shape: number[]) => ({ name, type, shape });

test('x86: Q4_0, Q4_K, IQ4_NL, MXFP4 matrices are repacked with AVX2 when their rows divide by 8; Q2_K needs AVX-512', () => {
  for (const type of [GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.IQ4_NL, GgmlType.MXFP4]) {
    assert.ok(repackedOnCpu(w('blk.0.attn_q.weight', type, [4096, 4096]), AVX2));
    assert.ok(!repackedOnCpu(w('blk.0.attn_q.weight', type, [4096, 4100]), AVX2), 'ne1 % 8 != 0');
    assert.ok(!repackedOnCpu(w('blk.0.attn_q.weight', type, [4096, 4096]), NONE), 'no SIMD kernel, no repack');
  }
  for (const type of [GgmlType.Q5_K, GgmlType.Q6_K, GgmlType.Q8_0, GgmlType.Q3_K, GgmlType.F16, GgmlType.IQ4_XS]) {
    assert.ok(!repackedOnCpu(w('blk.0.ffn_down.weight', type, [4096, 4096]), AVX512), `type ${type} has no x86 repack`);
  }
  assert.ok(!repackedOnCpu(w('blk.0.ffn_up.weight', GgmlType.Q2_K, [4096, 4096]), AVX2));
  assert.ok(repackedOnCpu(w('blk.0.ffn_up.weight', GgmlType.Q2_K, [4096, 4096]), AVX512));
});

test('ARM with dot-product: K-quants 4–6 bit in rows of 8; Q4_0, IQ4_NL, Q8_0 in rows of 4', () => {
  for (const type of [GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K]) {
    assert.ok(repackedOnCpu(w('output.weight', type, [2048, 32000]), NEON));
    assert.ok(!repackedOnCpu(w('output.weight', type, [2048, 32004]), NEON));
  }
  for (const type of [GgmlType.Q4_0, GgmlType.IQ4_NL, GgmlType.Q8_0]) assert.ok(repackedOnCpu(w('output.weight', type, [2048, 32004]), NEON));
  assert.ok(!repackedOnCpu(w('output.weight', GgmlType.Q2_K, [2048, 32000]), NEON));
});

test('only mat-mul weights: lookup tables (GET_ROWS) and 1-D tensors stay mapped; 3-D experts are repacked', () => {
  assert.ok(!repackedOnCpu(w('token_embd.weight', GgmlType.Q4_K, [4096, 32000]), AVX2));
  assert.ok(!repackedOnCpu(w('per_layer_token_embd.weight', GgmlType.Q4_0, [4096, 32000]), AVX2));
  assert.ok(!repackedOnCpu(w('blk.0.attn_norm.weight', GgmlType.Q4_0, [4096]), AVX2));
  assert.ok(repackedOnCpu(w('blk.0.ffn_up_exps.weight', GgmlType.Q4_K, [2048, 1408, 8]), AVX2));
  assert.ok(repackedOnCpu(w('blk.0.attn_q.weight', GgmlType.Q4_K, [4096, 4096, 1]), AVX2), 'trailing 1s do not count as dimensions');
});

function tensorsInOrder(specs: [string, number, number[], number][]): WeightTensor[] {
  let offset = 0;
  return specs.map(([name, type, shape, byteSize]) => {
    const t = { name, type, shape, offset, byteSize };
    offset += Math.ceil(byteSize / 32) * 32;
    return t;
  });
}

test('mapped range: from the first to the end of the last tensor not repacked; repacked copies counted apart', () => {
  const tensors = tensorsInOrder([
    ['blk.0.attn_q.weight', GgmlType.Q4_K, [256, 8], 1152],
    ['token_embd.weight', GgmlType.Q4_K, [256, 100], 14400],
    ['blk.0.attn_norm.weight', GgmlType.F32, [256], 1024],
    ['blk.0.ffn_down.weight', GgmlType.Q6_K, [256, 8], 1680],
    ['output.weight', GgmlType.Q4_K, [256, 96], 13824],
  ]);
  const r = weightResidency(tensors, AVX2);
  assert.equal(r.repackedBytes, 1152 + 13824);
  // token_embd starts at 1152; ffn_down (Q6_K, not repacked on x86) ends the range.
  assert.equal(r.mappedBytes, tensors[3]!.offset + 1680 - 1152);
  // Without the SIMD kernels everything is mapped and nothing copied.
  assert.deepEqual(weightResidency(tensors, NONE), { mappedBytes: tensors[4]!.offset + 13824, repackedBytes: 0, reclaimableBytes: 0 });
  // Both repacked tensors lie outside the mapped range: none of their pages stay mapped.
  assert.equal(r.reclaimableBytes, 0);
});

test('repacked tensors inside the mapped range: their pages stay mapped (RSS) but are reclaimable', () => {
  const tensors = tensorsInOrder([
    ['token_embd.weight', GgmlType.Q6_K, [256, 100], 21000],
    ['blk.0.attn_q.weight', GgmlType.Q4_K, [256, 8], 1152],
    ['output_norm.weight', GgmlType.F32, [256], 1024],
  ]);
  const r = weightResidency(tensors, AVX2);
  assert.deepEqual(r, { mappedBytes: tensors[2]!.offset + 1024, repackedBytes: 1152, reclaimableBytes: 1152 });
  const p = modelParams(headerWith('llama', { block_count: 1, embedding_length: 256, 'attention.head_count': 4, feed_forward_length: 512, vocab_size: 100 }));
  const run = cpuRunMemory(p, tensors, 512, AVX2);
  assert.equal(run.workingSetBytes, run.totalBytes - 1152);
});

test('tied embeddings: the output duplicate of token_embd is a mat-mul weight, repacked as a second copy', () => {
  const tensors = tensorsInOrder([['token_embd.weight', GgmlType.Q4_0, [2048, 32000], 36_864_000], ['output_norm.weight', GgmlType.F32, [2048], 8192]]);
  assert.equal(weightResidency(tensors, AVX2).repackedBytes, 36_864_000);
  assert.equal(weightResidency(tensors, AVX2).mappedBytes, 36_864_000 + 8192);
  const q6 = tensors.map((t) => (t.name === 'token_embd.weight' ? { ...t, type: GgmlType.Q6_K } : t));
  assert.equal(weightResidency(q6, AVX2).repackedBytes, 0);
});

test('compute pages of a prompt with flash attention: 4 × n_ubatch × (3 × n_ff + 4 × n_embd) + f16 masks', () => {
  // Qwen2.5-0.5B widths; llama.cpp reserves 36.01 MiB at n_ctx 512 and 67.51 MiB at 32768 for it.
  const qwen = modelParams(headerWith('llama', { block_count: 24, embedding_length: 896, 'attention.head_count': 14, 'attention.head_count_kv': 2, feed_forward_length: 4864, vocab_size: 151936 }));
  assert.equal(cpuComputeBytes(qwen, 512), 4 * 512 * (3 * 4864 + 4 * 896) + 512 * 512 * 2);
  assert.equal(cpuComputeBytes(qwen, 32768), 4 * 512 * (3 * 4864 + 4 * 896) + 32768 * 512 * 2);
  // Shorter than a micro-batch: the batch is the (padded) context.
  // One micro-batch in the cache so far: the masks span 512 cells, not the context.
  assert.equal(cpuComputeBytes(qwen, 32768, 511), cpuComputeBytes(qwen, 512));
  assert.equal(cpuComputeBytes(qwen, 200), 4 * 256 * (3 * 4864 + 4 * 896) + 256 * 256 * 2);
  // MoE: the experts used per token, plus the shared expert.
  const moe = modelParams(headerWith('qwen2moe', { block_count: 24, embedding_length: 2048, 'attention.head_count': 16, feed_forward_length: 5632, expert_count: 60, expert_used_count: 4, expert_feed_forward_length: 1408, expert_shared_feed_forward_length: 5632 }));
  assert.deepEqual([moe.expertUsedCount, moe.expertFeedForwardLength, moe.sharedExpertFeedForwardLength], [4, 1408, 5632]);
  assert.equal(cpuComputeBytes(moe, 4096), 4 * 512 * (3 * (4 * 1408 + 5632) + 4 * 2048) + 4096 * 512 * 2);
  // Sliding window: a second mask for the SWA cache (window + n_ubatch = 1024 cells).
  const gemma3 = modelParams(headerWith('gemma3', { block_count: 26, embedding_length: 1152, 'attention.head_count': 4, 'attention.head_count_kv': 1, 'attention.key_length': 256, 'attention.value_length': 256, feed_forward_length: 6912, 'attention.sliding_window': 512 }));
  assert.equal(cpuComputeBytes(gemma3, 8192), 4 * 512 * (3 * 6912 + 4 * 1152) + (8192 + 1024) * 512 * 2);
});

test('a CPU run adds up: mapped + repacked + KV + compute + runtime (output buffer, vocabulary, constant)', () => {
  const p = modelParams(headerWith('llama', { block_count: 2, embedding_length: 256, 'attention.head_count': 4, feed_forward_length: 512, vocab_size: 1000 }));
  const tensors = tensorsInOrder([['token_embd.weight', GgmlType.Q6_K, [256, 1000], 210_000], ['blk.0.attn_q.weight', GgmlType.Q4_K, [256, 256], 36_864]]);
  const run = cpuRunMemory(p, tensors, 4096, AVX2);
  assert.equal(run.repackedBytes, 36_864);
  assert.equal(run.mappedBytes, 210_000, 'the repacked attn_q after it is outside the mapped range');
  assert.equal(run.kvBytes, kvCacheBytes(p, 4096));
  assert.equal(run.runtimeBytes, cpuRuntimeBytes(p));
  assert.ok(cpuRuntimeBytes(p) > 4 * 1000, 'at least the logits of one token');
  assert.equal(run.totalBytes, run.mappedBytes + run.repackedBytes + run.kvBytes + run.computeBytes + run.runtimeBytes);
});

// The advisor's KV cache and compute buffer against what the reference llama.cpp reserves for the same
// model and context (no_alloc: metadata only, so full-size shapes cost nothing but a sparse file).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { GgufHeader } from '../../src-main/core/gguf/types.ts';
import { modelParams } from '../../src-main/core/advisor/model-params.ts';
import { kvCacheBytes } from '../../src-main/core/advisor/memory.ts';
import { gpuComputeBytes } from '../../src-main/core/advisor/gpu-memory.ts';
import { cpuComputeBytes, weightResidency, type CpuSimd } from '../../src-main/core/advisor/cpu-memory.ts';
import { readGgufHeader } from '../../src-main/core/gguf/reader.ts';
import { readFileSync } from 'node:fs';
import { makeTempDir, removeTempDir, tinyLlama, writeSyntheticGguf, type SyntheticModel } from '../support/synthetic-gguf.ts';
import { gemma2, llama7b, writeSparseGguf } from './support.ts';
import { llamaContextMemory, llamaMemoryUnavailableReason } from '../support/llama-memory-oracle.ts';

const MiB = 1024 * 1024;
const skip = llamaMemoryUnavailableReason();
if (skip) console.log(`# skipping llama.cpp memory parity: ${skip}`);

let dir = '';
const models: { name: string; path: string; header: GgufHeader }[] = [];

before(async () => {
  if (skip) return;
  dir = await makeTempDir('llama-parity');
  // The compute formulas follow llama graphs; Gemma-2 adds activations they do not model (logit
  // softcapping, post-norms): looser bounds there.
  const specs: [string, SyntheticModel][] = [
    ['LLaMA-7B', llama7b()],
    ['Llama-3-8B (GQA, 128K vocab)', tinyLlama({ nEmbd: 4096, nLayer: 32, nHead: 32, nHeadKv: 8, nFf: 14336, nVocab: 128256, nCtx: 8192, type: 'F16' })],
    ['Gemma-2-2B (SWA)', gemma2()],
  ];
  for (const [name, spec] of specs) {
    const path = join(dir, `${name.replace(/\W+/g, '-')}.gguf`);
    models.push({ name, path, header: await writeSparseGguf(path, spec) });
  }
});

after(async () => {
  if (dir) await removeTempDir(dir);
});

test('KV cache bytes equal llama.cpp\'s own (GQA, sliding window, context padding)', { skip }, () => {
  for (const m of models) {
    const params = modelParams(m.header);
    for (const ctx of [512, 1000, 4096, 8192]) {
      const real = llamaContextMemory(m.path, ctx);
      // llama.cpp logs MiB with two decimals. SWA layers: window + n_ubatch cells, as llama-server.
      assert.equal((kvCacheBytes(params, ctx) / MiB).toFixed(2), real.kvMiB.toFixed(2), `${m.name} at ${ctx}: ${JSON.stringify(real)}`);
    }
  }
});

test('GPU compute buffer equals llama.cpp\'s reservation with flash attention and every token\'s logits (its default)', { skip }, () => {
  // No GPU here: the CPU backend reserves the same graph with the same allocator (a GPU's scheduler moves
  // the inputs to the host and gives it copies of them, the same bytes), so its figure stands in.
  for (const m of models) {
    const params = modelParams(m.header);
    for (const ctx of [256, 512, 4096, 32768]) {
      const real = llamaContextMemory(m.path, ctx, { flashAttn: true }).computeMiB;
      const ours = gpuComputeBytes(params, ctx) / MiB;
      // Exact (to the log's 2 decimals) on llama graphs; Gemma-2's softcapping keeps ~10 MiB more at 512.
      const tolerance = m.header.kv.some((e) => e.value === 'gemma2') ? 0.15 * real : 0.011;
      assert.ok(Math.abs(ours - real) <= tolerance, `${m.name} at ${ctx}: ours ${ours.toFixed(2)} MiB, llama.cpp ${real} MiB`);
    }
  }
});

test('CPU compute a prompt touches (flash attention, last token\'s logits) equals llama.cpp\'s reservation with one output', { skip }, () => {
  for (const m of models) {
    const params = modelParams(m.header);
    for (const ctx of [512, 4096, 32768]) {
      const real = llamaContextMemory(m.path, ctx, { flashAttn: true, outputs: 1 }).computeMiB;
      const ours = cpuComputeBytes(params, ctx) / MiB;
      // Exact (to the log's 2 decimals) on llama graphs; Gemma-2 keeps ~0.5 MiB more (softcapping).
      assert.ok(Math.abs(ours - real) <= (m.header.kv.some((e) => e.value === 'gemma2') ? 0.6 : 0.011), `${m.name} at ${ctx}: ours ${ours.toFixed(2)} MiB, llama.cpp ${real} MiB`);
    }
  }
});

/** The SIMD families of this machine's CPU, from the flags llama.cpp's CPU backend checks too. */
function thisCpu(): CpuSimd {
  const flags = new Set(readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:(.*)$/m)?.[1]?.trim().split(/\s+/) ?? []);
  return { avx2: flags.has('avx2'), avx512: flags.has('avx512f'), neon: false };
}

test('repacked and mapped weight bytes equal llama.cpp\'s CPU_REPACK and CPU_Mapped buffers on a real load', { skip }, async () => {
  // A llama with a type per matrix: repackable or not on x86, rows divisible by 8 or not (output: 1004 rows).
  const base = tinyLlama({ nEmbd: 1024, nLayer: 4, nHead: 8, nHeadKv: 2, nFf: 2048, nVocab: 1004 });
  const types: Record<string, string> = {
    'token_embd.weight': 'Q4_K', 'output.weight': 'Q4_K', attn_q: 'Q4_K', attn_k: 'Q4_0', attn_v: 'IQ4_NL', attn_output: 'Q6_K',
    ffn_gate: 'Q2_K', ffn_up: 'Q8_0', ffn_down: 'Q5_K',
  };
  const spec: SyntheticModel = {
    ...base,
    tensors: base.tensors.map((t) => {
      const type = types[t.name] ?? types[t.name.replace(/^blk\.\d+\.|\.weight$/g, '')];
      return type && t.shape.length === 2 ? { name: t.name, shape: t.shape, type } : t;
    }),
  };
  const path = join(dir, 'mixed-types.gguf');
  await writeSyntheticGguf(path, spec);
  const header = await readGgufHeader(path);
  const real = llamaContextMemory(path, 512, { load: true });
  const ours = weightResidency(header.tensors, thisCpu());
  assert.ok(ours.repackedBytes > MiB, 'weights are repacked on this CPU');
  console.log(`# repacked ${ours.repackedBytes} B, mapped ${ours.mappedBytes} B; llama.cpp: ${JSON.stringify(real.modelMiB)} MiB`);
  assert.equal((ours.repackedBytes / MiB).toFixed(2), (real.modelMiB.CPU_REPACK ?? 0).toFixed(2), JSON.stringify(real.modelMiB));
  assert.equal((ours.mappedBytes / MiB).toFixed(2), (real.modelMiB.CPU_Mapped ?? 0).toFixed(2), JSON.stringify(real.modelMiB));
});

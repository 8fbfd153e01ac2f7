// The advisor on a full-size LLaMA-7B-shaped model (a sparse file with the real header) across
// recorded machines: does the pick read right to a person choosing for that machine?

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import type { GgufHeader } from '../../src-main/core/gguf/types.ts';
import { planModel, type PlannedModel } from '../../src-main/core/advisor/estimate.ts';
import { quantizerPlanner } from '../../src-main/core/advisor/planner.ts';
import { recommendFrom } from '../../src-main/core/advisor/recommend.ts';
import { memoryBudget } from '../../src-main/core/advisor/budget.ts';
import { profileFromRaw } from '../../src-main/core/hardware/profile.ts';
import { applyOverrides } from '../../src-main/core/hardware/override.ts';
import type { RawHardware } from '../../src-main/core/hardware/raw.ts';
import type { HardwareProfile } from '../../src-main/core/hardware/types.ts';
import type { Estimate, ReasonItem, RecommendReport } from '../../src-main/core/advisor/types.ts';
import { planQuantization } from '../../src-main/core/quant/policy.ts';
import { ESTIMATED_FTYPES, LADDER_GROUP } from '../../src-main/core/advisor/quality.ts';
import { makeTempDir, removeTempDir } from '../support/synthetic-gguf.ts';
import { dataBytes, llama7b, writeSparseGguf } from './support.ts';

const GiB = 1024 ** 3;
let dir = '';
let path = '';
let header: GgufHeader;
let model: PlannedModel;

function machine(name: string): HardwareProfile {
  const url = new URL(`../fixtures/hardware/${name}.json`, import.meta.url);
  return profileFromRaw((JSON.parse(readFileSync(url, 'utf8')) as { raw: RawHardware }).raw, 'fixture');
}

function reason(reasons: readonly ReasonItem[], code: ReasonItem['code']): ReasonItem | undefined {
  return reasons.find((r) => r.code === code);
}

function option(options: readonly Estimate[], type: string): Estimate {
  const o = options.find((x) => x.type === type);
  assert.ok(o, `no option ${type}`);
  return o;
}

before(async () => {
  dir = await makeTempDir('advisor-7b');
  path = join(dir, 'llama-7b-f16.gguf');
  header = await writeSparseGguf(path, llama7b());
  model = planModel(header, quantizerPlanner, { hasImatrix: false });
});

after(async () => {
  await removeTempDir(dir);
});

test('the sparse 7B file is full size: header plus 13.48 GB of weights (F16, norms F32)', async () => {
  const size = (await stat(path)).size;
  assert.equal(size, header.fileSize);
  assert.equal(header.tensors.length, 3 + 32 * 9);
  // 2 × 4096 × 32000 embeddings + 32 × (4 × 4096² + 3 × 4096 × 11008) in F16, 65 norms of 4096 in F32.
  assert.equal(dataBytes(llama7b()), 2 * (2 * 4096 * 32000 + 32 * (4 * 4096 * 4096 + 3 * 4096 * 11008)) + 65 * 4096 * 4);
  assert.ok(size > dataBytes(llama7b()) && size < dataBytes(llama7b()) + 2 * 1024 * 1024);
  assert.deepEqual(model.skipped, []);
  assert.deepEqual(model.plans.map((p) => p.type), ESTIMATED_FTYPES);
});

test('file sizes are the quantizer plan\'s exact sizes; K/V and totals add up', () => {
  const { options } = recommendFrom(model, machine('nvidia-24gb'), 4096, { hasImatrix: false });
  for (const o of options) {
    assert.equal(o.kvCacheBytes, 2 * GiB, 'f16 K+V: 32 layers × 4096 × 8192 × 2');
    assert.equal(o.totalBytes, o.fileBytes + o.kvCacheBytes + o.computeBytes + o.runtimeBytes);
    if (o.fit !== 'gpu') continue;
    // All on the GPU: the tensors but token_embd (the input layer stays in RAM), the cache, the compute
    // buffer (flash attention's layer phase at 4K: 4 × 512 × (3 × 11008 + 4 × 4096) + 4096 × 512 × 2).
    const tensors = planQuantization(header, { ftype: o.type, hasImatrix: o.requiresImatrix }).tensors;
    const onGpu = tensors.filter((t) => t.name !== 'token_embd.weight').reduce((s, t) => s + t.byteSize, 0);
    assert.equal(o.computeBytes, 4 * 512 * (3 * 11008 + 4 * 4096) + 4096 * 512 * 2, o.type);
    assert.equal(o.totalBytes, onGpu + o.kvCacheBytes + o.computeBytes, o.type);
  }
  // imatrix-only types are sized as made with a matrix (the plan differs without one).
  for (const type of ['Q4_K_M', 'Q6_K', 'IQ2_XS']) {
    const o = option(options, type);
    assert.equal(o.fileBytes, planQuantization(header, { ftype: type, hasImatrix: o.requiresImatrix }).fileBytes, type);
  }
  // Sanity against the well-known 7B sizes: Q4_K_M ≈ 3.80 GiB, Q8_0 ≈ 6.67 GiB.
  assert.ok(Math.abs(option(options, 'Q4_K_M').fileBytes / GiB - 3.80) < 0.03);
  assert.ok(Math.abs(option(options, 'Q8_0').fileBytes / GiB - 6.67) < 0.03);
  assert.equal(option(options, 'Q4_K_M').pplIncrease, 0.0535);
  assert.equal(option(options, 'IQ4_XS').pplIncrease, null);
  // Smaller types are smaller files.
  assert.ok(option(options, 'Q8_0').fileBytes > option(options, 'Q6_K').fileBytes);
  assert.ok(option(options, 'Q6_K').fileBytes > option(options, 'Q5_K_M').fileBytes);
  assert.ok(option(options, 'Q4_K_M').fileBytes > option(options, 'Q3_K_M').fileBytes);
  assert.ok(option(options, 'Q2_K').fileBytes > option(options, 'IQ1_S').fileBytes);
});

test('24 GB NVIDIA: near-lossless Q8_0, every layer on the GPU', () => {
  const { recommended: r } = recommendFrom(model, machine('nvidia-24gb'), 4096, { hasImatrix: false });
  assert.equal(r.type, 'Q8_0');
  assert.equal(LADDER_GROUP[r.type!], 'near-lossless');
  assert.equal(r.fit, 'gpu');
  assert.equal(r.gpuLayers, 32);
  assert.equal(reason(r.reasons, 'step_down')?.type, 'Q6_K');
  assert.equal(reason(r.reasons, 'shorter_context'), undefined, 'nothing better to gain');
  // 6.67 GiB file − 0.13 GiB token_embd (stays in RAM) + 2 GiB KV + 0.1 GiB compute.
  assert.match(r.reason, /Q8_0 needs 8\.6 GiB and fits entirely on the GPU/);
});

// Flash attention's compute (0.1 GiB at 4K, where the KQ scores of FA off took 0.4) leaves room for Q6_K.
test('8 GB NVIDIA: Q6_K all on the GPU; Q8_0 only partly, or with a shorter context', () => {
  const hw = machine('nvidia-8gb');
  const { recommended: r, options } = recommendFrom(model, hw, 4096, { hasImatrix: false });
  assert.equal(r.type, 'Q6_K');
  assert.equal(r.fit, 'gpu');
  assert.equal(r.gpuLayers, 32);
  assert.ok(option(options, 'Q6_K').totalBytes <= memoryBudget(hw).gpuBytes);
  const up = reason(r.reasons, 'step_up');
  assert.deepEqual([up?.type, up?.fit], ['Q8_0', 'partial']);
  assert.ok(option(options, 'Q8_0').gpuLayers > 0 && option(options, 'Q8_0').gpuLayers < 32);
  assert.equal(reason(r.reasons, 'step_down')?.type, 'Q5_K_M');
  const shorter = reason(r.reasons, 'shorter_context');
  assert.deepEqual([shorter?.ctx, shorter?.type, shorter?.fit], [1024, 'Q8_0', 'gpu']);
  assert.match(r.reason, /^Q6_K needs 7\.1 GiB and fits entirely on the GPU \(7\.3 GiB usable\)\./);
});

test('8 GB NVIDIA at 16K context: the KV cache no longer fits the GPU, so partial offload', () => {
  const { recommended: r, options } = recommendFrom(model, machine('nvidia-8gb'), 16384, { hasImatrix: false });
  assert.equal(option(options, 'Q4_K_M').kvCacheBytes, 8 * GiB);
  assert.equal(r.fit, 'partial');
  assert.equal(r.type, 'Q5_K_M', 'the best type for the CPU side');
  assert.ok(r.gpuLayers > 0 && r.gpuLayers < 32);
  assert.match(r.reason, /layers fit on the GPU/);
  const shorter = reason(r.reasons, 'shorter_context');
  assert.equal(shorter?.fit, 'gpu');
});

// A CPU run's compute is flash attention's (llama-server's default), ~190 MiB under the FA-off
// reservation at 4K for 7B; the repacked copies (AVX-512 laptop) take the place of the file pages they
// were made from in what must stay resident: so Q4_0 fits at 4K.
test('CPU-only 8 GB laptop: Q4_0 at 4K, and the reason offers 2K context for Q5_K_M', () => {
  const hw = machine('cpu-laptop-8gb');
  assert.equal(memoryBudget(hw).gpuBytes, 0, 'the Iris Xe is not planned for');
  const { recommended: r } = recommendFrom(model, hw, 4096, { hasImatrix: false });
  assert.equal(r.type, 'Q4_0');
  assert.equal(r.fit, 'cpu');
  assert.equal(reason(r.reasons, 'step_up')?.type, 'Q4_K_M');
  assert.equal(reason(r.reasons, 'step_up')?.fit, 'none');
  const shorter = reason(r.reasons, 'shorter_context');
  assert.deepEqual([shorter?.ctx, shorter?.type, shorter?.fit], [2048, 'Q5_K_M', 'cpu']);
  // And at 2K the pick is a balanced type, never beyond Q5_K_M on a CPU.
  const at2k = recommendFrom(model, hw, 2048, { hasImatrix: false }).recommended;
  assert.equal(at2k.type, 'Q5_K_M');
  assert.equal(LADDER_GROUP[at2k.type!], 'balanced');
});

test('CPU-only with plenty of RAM stops at Q5_K_M (bandwidth-bound) and says why', () => {
  const hw = applyOverrides(machine('cpu-laptop-8gb'), { ramBytes: 64 * GiB });
  const { recommended: r } = recommendFrom(model, hw, 4096, { hasImatrix: false });
  assert.deepEqual([r.type, r.fit], ['Q5_K_M', 'cpu']);
  assert.equal(reason(r.reasons, 'step_up')?.detail, 'slower_on_cpu');
});

test('16 GB Apple M2: Q8_0 in the GPU working set, which is flagged as an estimate', () => {
  const hw = machine('apple-m2-16gb');
  const b = memoryBudget(hw);
  assert.equal(b.unified, true);
  assert.equal(b.combinedBytes, b.cpuBytes, 'unified RAM is not counted twice');
  const { recommended: r } = recommendFrom(model, hw, 4096, { hasImatrix: false });
  assert.deepEqual([r.type, r.fit, r.gpuLayers], ['Q8_0', 'gpu', 32]);
  assert.ok(reason(r.reasons, 'gpu_memory_estimated'));
  // 8 GB Mac: the working set is ~5.1 GiB. At 4K Q4_K_M, mostly on the GPU; at 2K all of it.
  const mac8 = applyOverrides(hw, { ramBytes: 8 * GiB });
  const small = recommendFrom(model, mac8, 4096, { hasImatrix: false }).recommended;
  assert.deepEqual([small.type, small.fit], ['Q4_K_M', 'partial']);
  assert.ok(small.gpuLayers > 24);
  assert.equal(reason(small.reasons, 'needs_imatrix'), undefined, 'Q3_K_S already fits on the GPU without one');
  const shorter = reason(small.reasons, 'shorter_context');
  assert.deepEqual([shorter?.ctx, shorter?.type, shorter?.fit], [2048, 'Q4_K_M', 'gpu']);
  assert.deepEqual(
    [recommendFrom(model, mac8, 2048, { hasImatrix: false }).recommended.type, recommendFrom(model, mac8, 2048, { hasImatrix: false }).recommended.fit],
    ['Q4_K_M', 'gpu'],
  );
});

test('AMD APU (32 GB shared): runs on the iGPU through its GTT window', () => {
  const { recommended: r } = recommendFrom(model, machine('amd-apu-32gb'), 4096, { hasImatrix: false });
  assert.deepEqual([r.type, r.fit], ['Q8_0', 'gpu']);
  assert.equal(reason(r.reasons, 'gpu_memory_estimated'), undefined, 'GTT size came from sysfs');
});

test('2 GB board: nothing fits; the reason names the smallest type and the memory missing', () => {
  const hw = machine('tiny-2gb');
  const { recommended: r, options } = recommendFrom(model, hw, 4096, { hasImatrix: false });
  assert.equal(r.type, null);
  assert.equal(r.fit, 'none');
  assert.ok(options.every((o) => o.fit === 'none'));
  const nothing = reason(r.reasons, 'nothing_fits');
  assert.equal(nothing?.type, 'Q2_K', 'the smallest type that needs no importance matrix');
  const more = reason(r.reasons, 'more_memory');
  assert.equal(more?.bytes, option(options, 'Q2_K').totalBytes - memoryBudget(hw).combinedBytes);
  assert.match(r.reason, /^Nothing fits at a context of 4096 tokens: even Q2_K needs/);
  // With an importance matrix the smallest is IQ1_S — still too big for 2 GB.
  const im = recommendFrom(model, hw, 4096, { hasImatrix: true }).recommended;
  assert.equal(im.type, null);
  assert.equal(reason(im.reasons, 'nothing_fits')?.type, 'IQ1_S');
});

test('very little memory: IQ2_XS only with an importance matrix; without one, say so and offer Q2_K/Q3_K_S', () => {
  // A machine where ~4.3 GiB is usable: IQ2_XS (4.2 GiB total at 4K) fits, Q2_K (4.6 GiB) does not.
  const hw = applyOverrides(machine('cpu-laptop-8gb'), { ramBytes: Math.round(5.6 * GiB) });
  const without = recommendFrom(model, hw, 4096, { hasImatrix: false }).recommended;
  assert.equal(without.type, null);
  const needs = reason(without.reasons, 'needs_imatrix');
  assert.equal(needs?.type, 'IQ2_XS');
  assert.match(without.reason, /needs an importance matrix/);
  const withIm = recommendFrom(model, hw, 4096, { hasImatrix: true }).recommended;
  assert.deepEqual([withIm.type, withIm.fit], ['IQ2_XS', 'cpu']);
  // A little more memory: Q3_K_S/Q2_K fit; the imatrix hint is not needed then.
  const roomier = recommendFrom(model, applyOverrides(hw, { ramBytes: Math.round(6.6 * GiB) }), 4096, { hasImatrix: false }).recommended;
  assert.ok(['Q2_K', 'Q3_K_S'].includes(roomier.type!), String(roomier.type));
});

test('quantfit recommend --json with --ram/--vram ("what if") on the 7B file', () => {
  const r = spawnSync(process.execPath, ['bin/quantfit.mjs', 'recommend', path, '--ram', '32G', '--vram', '24GiB', '--json'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout) as RecommendReport;
  assert.equal(j.hardware.source, 'override');
  assert.equal(j.ctx, 4096);
  assert.equal(j.options.length, ESTIMATED_FTYPES.length);
  assert.deepEqual(Object.keys(j.options[0]!).sort(), ['computeBytes', 'fileBytes', 'fit', 'gpuLayers', 'kvCacheBytes', 'pplIncrease', 'requiresImatrix', 'runtimeBytes', 'totalBytes', 'type']);
  assert.deepEqual([j.recommended.type, j.recommended.fit, j.recommended.gpuLayers], ['Q8_0', 'gpu', 32]);
  assert.equal(j.recommended.reasons[0]!.code, 'fits');
});

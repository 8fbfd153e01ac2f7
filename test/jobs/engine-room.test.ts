// Room for the fit's llama.cpp passes, checked in 'advise' before any work: the engine's RAM per pass
// (engine/room.ts, worked out by hand below), the reference log-probabilities' disk size (llama-perplexity's
// --kl-divergence-base layout), and the refusals and warning (jobs/engine-room.ts), also through a real fit.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { GgmlType } from '../../src-main/core/gguf/ggml-types.ts';
import { cpuRuntimeBytes } from '../../src-main/core/advisor/cpu-memory.ts';
import { modelParams } from '../../src-main/core/advisor/model-params.ts';
import { enginePassMemory, referenceCacheBytes } from '../../src-main/core/engine/room.ts';
import { judgeEngineRoom, type EngineRoomFacts } from '../../src-main/core/jobs/engine-room.ts';
import { runFitJob } from '../../src-main/core/jobs/fit.ts';
import { QuantfitError } from '../../src-main/core/errors.ts';
import { formatMessage } from '../../src-shared/messages/index.ts';
import { profileFromRaw } from '../../src-main/core/hardware/profile.ts';
import { applyOverrides } from '../../src-main/core/hardware/override.ts';
import type { RawHardware } from '../../src-main/core/hardware/raw.ts';
import { setCalibrationTextPath } from '../../src-main/core/engine/calibration.ts';
import { makeTempDir, removeTempDir } from '../support/synthetic-gguf.ts';
import { headerWith } from '../advisor/support.ts';
import { writeTinyLlama } from './support.ts';
import { engineSkip, STORIES_TEXT } from '../engine/support.ts';

const MiB = 1024 * 1024;
const X86 = { avx2: true, avx512: false, neon: false };

// A 2-layer llama, n_embd 256, 4 heads of 64 (no GQA: K and V rows of 256), n_ff 512, 1000 tokens, F16.
const header = headerWith('llama', { block_count: 2, embedding_length: 256, 'attention.head_count': 4, feed_forward_length: 512, vocab_size: 1000 }, [
  { name: 'token_embd.weight', type: GgmlType.F16, shape: [256, 1000], offset: 0, byteSize: 512_000 },
  { name: 'blk.0.attn_q.weight', type: GgmlType.F16, shape: [256, 256], offset: 512_000, byteSize: 131_072 },
]);

test('engine pass memory at chunks of 512: 4 chunks side by side (2048 cells), many logits per decode', () => {
  const runtime = cpuRuntimeBytes(modelParams(header));
  const evalPass = enginePassMemory(header, 512, 'eval', X86);
  // F16 is not repacked: the mapped range, 512000 + 131072.
  assert.equal(evalPass.weightBytes, 643_072);
  // 2 layers × 2048 cells × (256 + 256) × f16.
  assert.equal(evalPass.kvBytes, 2 * 2048 * 512 * 2);
  // Flash-attention layer phase over 512 tokens (4 × 512 × (3 × 512 + 4 × 256)) and a 2048 × 512 f16 mask,
  // above the output phase 4 × 512 × (1000 + 2 × 256).
  assert.equal(evalPass.computeBytes, 4 * 512 * (3 * 512 + 4 * 256) + 2048 * 512 * 2);
  // eval: n_outputs_max = min(2048, 4 × 256 scored) = 1024 rows of 1000 floats, read in place; in JS the
  // group's encoded rows: 4 chunks × 255 scored × (1000 + 4) u16.
  assert.equal(evalPass.outputBytes, 4 * 1000 * 1024 + 4 * 255 * 1004 * 2);
  assert.equal(evalPass.runtimeBytes, runtime);
  assert.equal(evalPass.reclaimableBytes, 0);
  assert.equal(evalPass.totalBytes, 643_072 + 4 * MiB + 7_340_032 + 4_096_000 + 2_048_160 + runtime);
  // imatrix: every position asks for logits (llama.cpp clears the buffer, so it is resident), one
  // micro-batch per decode: 512 rows, not the batch's 2048; none copied out.
  const imatrixPass = enginePassMemory(header, 512, 'imatrix', X86);
  assert.equal(imatrixPass.outputBytes, 4 * 1000 * 512);
  assert.equal(imatrixPass.runtimeBytes, runtime);
  // Its graph stops at the final norm: the compute pages are the layer phase's (here the same: it is the larger).
  assert.equal(imatrixPass.computeBytes, 4 * 512 * (3 * 512 + 4 * 256) + 2048 * 512 * 2);
  // A 152K vocabulary: eval touches the logits of 512 tokens (4 × 512 × (151936 + 2 × 896)), imatrix never.
  const qwen = headerWith('qwen2', { block_count: 1, embedding_length: 896, 'attention.head_count': 14, 'attention.head_count_kv': 2, feed_forward_length: 4864, vocab_size: 151936 }, header.tensors);
  assert.equal(enginePassMemory(qwen, 512, 'eval', X86).computeBytes, 4 * 512 * (151936 + 2 * 896));
  assert.equal(enginePassMemory(qwen, 512, 'imatrix', X86).computeBytes, 4 * 512 * (3 * 4864 + 4 * 896) + 2048 * 512 * 2);
});

test('engine pass memory at chunks of 8192: one chunk per batch of 2048; eval gathers a chunk\'s scored logits', () => {
  // eval: 2048 rows per decode (all scored), then the chunk's 4096 scored rows gathered in one buffer, and
  // one chunk's 4095 encoded rows.
  assert.equal(enginePassMemory(header, 8192, 'eval', X86).outputBytes, 4 * 1000 * 2048 + 4 * 1000 * 4096 + 4095 * 1004 * 2);
  // imatrix: still one micro-batch of 512 per decode.
  assert.equal(enginePassMemory(header, 8192, 'imatrix', X86).outputBytes, 4 * 1000 * 512);
});

test('reference log-probabilities: 20-byte header, the tokens, then per chunk 255 rows of 2⌈n_vocab/2⌉ + 4 u16', () => {
  assert.equal(referenceCacheBytes(header, 512, 16), 20 + 512 * 16 * 4 + 16 * 255 * (1000 + 4) * 2);
  // Qwen-sized vocabulary (151936): 1.2 GB for the fit's 16 chunks.
  const qwen = headerWith('qwen2', { block_count: 1, embedding_length: 64, 'attention.head_count': 1, vocab_size: 151936 });
  assert.equal(referenceCacheBytes(qwen, 512, 16), 20 + 32768 + 16 * 255 * 151940 * 2);
});

const pass = enginePassMemory(header, 512, 'eval', X86);
const facts = (over: Partial<EngineRoomFacts>): EngineRoomFacts => ({ pass: { name: 'eval', memory: pass }, usableRamBytes: 1024 * MiB, availableRamBytes: 1024 * MiB, disk: null, ...over });
const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    return err instanceof QuantfitError ? err.code : 'not a QuantfitError';
  }
  return undefined;
};

test('judging: refused without the RAM or the disk, warned when the RAM is there but taken, quiet otherwise', () => {
  assert.equal(judgeEngineRoom(facts({}), '/m.gguf'), null);
  assert.equal(codeOf(() => judgeEngineRoom(facts({ usableRamBytes: pass.totalBytes - 1 }), '/m.gguf')), 'room.noMemory');
  assert.equal(judgeEngineRoom(facts({ usableRamBytes: pass.totalBytes }), '/m.gguf'), null);
  const busy = judgeEngineRoom(facts({ availableRamBytes: pass.totalBytes - 1 }), '/m.gguf');
  assert.equal(busy?.code, 'room.memoryBusy');
  assert.match(formatMessage(busy!, 'en'), /^the quality check needs about \d/);
  assert.match(formatMessage(busy!, 'zh-CN'), /^进行质量检查约需/);
  const disk = { dir: '/out', cacheBytes: 800 * MiB, outputBytes: 200 * MiB, freeBytes: 1000 * MiB };
  assert.equal(judgeEngineRoom(facts({ disk }), '/m.gguf'), null);
  assert.equal(codeOf(() => judgeEngineRoom(facts({ disk: { ...disk, freeBytes: 1000 * MiB - 1 } }), '/m.gguf')), 'room.noDisk');
  // The refusal says what is needed, what there is, and what to do, in both languages.
  try {
    judgeEngineRoom(facts({ pass: { name: 'imatrix', memory: pass }, usableRamBytes: 0 }), '/m.gguf');
    assert.fail('refused');
  } catch (err) {
    assert.ok(err instanceof QuantfitError);
    assert.match(err.message, /not enough memory for computing the importance matrix: llama\.cpp needs about .* of RAM .* and 0 B is usable on this machine; give an importance matrix/);
    assert.match(formatMessage({ code: err.code!, params: err.params! }, 'zh-CN'), /^内存不足，无法计算重要性矩阵/);
  }
});

let dir = '';
before(async () => {
  dir = await makeTempDir('engine-room');
});
after(async () => {
  await removeTempDir(dir);
});

test('a fit whose importance matrix would not fit in RAM is refused in advise, before anything is written', { skip: engineSkip() }, async () => {
  setCalibrationTextPath(STORIES_TEXT);
  const model = await writeTinyLlama(dir, 'tiny', { nEmbd: 256, nFf: 512, nLayer: 2, nHead: 4, nHeadKv: 2, nVocab: 512, nCtx: 512 });
  const raw = (JSON.parse(await readFile(new URL('../fixtures/hardware/cpu-laptop-8gb.json', import.meta.url), 'utf8')) as { raw: RawHardware }).raw;
  // A machine with 1 GiB of RAM: nothing is usable once the OS reserve (at least 1 GiB) is kept back.
  const hardware = applyOverrides(profileFromRaw(raw, 'fixture'), { ramBytes: 1024 * MiB });
  const out = join(dir, 'out');
  await assert.rejects(
    runFitJob({ modelPath: model, type: 'IQ2_XS', outputDir: out, register: false, threads: 2, hardware }, {}),
    (err: unknown) => err instanceof Error && /not enough memory for computing the importance matrix/.test(err.message),
  );
  assert.deepEqual(await readdir(dir), ['tiny.gguf'], 'no output folder, matrix or model');
});

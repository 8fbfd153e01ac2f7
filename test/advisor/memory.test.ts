import { test } from 'node:test';
import assert from 'node:assert/strict';
import { modelParams } from '../../src-main/core/advisor/model-params.ts';
import { cacheCells, kvCacheBytes, outputPhaseBytes, padContext } from '../../src-main/core/advisor/memory.ts';
import { N_UBATCH } from '../../src-main/core/advisor/constants.ts';
import { headerWith } from './support.ts';

const GiB = 1024 ** 3;

test('llama 7B (no GQA): 32 layers × ctx × (4096 + 4096) × 2 bytes', () => {
  const p = modelParams(headerWith('llama', { block_count: 32, embedding_length: 4096, 'attention.head_count': 32, feed_forward_length: 11008, vocab_size: 32000 }));
  assert.equal(kvCacheBytes(p, 4096), 32 * 4096 * 8192 * 2);
  assert.equal(kvCacheBytes(p, 4096), 2 * GiB);
  assert.equal(kvCacheBytes(p, 2048), 1 * GiB);
});

test('Llama-3-8B GQA (8 of 32 heads keep KV): 1 GiB at 8192', () => {
  const p = modelParams(headerWith('llama', { block_count: 32, embedding_length: 4096, 'attention.head_count': 32, 'attention.head_count_kv': 8, vocab_size: 128256 }));
  assert.equal(p.layers[0]!.kWidth, 1024);
  assert.equal(kvCacheBytes(p, 8192), 32 * 8192 * (1024 + 1024) * 2);
  assert.equal(kvCacheBytes(p, 8192), GiB);
});

test('key_length/value_length override n_embd / n_head (head size 256 with n_embd 3072)', () => {
  const p = modelParams(headerWith('llama', { block_count: 28, embedding_length: 3072, 'attention.head_count': 16, 'attention.head_count_kv': 4, 'attention.key_length': 256, 'attention.value_length': 192 }));
  assert.equal(p.layers[0]!.kWidth, 1024);
  assert.equal(p.layers[0]!.vWidth, 768);
  assert.equal(kvCacheBytes(p, 4096), 28 * 4096 * (1024 + 768) * 2);
});

test('per-layer head_count_kv arrays: layers with 0 KV heads keep no cache', () => {
  const kvHeads = [8, 0, 0, 8, 0, 0, 4, 0];
  const p = modelParams(headerWith('lfm2', { block_count: 8, embedding_length: 2048, 'attention.head_count': 32, 'attention.head_count_kv': kvHeads }));
  const head = 2048 / 32;
  const expected = kvHeads.reduce((s, h) => s + 4096 * 2 * head * h * 2, 0);
  assert.equal(kvCacheBytes(p, 4096), expected);
});

test('gemma2: every other layer is sliding-window; those cache window + n_ubatch, padded to 256', () => {
  // Gemma-2-9B: 42 layers, 16 heads, 8 KV heads, head size 256, window 4096.
  const p = modelParams(headerWith('gemma2', { block_count: 42, embedding_length: 3584, 'attention.head_count': 16, 'attention.head_count_kv': 8, 'attention.key_length': 256, 'attention.value_length': 256, 'attention.sliding_window': 4096 }));
  assert.equal(p.layers.filter((l) => l.swa).length, 21);
  assert.equal(p.layers[0]!.swa, true);
  assert.equal(p.layers[1]!.swa, false);
  const row = 2 * 8 * 256 * 2; // K and V, 8 heads × 256, f16
  const swaCells = padContext(4096 + N_UBATCH);
  assert.equal(swaCells, 4608);
  assert.equal(kvCacheBytes(p, 8192), 21 * 8192 * row + 21 * swaCells * row);
  // A context shorter than the window: SWA layers cache the context, like the others.
  assert.equal(kvCacheBytes(p, 2048), 42 * 2048 * row);
  // No window key: gemma2's loader default (4096) applies.
  const q = modelParams(headerWith('gemma2', { block_count: 42, embedding_length: 3584, 'attention.head_count': 16, 'attention.head_count_kv': 8, 'attention.key_length': 256, 'attention.value_length': 256 }));
  assert.equal(q.slidingWindow, 4096);
});

test('gemma3: 5 of every 6 layers SWA (window 1024); an explicit pattern array wins', () => {
  const base = { block_count: 12, embedding_length: 2560, 'attention.head_count': 8, 'attention.head_count_kv': 4, 'attention.key_length': 256, 'attention.value_length': 256, 'attention.sliding_window': 1024 };
  const p = modelParams(headerWith('gemma3', base));
  assert.deepEqual(p.layers.map((l) => l.swa), [true, true, true, true, true, false, true, true, true, true, true, false]);
  const row = 2 * 4 * 256 * 2;
  assert.equal(kvCacheBytes(p, 32768), 2 * 32768 * row + 10 * padContext(1024 + N_UBATCH) * row);
  const pattern = [true, false, true, false, true, false, true, false, true, false, true, false];
  const q = modelParams(headerWith('gemma3', { ...base, 'attention.sliding_window_pattern': pattern }));
  assert.deepEqual(q.layers.map((l) => l.swa), pattern);
  // gemma3 without a window key has no SWA at all.
  const { 'attention.sliding_window': _w, ...noWindow } = base;
  assert.equal(modelParams(headerWith('gemma3', noWindow)).layers.some((l) => l.swa), false);
});

test('an architecture without SWA ignores a stray pattern; llama has none', () => {
  const p = modelParams(headerWith('llama', { block_count: 4, embedding_length: 256, 'attention.head_count': 4 }));
  assert.equal(p.slidingWindow, 0);
  assert.equal(cacheCells(p, true, 4096), 4096);
});

test('MLA (key_length_mla present): only the latent K is cached', () => {
  const p = modelParams(headerWith('deepseek2', { block_count: 2, embedding_length: 2048, 'attention.head_count': 16, 'attention.head_count_kv': 1, 'attention.key_length': 576, 'attention.value_length': 512, 'attention.key_length_mla': 192 }));
  assert.equal(kvCacheBytes(p, 4096), 2 * 4096 * 576 * 2);
});

test('context is padded to 256 as llama.cpp does', () => {
  const p = modelParams(headerWith('llama', { block_count: 1, embedding_length: 128, 'attention.head_count': 2 }));
  assert.equal(kvCacheBytes(p, 1000), kvCacheBytes(p, 1024));
  assert.ok(kvCacheBytes(p, 1025) > kvCacheBytes(p, 1024));
});

test('output phase: every token of the micro-batch asks for logits (n_outputs_max = n_batch): 4 × tokens × (n_vocab + 2 n_embd)', () => {
  // Llama-3-8B widths: 4 × 512 × (128256 + 8192) = 266.5 MiB, the 266.50 MiB llama.cpp reserves with flash
  // attention at any context from 512 up (test/advisor/llama-parity.test.ts measures it).
  const v = modelParams(headerWith('llama', { block_count: 32, embedding_length: 4096, 'attention.head_count': 32, 'attention.head_count_kv': 8, feed_forward_length: 14336, vocab_size: 128256 }));
  assert.equal(outputPhaseBytes(v, 2048), 4 * 512 * (128256 + 2 * 4096));
  assert.equal(outputPhaseBytes(v, 2048), 266.5 * 1024 * 1024);
  // Independent of the context once it holds a micro-batch; shorter, the batch is the padded context.
  assert.equal(outputPhaseBytes(v, 32768), outputPhaseBytes(v, 512));
  assert.equal(outputPhaseBytes(v, 200), 4 * 256 * (128256 + 2 * 4096));
});

test('missing hparams are a clear error naming the key', () => {
  assert.throws(() => modelParams(headerWith('llama', { embedding_length: 64, 'attention.head_count': 2 })), /llama\.block_count/);
  assert.throws(() => modelParams(headerWith('llama', { block_count: 2, embedding_length: 64 })), /llama\.attention\.head_count/);
});

// Metadata helpers: typed lookups and KV list edits.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { architecture, kv, kvArch, kvArray, kvGet, kvNumber, kvString, toNumber, withKv, withoutKv } from '../../src-main/core/gguf/metadata.ts';
import { GgufValueType as T } from '../../src-main/core/gguf/types.ts';

const h = {
  kv: [
    kv.string('general.architecture', 'qwen2'),
    kv.u32('qwen2.block_count', 24),
    kv.u64('qwen2.context_length', 32768n),
    kv.u64('huge', 1n << 60n),
    kv.i64('negative', -(1n << 52n)),
    kv.f32('qwen2.attention.layer_norm_rms_epsilon', Math.fround(1e-6)),
    kv.array('tokenizer.ggml.tokens', T.STRING, ['a', 'b']),
  ],
};

test('lookups are typed: strings, numbers (bigint converted when exact), arrays', () => {
  assert.equal(kvGet(h, 'qwen2.block_count'), 24);
  assert.equal(kvGet(h, 'missing'), undefined);
  assert.equal(kvString(h, 'general.architecture'), 'qwen2');
  assert.equal(kvString(h, 'qwen2.block_count'), undefined);
  assert.equal(kvNumber(h, 'qwen2.context_length'), 32768);
  assert.equal(kvNumber(h, 'negative'), -(2 ** 52));
  // Not exactly representable: undefined rather than a silently rounded number.
  assert.equal(kvNumber(h, 'huge'), undefined);
  assert.equal(toNumber(1n << 63n), undefined);
  assert.equal(kvNumber(h, 'general.architecture'), undefined);
  assert.deepEqual(kvArray(h, 'tokenizer.ggml.tokens')?.items, ['a', 'b']);
  assert.equal(kvArray(h, 'qwen2.block_count'), undefined);
});

test('architecture and kvArch read through general.architecture', () => {
  assert.equal(architecture(h), 'qwen2');
  assert.equal(kvArch(h, 'block_count'), 24);
  assert.equal(kvArch(h, 'nope'), undefined);
  assert.equal(kvArch({ kv: [kv.u32('llama.block_count', 1)] }, 'block_count'), undefined);
});

test('withKv replaces in place or appends; withoutKv removes; inputs untouched', () => {
  const replaced = withKv(h.kv, kv.u32('qwen2.block_count', 12));
  assert.equal(replaced.length, h.kv.length);
  assert.equal(replaced[1].value, 12);
  assert.equal(h.kv[1].value, 24);
  const appended = withKv(h.kv, kv.u32('general.file_type', 15));
  assert.equal(appended.at(-1)?.key, 'general.file_type');
  assert.deepEqual(withoutKv(h.kv, 'huge').map((e) => e.key), h.kv.map((e) => e.key).filter((k) => k !== 'huge'));
});

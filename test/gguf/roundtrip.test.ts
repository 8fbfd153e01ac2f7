// Read → write round trips must reproduce files byte for byte (KVs, tensor infos, data, padding).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, readdir, writeFile, stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GgufReader, readGgufHeader } from '../../src-main/core/gguf/reader.ts';
import { GgufWriter, ggufLayout } from '../../src-main/core/gguf/writer.ts';
import { GgufValueType, type GgufKv } from '../../src-main/core/gguf/types.ts';
import { GgmlType } from '../../src-main/core/gguf/ggml-types.ts';
import { architecture, kvArch, kvNumber } from '../../src-main/core/gguf/metadata.ts';
import {
  makeTempDir, removeTempDir, syntheticKv, syntheticTensorData, tinyLlama, writeSyntheticGguf, type SyntheticModel,
} from '../support/synthetic-gguf.ts';

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const STORIES = resolve(root, '../shared/fixtures/stories260K.gguf');
const storiesSkip = existsSync(STORIES) ? false : `fixture ${STORIES} is absent`;
if (storiesSkip) console.log(`# skipping stories260K round trip: ${storiesSkip}`);

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Reads `src` and writes it back with the reader's KVs, tensor infos and data, in chunks of `chunk` bytes. */
async function rewrite(src: string, dest: string, chunk = 1 << 20): Promise<{ sha256: string; bytes: number }> {
  const r = await GgufReader.open(src);
  try {
    const h = r.header;
    const w = await GgufWriter.create(dest, { kv: h.kv, tensors: h.tensors, alignment: h.alignment });
    for (const t of h.tensors) {
      for (let at = 0; at < t.byteSize; at += chunk) {
        await w.writeTensorData(await r.read(t, at, Math.min(chunk, t.byteSize - at)));
      }
    }
    return await w.finish();
  } finally {
    await r.close();
  }
}

/** A file exercising every value type, nested arrays, edge values and several tensor types. */
function everythingModel(): SyntheticModel {
  const T = GgufValueType;
  const arr = (elementType: number, items: GgufKv['value'][]) => ({ elementType, items });
  const kv: GgufKv[] = [
    { key: 'test.u8', type: T.UINT8, value: 255 },
    { key: 'test.i8', type: T.INT8, value: -128 },
    { key: 'test.u16', type: T.UINT16, value: 65535 },
    { key: 'test.i16', type: T.INT16, value: -32768 },
    { key: 'test.u32', type: T.UINT32, value: 4294967295 },
    { key: 'test.i32', type: T.INT32, value: -2147483648 },
    { key: 'test.f32', type: T.FLOAT32, value: Math.fround(-1.5e-30) },
    { key: 'test.f32.inf', type: T.FLOAT32, value: -Infinity },
    { key: 'test.f32.nan', type: T.FLOAT32, value: NaN },
    { key: 'test.bool.true', type: T.BOOL, value: true },
    { key: 'test.bool.false', type: T.BOOL, value: false },
    { key: 'test.string', type: T.STRING, value: '\uFEFFbom, 中文, emoji 🦙, nul \u0000 inside' },
    { key: 'test.string.empty', type: T.STRING, value: '' },
    { key: 'test.u64', type: T.UINT64, value: (1n << 64n) - 1n },
    { key: 'test.i64', type: T.INT64, value: -(1n << 63n) },
    { key: 'test.f64', type: T.FLOAT64, value: Math.PI },
    { key: 'test.array.empty', type: T.ARRAY, value: arr(T.UINT8, []) },
    { key: 'test.array.bool', type: T.ARRAY, value: arr(T.BOOL, [true, false, true]) },
    { key: 'test.array.i16', type: T.ARRAY, value: arr(T.INT16, [-1, 0, 1, 32767]) },
    { key: 'test.array.u64', type: T.ARRAY, value: arr(T.UINT64, [0n, 1n, (1n << 64n) - 1n]) },
    { key: 'test.array.f64', type: T.ARRAY, value: arr(T.FLOAT64, [0.1, -0, 1e300]) },
    { key: 'test.array.string', type: T.ARRAY, value: arr(T.STRING, ['a', '', 'ünïcödé']) },
    {
      key: 'test.array.nested', type: T.ARRAY,
      value: arr(T.ARRAY, [arr(T.INT32, [1, 2, 3]), arr(T.STRING, ['x']), arr(T.ARRAY, [arr(T.FLOAT32, [0.5])])]),
    },
  ];
  return {
    arch: 'testarch',
    alignment: 64,
    hparams: { block_count: 1, 'attention.layer_norm_epsilon': 1e-6, flag: true, big: 1n << 40n },
    kv,
    tensors: [
      { name: 'a.f32', shape: [5, 3] },
      { name: 'b.f16', shape: [7], type: 'F16' },
      { name: 'c.q8_0', shape: [64, 2], type: GgmlType.Q8_0 },
      { name: 'd.q4_k', shape: [256, 1, 2], type: 'Q4_K' },
      { name: 'e.i8', shape: [3, 1, 1, 2], type: 'I8' },
      { name: 'f.scalar', shape: [], type: 'F32' },
    ],
  };
}

test('a synthetic llama reads back with the KVs and tensors it was written with, and round-trips byte-exact', async () => {
  const dir = await makeTempDir('gguf-rt');
  try {
    const model = tinyLlama({ nLayer: 2, type: 'F16' });
    const src = join(dir, 'tiny.gguf');
    const written = await writeSyntheticGguf(src, model);
    const bytes = await readFile(src);
    assert.equal(written.sha256, sha256(bytes));
    assert.equal(written.bytes, bytes.length);

    const h = await readGgufHeader(src);
    assert.equal(h.version, 3);
    assert.equal(h.alignment, 32);
    assert.deepEqual(h.kv, syntheticKv(model));
    assert.equal(architecture(h), 'llama');
    assert.equal(kvArch(h, 'block_count'), 2);
    assert.equal(kvNumber(h, 'llama.rope.freq_base'), 10000);
    assert.equal(h.tensors.length, 3 + 2 * 9);
    assert.deepEqual(h.tensors.map((t) => t.name), model.tensors.map((t) => t.name));
    assert.equal(h.tensors[0].type, GgmlType.F16);
    assert.equal(h.tensors[1].type, GgmlType.F32);

    const layout = ggufLayout(h.kv, h.tensors);
    assert.equal(layout.headerBytes, h.dataOffset);
    assert.deepEqual(layout.offsets, h.tensors.map((t) => t.offset));
    assert.equal(layout.totalBytes, bytes.length);

    const r = await GgufReader.open(src);
    try {
      for (let i = 0; i < h.tensors.length; i++) {
        assert.deepEqual(await r.readTensor(h.tensors[i]), new Uint8Array(syntheticTensorData(model, i)), h.tensors[i].name);
      }
    } finally {
      await r.close();
    }

    const out = join(dir, 'copy.gguf');
    const copy = await rewrite(src, out, 1000);
    assert.equal(copy.sha256, written.sha256);
    assert.deepEqual(await readFile(out), bytes);
  } finally {
    await removeTempDir(dir);
  }
});

test('every value type, nested arrays, alignment 64 and mixed tensor types round-trip byte-exact', async () => {
  const dir = await makeTempDir('gguf-rt');
  try {
    const model = everythingModel();
    const src = join(dir, 'all.gguf');
    await writeSyntheticGguf(src, model);
    const h = await readGgufHeader(src);
    assert.equal(h.alignment, 64);
    assert.equal(h.dataOffset % 64, 0);
    for (const t of h.tensors) assert.equal(t.offset % 64, 0, t.name);
    assert.deepEqual(h.tensors.map((t) => t.byteSize), [60, 14, 4 * 34, 2 * 144, 6, 4]);
    assert.deepEqual(h.tensors.find((t) => t.name === 'f.scalar')?.shape, []);
    // Values come back with their types: bigints stay bigints, NaN stays NaN, BOM and NUL survive.
    const byKey = new Map(h.kv.map((e) => [e.key, e]));
    assert.equal(byKey.get('test.u64')?.value, (1n << 64n) - 1n);
    assert.ok(Number.isNaN(byKey.get('test.f32.nan')?.value));
    assert.equal(byKey.get('test.string')?.value, '\uFEFFbom, 中文, emoji 🦙, nul \u0000 inside');
    assert.equal(byKey.get('testarch.big')?.type, GgufValueType.UINT64);
    assert.deepEqual(h.kv, syntheticKv(model));

    const out = join(dir, 'copy.gguf');
    await rewrite(src, out, 7);
    assert.deepEqual(await readFile(out), await readFile(src));
  } finally {
    await removeTempDir(dir);
  }
});

test('a file with no tensors and no KVs round-trips', async () => {
  const dir = await makeTempDir('gguf-rt');
  try {
    const src = join(dir, 'empty.gguf');
    const w = await GgufWriter.create(src, { kv: [], tensors: [] });
    const res = await w.finish();
    assert.equal(res.bytes, 32);
    const h = await readGgufHeader(src);
    assert.equal(h.kv.length, 0);
    assert.equal(h.tensors.length, 0);
    await rewrite(src, join(dir, 'copy.gguf'));
    assert.deepEqual(await readFile(join(dir, 'copy.gguf')), await readFile(src));
  } finally {
    await removeTempDir(dir);
  }
});

test('GGUF v2 files are read and rewritten as v3 with otherwise identical bytes', async () => {
  const dir = await makeTempDir('gguf-rt');
  try {
    const v3 = join(dir, 'v3.gguf');
    await writeSyntheticGguf(v3, tinyLlama({ nLayer: 1 }));
    const bytes = await readFile(v3);
    const v2bytes = Buffer.from(bytes);
    v2bytes.writeUInt32LE(2, 4);
    const v2 = join(dir, 'v2.gguf');
    await writeFile(v2, v2bytes);
    const h = await readGgufHeader(v2);
    assert.equal(h.version, 2);
    const out = join(dir, 'out.gguf');
    await rewrite(v2, out);
    assert.deepEqual(await readFile(out), bytes);
  } finally {
    await removeTempDir(dir);
  }
});

test('ranged tensor reads return the right bytes and refuse ranges outside the tensor', async () => {
  const dir = await makeTempDir('gguf-rt');
  try {
    const model = tinyLlama({ nLayer: 1 });
    const src = join(dir, 'tiny.gguf');
    await writeSyntheticGguf(src, model);
    const r = await GgufReader.open(src);
    try {
      const t = r.header.tensors[2];
      const all = syntheticTensorData(model, 2);
      assert.deepEqual(await r.read(t, 100, 50), all.subarray(100, 150));
      const target = new Uint8Array(64);
      const got = await r.read(t, t.byteSize - 10, 10, target);
      assert.equal(got.buffer, target.buffer);
      assert.deepEqual(got, all.subarray(t.byteSize - 10));
      await assert.rejects(r.read(t, t.byteSize - 10, 11), /outside the tensor/);
      await assert.rejects(r.read(t, -1, 1), /outside the tensor/);
      await assert.rejects(r.read(t, 0.5, 1), /outside the tensor/);
      assert.equal(r.tensor('output.weight'), t);
    } finally {
      await r.close();
    }
    await assert.rejects(r.read(r.header.tensors[0], 0, 1), /closed/);
  } finally {
    await removeTempDir(dir);
  }
});

test('stories260K: 48 tensors, 19 keys, llama; round trip is byte-exact', { skip: storiesSkip }, async () => {
  const dir = await makeTempDir('gguf-rt');
  try {
    const h = await readGgufHeader(STORIES);
    assert.equal(h.version, 3);
    assert.equal(h.kv.length, 19);
    assert.equal(h.tensors.length, 48);
    assert.equal(architecture(h), 'llama');
    assert.equal(kvArch(h, 'embedding_length'), 64);
    assert.ok(h.tensors.every((t) => t.type === GgmlType.F32));
    const layout = ggufLayout(h.kv, h.tensors);
    assert.equal(layout.headerBytes, h.dataOffset);
    assert.equal(layout.totalBytes, h.fileSize);

    const out = join(dir, 'stories.gguf');
    const res = await rewrite(STORIES, out, 65536);
    const original = await readFile(STORIES);
    assert.equal(res.sha256, sha256(original));
    assert.deepEqual(await readFile(out), original);
    assert.equal((await stat(out)).size, h.fileSize);
    assert.deepEqual(await readdir(dir), ['stories.gguf']);
  } finally {
    await removeTempDir(dir);
  }
});

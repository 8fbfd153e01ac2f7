// The streaming writer: temp file + rename, cleanup on failure/abort, hashing, chunking, validation.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { GgufWriter, ggufLayout } from '../../src-main/core/gguf/writer.ts';
import { readGgufHeader } from '../../src-main/core/gguf/reader.ts';
import { GgufValueType, type GgufKv } from '../../src-main/core/gguf/types.ts';
import { GgmlType } from '../../src-main/core/gguf/ggml-types.ts';
import { CancelledError, QuantfitError } from '../../src-main/core/errors.ts';
import { kv } from '../../src-main/core/gguf/metadata.ts';
import { makeTempDir, mulberry32, removeTempDir } from '../support/synthetic-gguf.ts';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const KV: GgufKv[] = [kv.string('general.architecture', 'llama'), kv.u32('llama.block_count', 1)];
const TENSORS = [
  { name: 'a', type: GgmlType.F32, shape: [3] },            // 12 bytes → padded to 32
  { name: 'b', type: GgmlType.Q8_0, shape: [32, 3] },       // 102 bytes → padded to 128
  { name: 'c', type: GgmlType.F16, shape: [4096, 40] },     // 327680 bytes
];
const SIZES = [12, 102, 4096 * 40 * 2];

function randomBytes(n: number, seed: number): Uint8Array {
  const rnd = mulberry32(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(rnd() * 256);
  return out;
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await makeTempDir('gguf-writer');
  try {
    await fn(dir);
  } finally {
    await removeTempDir(dir);
  }
}

test('data written in odd chunk sizes lands at the layout offsets with zero padding, and sha256 matches', async () => {
  await withDir(async (dir) => {
    const data = SIZES.map((n, i) => randomBytes(n, i + 1));
    const all = Buffer.concat(data);
    const results: string[] = [];
    // 1-byte, tensor-spanning and large (direct-write) chunks, through a small gathering buffer so
    // flushes happen often. Each schedule of chunk sizes is cycled until the data is used up.
    const schedules = [[1, 3, 7, 100, 4099, 40000], [13], [65536], [all.length], [0, 500]];
    for (const [i, schedule] of schedules.entries()) {
      const dest = join(dir, `out${i}.gguf`);
      const w = await GgufWriter.create(dest, { kv: KV, tensors: TENSORS, bufferBytes: 64 << 10 });
      for (let at = 0, k = 0; at < all.length; k++) {
        const chunk = schedule[k % schedule.length];
        await w.writeTensorData(all.subarray(at, at + chunk));
        at += chunk;
      }
      const res = await w.finish();
      const file = await readFile(dest);
      assert.equal(res.sha256, sha256(file));
      assert.equal(w.sha256, res.sha256);
      assert.equal(res.bytes, file.length);
      const layout = ggufLayout(KV, TENSORS);
      assert.equal(file.length, layout.totalBytes);
      for (const [t, off] of layout.offsets.entries()) {
        const start = layout.headerBytes + off;
        assert.deepEqual(file.subarray(start, start + SIZES[t]), Buffer.from(data[t]));
        const padEnd = t + 1 < layout.offsets.length ? layout.headerBytes + layout.offsets[t + 1] : file.length;
        assert.ok(file.subarray(start + SIZES[t], padEnd).every((b) => b === 0), `padding after tensor ${t}`);
      }
      results.push(res.sha256);
    }
    assert.equal(new Set(results).size, 1);
    assert.deepEqual((await readdir(dir)).sort(), ['out0.gguf', 'out1.gguf', 'out2.gguf', 'out3.gguf', 'out4.gguf']);
  });
});

test('ggufLayout gives the exact header size, offsets and padded total', () => {
  const layout = ggufLayout(KV, TENSORS);
  assert.deepEqual(layout.offsets, [0, 32, 160]);
  assert.equal(layout.totalBytes, layout.headerBytes + 160 + 327680);
  assert.equal(layout.headerBytes % 32, 0);
  const aligned = ggufLayout([...KV, kv.u32('general.alignment', 256)], TENSORS, 256);
  assert.deepEqual(aligned.offsets, [0, 256, 512]);
  assert.equal(aligned.headerBytes % 256, 0);
});

test('the output appears only on finish; the temp file lives in the destination folder', async () => {
  await withDir(async (dir) => {
    const dest = join(dir, 'model.gguf');
    const w = await GgufWriter.create(dest, { kv: KV, tensors: TENSORS.slice(0, 1) });
    const during = await readdir(dir);
    assert.equal(during.length, 1);
    assert.notEqual(during[0], 'model.gguf');
    assert.equal(join(dir, during[0]), w.tempPath);
    await w.writeTensorData(new Uint8Array(12));
    await w.finish();
    assert.deepEqual(await readdir(dir), ['model.gguf']);
    assert.equal((await readGgufHeader(dest)).tensors.length, 1);
  });
});

test('an existing destination is replaced only when the new file is complete', async () => {
  await withDir(async (dir) => {
    const dest = join(dir, 'model.gguf');
    await writeFile(dest, 'old');
    const w = await GgufWriter.create(dest, { kv: KV, tensors: TENSORS.slice(0, 1) });
    await w.writeTensorData(new Uint8Array(5));
    await assert.rejects(w.finish(), (e: unknown) => e instanceof QuantfitError && /incomplete: got 5 of 12/.test(e.message) && e.location.tensor === 'a');
    assert.equal(await readFile(dest, 'utf8'), 'old');
    assert.deepEqual(await readdir(dir), ['model.gguf']);
  });
});

test('abort() and too much data remove the temp file; later calls are refused', async () => {
  await withDir(async (dir) => {
    const w = await GgufWriter.create(join(dir, 'x.gguf'), { kv: KV, tensors: TENSORS.slice(0, 1) });
    await w.writeTensorData(new Uint8Array(4));
    await w.abort();
    await w.abort();
    assert.deepEqual(await readdir(dir), []);
    await assert.rejects(w.writeTensorData(new Uint8Array(1)), CancelledError);

    const w2 = await GgufWriter.create(join(dir, 'y.gguf'), { kv: KV, tensors: TENSORS.slice(0, 1) });
    await assert.rejects(w2.writeTensorData(new Uint8Array(13)), /1 bytes of tensor data more than the 1 tensors need/);
    assert.deepEqual(await readdir(dir), []);
    await assert.rejects(w2.finish(), /writer is failed/);
  });
});

test('an AbortSignal cancels the write and removes the temp file', async () => {
  await withDir(async (dir) => {
    const ac = new AbortController();
    const w = await GgufWriter.create(join(dir, 'x.gguf'), { kv: KV, tensors: TENSORS, signal: ac.signal });
    await w.writeTensorData(new Uint8Array(50));
    ac.abort();
    await assert.rejects(w.writeTensorData(new Uint8Array(50)), CancelledError);
    await w.abort();
    assert.deepEqual(await readdir(dir), []);
    await assert.rejects(GgufWriter.create(join(dir, 'z.gguf'), { kv: KV, tensors: TENSORS, signal: ac.signal }), CancelledError);
    assert.deepEqual(await readdir(dir), []);
  });
});

test('writes issued without awaiting still land in order', async () => {
  await withDir(async (dir) => {
    const dest = join(dir, 'x.gguf');
    const data = randomBytes(SIZES.reduce((a, b) => a + b), 9);
    const w = await GgufWriter.create(dest, { kv: KV, tensors: TENSORS, bufferBytes: 64 << 10 });
    const pending: Promise<void>[] = [];
    for (let at = 0; at < data.length; at += 3000) pending.push(w.writeTensorData(data.subarray(at, at + 3000)));
    const res = await w.finish();
    await Promise.all(pending);
    const file = await readFile(dest);
    const layout = ggufLayout(KV, TENSORS);
    const c = layout.headerBytes + layout.offsets[2];
    assert.deepEqual(file.subarray(c, c + SIZES[2]), Buffer.from(data.subarray(SIZES[0] + SIZES[1])));
    assert.equal(res.sha256, sha256(file));
  });
});

test('invalid headers are refused before any file is created, naming the key or tensor', async () => {
  await withDir(async (dir) => {
    const dest = join(dir, 'bad.gguf');
    const cases: Array<[string, Parameters<typeof GgufWriter.create>[1], RegExp, { key?: string; tensor?: string }]> = [
      ['duplicate key', { kv: [...KV, kv.u32('llama.block_count', 2)], tensors: [] }, /duplicate key/, { key: 'llama.block_count' }],
      ['empty key', { kv: [kv.u32('', 2)], tensors: [] }, /key is empty/, { key: '' }],
      ['u8 out of range', { kv: [kv.u8('x', 256)], tensors: [] }, /does not fit type u8/, { key: 'x' }],
      ['i32 not integer', { kv: [kv.i32('x', 1.5)], tensors: [] }, /does not fit type i32/, { key: 'x' }],
      ['u64 negative', { kv: [kv.u64('x', -1n)], tensors: [] }, /does not fit type u64/, { key: 'x' }],
      ['string type with number', { kv: [{ key: 'x', type: GgufValueType.STRING, value: 3 }], tensors: [] }, /must be a string/, { key: 'x' }],
      ['lone surrogate', { kv: [kv.string('x', 'a\uD800b')], tensors: [] }, /surrogate/, { key: 'x' }],
      ['bad value type', { kv: [{ key: 'x', type: 13, value: 1 }], tensors: [] }, /invalid value type 13/, { key: 'x' }],
      ['bad element type', { kv: [kv.array('x', 99, [])], tensors: [] }, /invalid array element type 99/, { key: 'x' }],
      ['array item type', { kv: [kv.array('x', GgufValueType.UINT8, [1, 'a'])], tensors: [] }, /does not fit type u8/, { key: 'x' }],
      ['alignment type', { kv: [kv.u64('general.alignment', 32n)], tensors: [] }, /must be of type u32/, { key: 'general.alignment' }],
      ['alignment not power of 2', { kv: [kv.u32('general.alignment', 48)], tensors: [] }, /not a power of two/, { key: 'general.alignment' }],
      ['alignment without KV', { kv: [], tensors: [], alignment: 64 }, /requested but the file would be read with 32/, {}],
      ['duplicate tensor', { kv: [], tensors: [TENSORS[0], TENSORS[0]] }, /duplicate tensor name/, { tensor: 'a' }],
      ['long name', { kv: [], tensors: [{ name: 'n'.repeat(64), type: 0, shape: [1] }] }, /at most 63/, { tensor: 'n'.repeat(64) }],
      ['five dims', { kv: [], tensors: [{ name: 't', type: 0, shape: [1, 1, 1, 1, 1] }] }, /5 dimensions/, { tensor: 't' }],
      ['zero dim', { kv: [], tensors: [{ name: 't', type: 0, shape: [4, 0] }] }, /dimension 1 is 0/, { tensor: 't' }],
      ['removed type', { kv: [], tensors: [{ name: 't', type: 4, shape: [32] }] }, /no longer supported/, { tensor: 't' }],
      ['unknown type', { kv: [], tensors: [{ name: 't', type: 99, shape: [32] }] }, /unknown tensor type 99/, { tensor: 't' }],
      ['block multiple', { kv: [], tensors: [{ name: 't', type: GgmlType.Q4_K, shape: [128, 2] }] }, /not a multiple of the Q4_K block size 256/, { tensor: 't' }],
    ];
    for (const [what, opts, message, loc] of cases) {
      await assert.rejects(GgufWriter.create(dest, opts), (e: unknown) => {
        assert.ok(e instanceof QuantfitError, what);
        assert.match(e.message, message, what);
        assert.equal(e.location.file, dest, what);
        if (loc.key !== undefined) assert.equal(e.location.key, loc.key, what);
        if (loc.tensor !== undefined) assert.equal(e.location.tensor, loc.tensor, what);
        return true;
      });
    }
    assert.deepEqual(await readdir(dir), []);
  });
});

test('a missing output folder or a directory as output is a clear error', async () => {
  await withDir(async (dir) => {
    await assert.rejects(GgufWriter.create(join(dir, 'nope', 'x.gguf'), { kv: [], tensors: [] }), /output folder does not exist/);
    await assert.rejects(GgufWriter.create(dir, { kv: [], tensors: [] }), /output path is a directory/);
  });
});

test('a temp file left by a killed writer of the same output is removed by the next one; nothing else is', async () => {
  const { spawnSync } = await import('node:child_process');
  const { utimes } = await import('node:fs/promises');
  // A pid that has exited (pids are not reused that fast).
  const dead = spawnSync(process.execPath, ['-e', '']).pid!;
  await withDir(async (dir) => {
    const old = new Date(Date.now() - 5 * 60_000);
    const stale = `.model.gguf.${dead}.deadbeef.partial`;
    const keep = [
      `.model.gguf.${dead}.cafebabe.partial`, // changed just now: maybe a writer on another machine
      `.model.gguf.${process.pid}.01234567.partial`, // its process is running
      `.other.gguf.${dead}.deadbeef.partial`, // another output's
      `model.gguf.${dead}.deadbeef.partial`, // not a name the writer makes
      `.model.gguf.${dead}.deadbeef.partial.bak`,
    ];
    for (const name of [stale, ...keep]) {
      await writeFile(join(dir, name), 'partial');
      if (name !== keep[0]) await utimes(join(dir, name), old, old);
    }
    const w = await GgufWriter.create(join(dir, 'model.gguf'), { kv: KV, tensors: TENSORS.slice(0, 1) });
    await w.writeTensorData(new Uint8Array(12));
    await w.finish();
    assert.deepEqual((await readdir(dir)).sort(), [...keep, 'model.gguf'].sort());
  });
});

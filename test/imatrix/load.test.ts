import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdtemp, rm, writeFile, readFile, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { loadImatrix } from '../../src-main/core/imatrix/index.ts';
import { writeGgufImatrix, writeLegacyImatrix } from '../support/imatrix-files.ts';

let dir: string;
before(async () => { dir = await mkdtemp(join(tmpdir(), 'qf-imatrix-')); });
after(async () => { await rm(dir, { recursive: true, force: true }); });

test('GGUF imatrix: Σx² divided by each expert\'s count; an unrouted expert gets 1', async () => {
  const path = join(dir, 'moe.gguf');
  await writeGgufImatrix(path, [
    { name: 'blk.0.ffn_up_exps.weight', values: Float32Array.from([4, 8, 3, 6, 5, 7]), counts: [2, 3, 0] },
    { name: 'blk.0.attn_q.weight', values: Float32Array.from([10, 20]), counts: [5] },
  ], { datasets: ['a.txt', 'b.txt'], chunkCount: 7 });
  const im = await loadImatrix(path);
  assert.equal(im.format, 'gguf');
  assert.deepEqual(im.datasets, ['a.txt', 'b.txt']);
  assert.equal(im.chunkCount, 7);
  assert.deepEqual([...im.entries.get('blk.0.ffn_up_exps.weight')!], [2, 4, 1, 2, 1, 1]);
  assert.deepEqual([...im.entries.get('blk.0.attn_q.weight')!], [2, 4]);
});

test('GGUF imatrix without its metadata keys is refused as llama-quantize does', async () => {
  const path = join(dir, 'nometa.gguf');
  await writeGgufImatrix(path, [{ name: 'w', values: Float32Array.from([1]), counts: [1] }], { omitMetadata: true });
  await assert.rejects(loadImatrix(path), /lacks the imatrix\.datasets/);
});

test('GGUF imatrix with a sums length that does not divide by the experts is refused naming the entry', async () => {
  const path = join(dir, 'badlen.gguf');
  await writeGgufImatrix(path, [{ name: 'blk.3.ffn_down.weight', values: Float32Array.from([1, 2, 3]), counts: [1, 1], sumsShape: [3] }]);
  await assert.rejects(loadImatrix(path), /'blk\.3\.ffn_down\.weight' has 3 sums, not a multiple of its 2 expert counts/);
});

test('GGUF imatrix with sums but no counts is refused naming the entry', async () => {
  const path = join(dir, 'nocounts.gguf');
  const { GgufWriter } = await import('../../src-main/core/gguf/writer.ts');
  const { kv } = await import('../../src-main/core/gguf/metadata.ts');
  const w = await GgufWriter.create(path, {
    kv: [kv.array('imatrix.datasets', 8, ['x']), kv.u32('imatrix.chunk_count', 1), kv.u32('imatrix.chunk_size', 512)],
    tensors: [{ name: 'blk.0.attn_k.weight.in_sum2', type: 0, shape: [2] }],
  });
  await w.writeTensorData(new Uint8Array(new Float32Array([1, 2]).buffer));
  await w.finish();
  await assert.rejects(loadImatrix(path), /'blk\.0\.attn_k\.weight' has no \.counts tensor/);
});

test('legacy and GGUF forms of the same data load to the same means', async () => {
  const legacy = join(dir, 'same.dat');
  const gguf = join(dir, 'same.gguf');
  // legacy stores mean·ncall: mean [0.5, 1.5] with ncall 4 → [2, 6]; GGUF stores Σx² = mean·count.
  await writeLegacyImatrix(legacy, [{ name: 'blk.0.attn_v.weight', values: Float32Array.from([2, 6]), counts: [4] }], { chunkCount: 4, dataset: 'd.txt' });
  await writeGgufImatrix(gguf, [{ name: 'blk.0.attn_v.weight', values: Float32Array.from([8, 24]), counts: [16] }], { datasets: ['d.txt'], chunkCount: 4 });
  const a = await loadImatrix(legacy);
  const b = await loadImatrix(gguf);
  assert.deepEqual([...a.entries.get('blk.0.attn_v.weight')!], [0.5, 1.5]);
  assert.deepEqual([...b.entries.get('blk.0.attn_v.weight')!], [0.5, 1.5]);
  assert.equal(a.format, 'legacy');
  assert.deepEqual(a.datasets, b.datasets);
});

test('a missing file and a corrupt GGUF imatrix give clear errors naming the file', async () => {
  await assert.rejects(loadImatrix(join(dir, 'nope.dat')), /imatrix file not found/);
  const path = join(dir, 'corrupt.gguf');
  await writeFile(path, Buffer.from('GGUF\x03\x00\x00\x00garbage'));
  await assert.rejects(loadImatrix(path), (err: Error) => err.message.length > 0);
});

test('a big non-GGUF file is refused as a legacy imatrix by its size, before it is read', async () => {
  const { MAX_LEGACY_BYTES } = await import('../../src-main/core/imatrix/index.ts');
  const path = join(dir, 'huge.dat');
  // Sparse: takes no disk space; reading it whole would take a gigabyte of memory.
  await writeFile(path, Buffer.from([1, 0, 0, 0]));
  await truncate(path, MAX_LEGACY_BYTES + 1);
  await assert.rejects(loadImatrix(path), (err: Error) =>
    err.message.includes(`file is ${MAX_LEGACY_BYTES + 1} bytes: too large to be a legacy (.dat) importance matrix`) &&
    err.message.includes('llama-imatrix --in-file'));
});

test('a GGUF imatrix with a huge .in_sum2 tensor, or more counts than sums, is refused before it is read', async () => {
  const { MAX_IMATRIX_TENSOR_BYTES } = await import('../../src-main/core/imatrix/gguf-format.ts');
  const { buildRawGguf } = await import('../support/synthetic-gguf.ts');
  const { GgufValueType: T } = await import('../../src-main/core/gguf/types.ts');
  const meta = [
    { key: 'imatrix.datasets', type: T.ARRAY, value: (b: import('../support/synthetic-gguf.ts').ByteBuilder) => { b.u32(T.STRING).u64(1).str('x'); } },
    { key: 'imatrix.chunk_count', type: T.UINT32, value: (b: import('../support/synthetic-gguf.ts').ByteBuilder) => { b.u32(1); } },
    { key: 'imatrix.chunk_size', type: T.UINT32, value: (b: import('../support/synthetic-gguf.ts').ByteBuilder) => { b.u32(512); } },
  ];
  const sumsFloats = MAX_IMATRIX_TENSOR_BYTES / 4 + 8;
  const header = buildRawGguf({
    kv: meta,
    tensors: [
      { name: 'blk.0.ffn_up.weight.counts', dims: [1, 1], type: 0, offset: 0 },
      { name: 'blk.0.ffn_up.weight.in_sum2', dims: [sumsFloats, 1], type: 0, offset: 32 },
    ],
  });
  const huge = join(dir, 'huge-sums.gguf');
  await writeFile(huge, header);
  await truncate(huge, header.length + 32 + sumsFloats * 4); // sparse tensor data
  await assert.rejects(loadImatrix(huge), (err: Error) =>
    err.message.includes(`'blk.0.ffn_up.weight' has ${sumsFloats} sums (${sumsFloats * 4} bytes), over the ${MAX_IMATRIX_TENSOR_BYTES}-byte limit`));

  const many = join(dir, 'many-counts.gguf');
  await writeGgufImatrix(many, [{ name: 'blk.1.attn_q.weight', values: Float32Array.from([1, 2]), counts: [1, 1, 1, 1], sumsShape: [2] }]);
  await assert.rejects(loadImatrix(many), /'blk\.1\.attn_q\.weight' has 4 expert counts but only 2 sums/);
});

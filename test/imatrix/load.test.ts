import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
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

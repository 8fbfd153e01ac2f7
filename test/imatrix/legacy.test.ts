import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseLegacyImatrix } from '../../src-main/core/imatrix/legacy.ts';
import { normaliseImatrix, filterImatrix, assertFiniteImatrix } from '../../src-main/core/imatrix/normalise.ts';
import { QuantfitError } from '../../src-main/core/errors.ts';
import { legacyImatrixBytes } from '../support/imatrix-files.ts';

const entries = [
  { name: 'blk.0.attn_q.weight', values: Float32Array.from([3, 6, 9, 0.1]), counts: [3] },
  { name: 'blk.0.ffn_down.weight', values: Float32Array.from([1, 2]), counts: [0] },
];

test('legacy imatrix: entries, trailer and the division by ncall', () => {
  const raw = parseLegacyImatrix(legacyImatrixBytes(entries, { chunkCount: 42, dataset: 'wiki.train.raw' }), 'x.dat');
  assert.equal(raw.chunkCount, 42);
  assert.deepEqual(raw.datasets, ['wiki.train.raw']);
  const im = normaliseImatrix(raw, 'x.dat');
  assert.deepEqual([...im.entries.get('blk.0.attn_q.weight')!], [1, 2, 3, Math.fround(Math.fround(0.1) / 3)]);
  // ncall 0 keeps the stored values as they are.
  assert.deepEqual([...im.entries.get('blk.0.ffn_down.weight')!], [1, 2]);
});

test('legacy imatrix without the optional trailer', () => {
  const raw = parseLegacyImatrix(legacyImatrixBytes(entries), 'x.dat');
  assert.equal(raw.chunkCount, 0);
  assert.deepEqual(raw.datasets, []);
  assert.equal(raw.entries.size, 2);
});

test('legacy imatrix: truncation anywhere is refused with the entry named', () => {
  const bytes = legacyImatrixBytes(entries);
  for (let cut = 1; cut < bytes.length; cut++) {
    // The optional trailer begins after the last value, so every cut inside the entries is an error.
    assert.throws(() => parseLegacyImatrix(bytes.subarray(0, cut), 'x.dat'), QuantfitError, `cut at ${cut}`);
  }
});

test('legacy imatrix: impossible counts are refused before allocating', () => {
  const bytes = legacyImatrixBytes(entries);
  const huge = bytes.slice();
  new DataView(huge.buffer).setInt32(0, 0x7fffffff, true);
  assert.throws(() => parseLegacyImatrix(huge, 'x.dat'), /cannot fit/);
  const zero = bytes.slice();
  new DataView(zero.buffer).setInt32(0, 0, true);
  assert.throws(() => parseLegacyImatrix(zero, 'x.dat'), /no entries/);
  const badNval = bytes.slice();
  // nval of the first entry sits after i32 n, i32 len, name, i32 ncall.
  new DataView(badNval.buffer).setInt32(4 + 4 + entries[0]!.name.length + 4, -5, true);
  assert.throws(() => parseLegacyImatrix(badNval, 'x.dat'), /blk\.0\.attn_q\.weight' has -5 values/);
});

test('include/exclude filters match substrings; both at once is refused', () => {
  const im = normaliseImatrix(parseLegacyImatrix(legacyImatrixBytes(entries), 'x.dat'), 'x.dat');
  assert.deepEqual([...filterImatrix(im, { include: ['attn'] }).entries.keys()], ['blk.0.attn_q.weight']);
  assert.deepEqual([...filterImatrix(im, { exclude: ['attn'] }).entries.keys()], ['blk.0.ffn_down.weight']);
  assert.throws(() => filterImatrix(im, { include: ['a'], exclude: ['b'] }), /cannot be used together/);
});

test('a non-finite value is refused naming the entry, after filtering', () => {
  const bad = [...entries, { name: 'blk.1.attn_k.weight', values: Float32Array.from([NaN]), counts: [1] }];
  const im = normaliseImatrix(parseLegacyImatrix(legacyImatrixBytes(bad), 'x.dat'), 'x.dat');
  assert.throws(() => assertFiniteImatrix(im), /blk\.1\.attn_k\.weight/);
  assert.doesNotThrow(() => assertFiniteImatrix(filterImatrix(im, { exclude: ['attn_k'] })));
});

// The header's value budget: key/values, tensors and array items together are capped, so a crafted
// header cannot turn a few hundred MB of file into gigabytes of JS values (readGgufHeader runs in
// the app's main process when a file is dropped). Checked before anything is allocated for them.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readGgufHeader } from '../../src-main/core/gguf/reader.ts';
import { GGUF_MAX_HEADER_ITEMS, GgufValueType as T } from '../../src-main/core/gguf/types.ts';
import { QuantfitError } from '../../src-main/core/errors.ts';
import { buildRawGguf, makeTempDir, removeTempDir, type ByteBuilder } from '../support/synthetic-gguf.ts';

let dir = '';
before(async () => {
  dir = await makeTempDir('gguf-budget');
});
after(async () => {
  await removeTempDir(dir);
});

const u8Array = (n: number) => (b: ByteBuilder) => {
  b.u32(T.UINT8).u64(n);
  b.push(Buffer.alloc(n, 1));
};

test('array items over the header budget are refused at the array that crosses it, naming the key', async () => {
  const half = GGUF_MAX_HEADER_ITEMS / 2;
  // Two KVs (2 values) + half + half items: one over the budget.
  const bytes = buildRawGguf({ kv: [{ key: 'a', type: T.ARRAY, value: u8Array(half) }, { key: 'b', type: T.ARRAY, value: u8Array(half) }], tensors: [] });
  const path = join(dir, 'over.gguf');
  await writeFile(path, bytes);
  await assert.rejects(readGgufHeader(path), (err: unknown) => {
    assert.ok(err instanceof QuantfitError, String(err));
    assert.equal(err.location.key, 'b');
    assert.match(err.message, new RegExp(`array of ${half} items takes the header over ${GGUF_MAX_HEADER_ITEMS} values`));
    return true;
  });

  // One fewer item fits exactly.
  const fits = join(dir, 'fits.gguf');
  await writeFile(fits, buildRawGguf({ kv: [{ key: 'a', type: T.ARRAY, value: u8Array(half) }, { key: 'b', type: T.ARRAY, value: u8Array(half - 2) }], tensors: [] }));
  const h = await readGgufHeader(fits);
  assert.deepEqual(h.kv.map((k) => k.key), ['a', 'b']);
});

test('key/value and tensor counts over the budget are refused before any is read', async () => {
  // Counts that fit in the (sparse) file, so only the budget refuses them.
  const bytes = buildRawGguf({ kv: [], tensors: [], nKv: GGUF_MAX_HEADER_ITEMS, nTensors: 1, padTo: 0 });
  const path = join(dir, 'counts.gguf');
  await writeFile(path, bytes);
  await truncate(path, 24 + (GGUF_MAX_HEADER_ITEMS + 1) * 24);
  await assert.rejects(readGgufHeader(path), (err: unknown) => {
    assert.ok(err instanceof QuantfitError, String(err));
    assert.equal(err.location.offset, 8);
    assert.match(err.message, new RegExp(`${GGUF_MAX_HEADER_ITEMS} key/values and 1 tensors takes the header over`));
    return true;
  });
});

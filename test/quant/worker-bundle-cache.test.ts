import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cachedBundle, storeBundle } from '../../src-main/core/quant/worker-pool.ts';

test('the worker bundle cache returns the stored code until one of its sources changes', async () => {
  const root = await mkdtemp(join(tmpdir(), 'qf-bundle-cache-'));
  try {
    const dir = join(root, 'node_modules', '.cache', 'quantfit');
    await mkdir(join(root, 'node_modules'));
    const a = join(root, 'a.ts');
    const b = join(root, 'b.ts');
    await writeFile(a, 'export const a = 1;');
    await writeFile(b, 'export const b = 2;');
    assert.equal(await cachedBundle(dir), null);
    await storeBundle('/* bundle v1 */', [a, b], dir);
    assert.equal(await cachedBundle(dir), '/* bundle v1 */');
    // A source edited (new size), or touched (new mtime): the cache no longer counts.
    await writeFile(b, 'export const b = 22;');
    assert.equal(await cachedBundle(dir), null);
    await storeBundle('/* bundle v2 */', [a, b], dir);
    assert.equal(await cachedBundle(dir), '/* bundle v2 */');
    const later = new Date(Date.now() + 5000);
    await utimes(a, later, later);
    assert.equal(await cachedBundle(dir), null);
    // A source that disappeared: no cache either.
    await storeBundle('/* bundle v3 */', [a, b], dir);
    await rm(a);
    assert.equal(await cachedBundle(dir), null);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('without a node_modules folder nothing is cached', async () => {
  const root = await mkdtemp(join(tmpdir(), 'qf-bundle-nocache-'));
  try {
    const src = join(root, 'a.ts');
    await writeFile(src, 'x');
    const dir = join(root, 'node_modules', '.cache', 'quantfit');
    await storeBundle('code', [src], dir);
    assert.equal(await cachedBundle(dir), null);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

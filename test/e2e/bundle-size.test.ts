import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildRenderer } from './build-renderer.ts';
import { BUNDLE_LIMIT_BYTES, measureBundle } from './bundle-size.ts';

test('renderer bundle: JS + CSS gzipped stay within 150 KB', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'qf-renderer-size-'));
  try {
    await buildRenderer(dir);
    const size = measureBundle(dir);
    assert.ok(size.files.some((f) => f.name.endsWith('.js')), 'the build has a script');
    assert.ok(size.files.some((f) => f.name.endsWith('.css')), 'the build has a stylesheet');
    console.log(`# renderer bundle: ${size.files.map((f) => `${f.name} ${f.gzip} B`).join(', ')}; total gzip ${size.totalGzip} B`);
    assert.ok(size.totalGzip <= BUNDLE_LIMIT_BYTES, `gzipped bundle is ${size.totalGzip} B, over the ${BUNDLE_LIMIT_BYTES} B budget`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

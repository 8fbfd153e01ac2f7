import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

test('quantfit --help prints usage and exits 0', () => {
  const r = spawnSync(process.execPath, ['bin/quantfit.mjs', '--help'], { encoding: 'utf8' });
  assert.equal(r.status, 0);
  assert.match(r.stdout, /quantfit/);
});

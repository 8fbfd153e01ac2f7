import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collectRawHardware, probeHardware } from '../../src-main/core/hardware/probe.ts';
import { profileFromRaw } from '../../src-main/core/hardware/profile.ts';

test('probing this machine: RAM, CPU and free disk at the output folder', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'quantfit-probe-'));
  try {
    const p = await probeHardware({ outputDir: dir });
    assert.equal(p.platform, process.platform);
    assert.ok(p.ram.totalBytes !== null && p.ram.totalBytes > 256 * 1024 * 1024, 'RAM total');
    assert.equal(p.cpu.arch, process.arch);
    assert.equal(p.disk?.path, dir);
    assert.ok((p.disk?.freeBytes ?? 0) > 0);
    // A folder that does not exist yet: its nearest existing ancestor's file system.
    const later = await probeHardware({ outputDir: join(dir, 'not', 'yet') });
    assert.ok((later.disk?.freeBytes ?? 0) > 0, JSON.stringify(later.unknowns));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the raw probe is JSON-recordable and replays to the same profile', async () => {
  const raw = await collectRawHardware({ outputDir: tmpdir() });
  const replayed = profileFromRaw(JSON.parse(JSON.stringify(raw)));
  assert.deepEqual(replayed, profileFromRaw(raw));
});

test('quantfit hardware --json prints a HardwareProfile; the table names RAM and CPU', () => {
  const json = spawnSync(process.execPath, ['bin/quantfit.mjs', 'hardware', '--json'], { encoding: 'utf8' });
  assert.equal(json.status, 0, json.stderr);
  const p = JSON.parse(json.stdout) as { ram: { totalBytes: number }; unknowns: unknown[] };
  assert.ok(p.ram.totalBytes > 0);
  assert.ok(Array.isArray(p.unknowns));
  const table = spawnSync(process.execPath, ['bin/quantfit.mjs', 'hardware'], { encoding: 'utf8' });
  assert.equal(table.status, 0, table.stderr);
  assert.match(table.stdout, /^RAM\s+\S+/m);
  assert.match(table.stdout, /^CPU\s+/m);
  const bad = spawnSync(process.execPath, ['bin/quantfit.mjs', 'hardware', 'extra'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
});

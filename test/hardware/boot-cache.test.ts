// The CPU and GPU list kept for the boot: used while the boot id matches, probed over when it does
// not or the file is damaged; free RAM and free VRAM are read on every probe, never kept.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { freemem, tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { defaultHardwareCachePath, readBootHardware, readBootId, writeBootHardware } from '../../src-main/core/hardware/boot-cache.ts';
import { probeHardware } from '../../src-main/core/hardware/probe.ts';

let dir = '';
let bootId: string | null = null;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'quantfit-boot-cache-'));
  bootId = await readBootId();
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const noBootId = process.platform !== 'linux' ? `${process.platform} has no boot id; the CPU and GPUs are probed every time` : undefined;
if (noBootId) console.log(`# skipping the probe's use of the kept hardware: ${noBootId}`);

const CACHED_CPU = { manufacturer: 'Kept', brand: 'Kept CPU 9000', cores: 64, physicalCores: 32, flags: 'avx2 fma f16c' };
const MiB = 1024 * 1024;

test('the default place follows XDG_CACHE_HOME, else ~/.cache', () => {
  assert.equal(defaultHardwareCachePath({ XDG_CACHE_HOME: '/x/cache' }), join('/x/cache', 'quantfit', 'hardware.json'));
  assert.match(defaultHardwareCachePath({}), /\.cache[/\\]quantfit[/\\]hardware\.json$/);
});

test('kept hardware reads back for the same boot only; damaged or foreign files read as none', async () => {
  const file = join(dir, 'roundtrip', 'hardware.json');
  const kept = { cpu: CACHED_CPU, gpus: [{ vendor: 'AMD', model: 'Radeon', vram: 512, vramDynamic: true, busAddress: '03:00.0' }] };
  await writeBootHardware(file, 'boot-a', kept);
  assert.deepEqual(await readBootHardware(file, 'boot-a'), kept);
  assert.equal(await readBootHardware(file, 'boot-b'), null);
  assert.equal(await readBootHardware(join(dir, 'absent.json'), 'boot-a'), null);
  const text = await readFile(file, 'utf8');
  for (const damaged of [
    text.slice(0, text.length >> 1), '', 'null', '[]',
    text.replace('"version":1', '"version":0'),
    text.replace('"gpus":[', '"gpus":[7,'),
    text.replace('"cores":64', '"cores":"64"'),
    text.replace(/"cpu":\{[^}]*\}/, '"cpu":[]'),
  ]) {
    await writeFile(file, damaged);
    assert.equal(await readBootHardware(file, 'boot-a'), null, damaged);
  }
});

test('a probe keeps the CPU and GPUs for this boot and uses them next time; RAM stays fresh', { skip: noBootId }, async () => {
  assert.ok(bootId !== null, 'Linux has /proc/sys/kernel/random/boot_id');
  const file = join(dir, 'probe', 'hardware.json');
  const first = await probeHardware({ outputDir: dir, cacheFile: file });
  const written = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  assert.deepEqual(Object.keys(written).sort(), ['bootId', 'cpu', 'gpus', 'version'], 'nothing that changes while running is kept');
  assert.equal(written.bootId, bootId);
  assert.ok(first.cpu.model !== null && !first.cpu.model.includes('Kept'));

  // The kept answer is what the next probe reports for CPU and GPUs…
  await writeBootHardware(file, bootId, { cpu: CACHED_CPU, gpus: [] });
  const kept = await probeHardware({ outputDir: dir, cacheFile: file });
  assert.equal(kept.cpu.model, 'Kept Kept CPU 9000');
  assert.equal(kept.cpu.physicalCores, 32);
  // …while RAM and disk are measured now.
  assert.ok(kept.ram.availableBytes !== null && Math.abs(kept.ram.availableBytes - freemem()) < 512 * MiB, `${kept.ram.availableBytes} vs ${freemem()}`);
  assert.ok((kept.disk?.freeBytes ?? 0) > 0);

  // refresh looks again and keeps the new answer.
  const fresh = await probeHardware({ outputDir: dir, cacheFile: file, refresh: true });
  assert.equal(fresh.cpu.model, first.cpu.model);
  assert.deepEqual((await readBootHardware(file, bootId))?.cpu, written.cpu);
});

test('another boot\'s file, or a damaged one, is probed over and rewritten', { skip: noBootId }, async () => {
  const file = join(dir, 'other-boot', 'hardware.json');
  await writeBootHardware(file, 'a-previous-boot', { cpu: CACHED_CPU, gpus: [] });
  const p = await probeHardware({ outputDir: dir, cacheFile: file });
  assert.ok(!p.cpu.model?.includes('Kept'), String(p.cpu.model));
  assert.equal((JSON.parse(await readFile(file, 'utf8')) as { bootId: string }).bootId, bootId);

  await writeFile(file, '{"version":1,"bootId":"');
  const q = await probeHardware({ outputDir: dir, cacheFile: file });
  assert.equal(q.cpu.model, p.cpu.model);
  assert.notEqual(await readBootHardware(file, bootId!), null);
});

test('kept NVIDIA GPUs: free VRAM is asked of nvidia-smi on every probe; without an answer, a full probe', { skip: noBootId }, async () => {
  const bin = join(dir, 'bin');
  const file = join(dir, 'nvidia', 'hardware.json');
  const smi = join(bin, 'nvidia-smi');
  const fakeSmi = async (body: string) => {
    await writeFile(smi, `#!/bin/sh\n${body}\n`);
    await chmod(smi, 0o755);
  };
  await mkdir(bin, { recursive: true });
  const path = process.env.PATH;
  process.env.PATH = `${bin}${delimiter}${path ?? ''}`;
  try {
    const gpu = { vendor: 'NVIDIA Corporation', model: 'GeForce RTX 4090', vram: 24564, vramDynamic: false, memoryTotal: 24564, busAddress: '01:00.0' };
    await writeBootHardware(file, bootId!, { cpu: CACHED_CPU, gpus: [gpu] });
    await fakeSmi('echo "00000000:01:00.0, 20000"');
    const a = await probeHardware({ outputDir: dir, cacheFile: file });
    assert.equal(a.cpu.model, 'Kept Kept CPU 9000');
    assert.equal(a.gpus[0]?.vramTotalBytes, 24564 * MiB);
    assert.equal(a.gpus[0]?.vramFreeBytes, 20000 * MiB);
    await fakeSmi('echo "00000000:01:00.0, 1500"');
    const b = await probeHardware({ outputDir: dir, cacheFile: file });
    assert.equal(b.gpus[0]?.vramFreeBytes, 1500 * MiB);
    // nvidia-smi gone quiet (driver unloaded): the kept list is not trusted, the machine is probed.
    await fakeSmi('exit 9');
    const c = await probeHardware({ outputDir: dir, cacheFile: file });
    assert.ok(!c.cpu.model?.includes('Kept'), String(c.cpu.model));
  } finally {
    process.env.PATH = path;
  }
});

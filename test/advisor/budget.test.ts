import { test } from 'node:test';
import { formatMessage } from '../../src-shared/messages/index.ts';
import type { Message } from '../../src-shared/message.ts';

const english = (messages: readonly Message[]): string[] => messages.map((m) => formatMessage(m, 'en'));
import assert from 'node:assert/strict';
import { formatBytes, parseByteSize } from '../../src-main/core/advisor/sizes.ts';
import { memoryBudget } from '../../src-main/core/advisor/budget.ts';
import { RUNTIME_RAM_OVERHEAD_BYTES, UNIFIED_GPU_RESERVE_BYTES, discreteGpuReserve, ramOsReserve } from '../../src-main/core/advisor/constants.ts';
import { profileFromRaw } from '../../src-main/core/hardware/profile.ts';
import type { RawHardware } from '../../src-main/core/hardware/raw.ts';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

test('sizes: binary units in every spelling, decimals, plain bytes; junk is undefined', () => {
  assert.equal(parseByteSize('8G'), 8 * GiB);
  assert.equal(parseByteSize('24GiB'), 24 * GiB);
  assert.equal(parseByteSize('16gb'), 16 * GiB);
  assert.equal(parseByteSize('1.5G'), 1.5 * GiB);
  assert.equal(parseByteSize('512M'), 512 * MiB);
  assert.equal(parseByteSize('17179869184'), 16 * GiB);
  assert.equal(parseByteSize(' 2 T '), 2 * 1024 * GiB);
  for (const bad of ['', 'G', '8X', '-1G', '1e9', 'lots']) assert.equal(parseByteSize(bad), undefined, bad);
  assert.equal(formatBytes(7.43 * GiB), '7.4 GiB');
  assert.equal(formatBytes(512 * MiB), '512 MiB');
  assert.equal(formatBytes(900), '900 B');
});

test('reserves: 20% of RAM for the OS within [1, 4] GiB; 6% of VRAM, at least 768 MiB', () => {
  assert.equal(ramOsReserve(2 * GiB), 1 * GiB);
  assert.equal(ramOsReserve(16 * GiB), Math.round(3.2 * GiB));
  assert.equal(ramOsReserve(128 * GiB), 4 * GiB);
  assert.equal(discreteGpuReserve(8 * GiB), 768 * MiB);
  assert.equal(discreteGpuReserve(12 * GiB), 768 * MiB);
  assert.equal(discreteGpuReserve(24 * GiB), Math.round(24 * GiB * 0.06));
});

const base: RawHardware = { platform: 'linux', arch: 'x64', mem: { total: 32 * GiB }, cpu: null, gpus: [], disk: null };

test('budget: discrete GPUs add up; an iGPU next to them is ignored; RAM minus reserves', () => {
  const hw = profileFromRaw({
    ...base,
    gpus: [
      { vendor: 'NVIDIA', model: 'RTX 3090', memoryTotal: 24576, memoryFree: 24000 },
      { vendor: 'NVIDIA', model: 'RTX 3060', memoryTotal: 12288, memoryFree: 12000 },
      { vendor: 'Intel Corporation', model: 'UHD Graphics 770', vram: 256 },
    ],
  });
  const b = memoryBudget(hw);
  assert.equal(b.gpuBytes, 24 * GiB - discreteGpuReserve(24 * GiB) + 12 * GiB - discreteGpuReserve(12 * GiB));
  assert.equal(b.cpuBytes, 32 * GiB - ramOsReserve(32 * GiB) - RUNTIME_RAM_OVERHEAD_BYTES);
  assert.equal(b.combinedBytes, b.cpuBytes + b.gpuBytes);
  assert.equal(b.unified, false);
});

test('budget: a unified GPU gets its working set minus a reserve, never more than the RAM budget', () => {
  const mac = memoryBudget(profileFromRaw({ ...base, platform: 'darwin', arch: 'arm64', gpus: [{ vendor: 'Apple', model: 'Apple M3 Max' }] }));
  assert.equal(mac.unified, true);
  assert.equal(mac.gpuBytes, Math.floor((32 * GiB * 2) / 3) - UNIFIED_GPU_RESERVE_BYTES);
  assert.equal(mac.gpuEstimated, true);
  // A GTT window as big as RAM is capped by what RAM leaves after the reserves.
  const apu = memoryBudget(profileFromRaw({ ...base, gpus: [{ vendor: 'AMD', model: 'Strix Halo', sysfsGttTotalBytes: 32 * GiB, sysfsVramTotalBytes: 512 * MiB }] }));
  assert.equal(apu.gpuBytes, apu.cpuBytes);
});

test('budget: unknown RAM gives nothing to plan with (and the profile says RAM is unknown)', () => {
  const hw = profileFromRaw({ ...base, mem: null });
  assert.equal(memoryBudget(hw).cpuBytes, 0);
  assert.ok(english(hw.unknowns).includes('RAM total'));
});

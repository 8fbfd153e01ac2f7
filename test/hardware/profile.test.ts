import { test } from 'node:test';
import { formatMessage } from '../../src-shared/messages/index.ts';
import type { Message } from '../../src-shared/message.ts';

const english = (messages: readonly Message[]): string[] => messages.map((m) => formatMessage(m, 'en'));
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { profileFromRaw } from '../../src-main/core/hardware/profile.ts';
import type { RawHardware } from '../../src-main/core/hardware/raw.ts';
import { applyOverrides } from '../../src-main/core/hardware/override.ts';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

function fixture(name: string): RawHardware {
  const url = new URL(`../fixtures/hardware/${name}.json`, import.meta.url);
  return (JSON.parse(readFileSync(url, 'utf8')) as { raw: RawHardware }).raw;
}

test('NVIDIA 24 GB desktop: VRAM total and free from nvidia-smi, AVX-512, the iGPU listed as unified', () => {
  const p = profileFromRaw(fixture('nvidia-24gb'));
  assert.equal(p.ram.totalBytes, 66597027840);
  assert.equal(p.gpus.length, 2);
  const [nv, igpu] = p.gpus;
  assert.deepEqual(
    { vendor: nv!.vendor, model: nv!.model, total: nv!.vramTotalBytes, free: nv!.vramFreeBytes, unified: nv!.unified, backend: nv!.backend, offload: nv!.offload },
    { vendor: 'nvidia', model: 'NVIDIA GeForce RTX 4090', total: 24564 * MiB, free: 23980 * MiB, unified: false, backend: 'cuda', offload: true },
  );
  assert.equal(igpu!.vendor, 'amd');
  assert.equal(igpu!.unified, true);
  assert.equal(igpu!.workingSetBytes, 33298513920, 'GTT size from sysfs');
  assert.equal(igpu!.workingSetEstimated, false);
  assert.deepEqual(p.cpu.simd, { avx2: true, avx512: true, neon: false, f16c: true, fma: true });
  assert.equal(p.cpu.physicalCores, 16);
  assert.equal(p.disk?.freeBytes, 412316860416);
  assert.deepEqual(p.unknowns, []);
});

test('NVIDIA 8 GB laptop on Windows: the Intel iGPU is not an offload target', () => {
  const p = profileFromRaw(fixture('nvidia-8gb'));
  const intel = p.gpus.find((g) => g.vendor === 'intel')!;
  assert.equal(intel.unified, true);
  assert.equal(intel.offload, false);
  assert.equal(intel.backend, 'none');
  const nv = p.gpus.find((g) => g.vendor === 'nvidia')!;
  assert.equal(nv.vramTotalBytes, 8 * GiB);
  assert.equal(nv.vramFreeBytes, 7971 * MiB);
  assert.equal(p.cpu.simd.avx2, true);
  assert.equal(p.cpu.simd.avx512, false);
});

test('Apple M2 16 GB: unified memory, working set modelled as 2/3 of RAM and flagged as an estimate', () => {
  const p = profileFromRaw(fixture('apple-m2-16gb'));
  const [g] = p.gpus;
  assert.equal(g!.vendor, 'apple');
  assert.equal(g!.unified, true);
  assert.equal(g!.backend, 'metal');
  assert.equal(g!.workingSetBytes, Math.floor((16 * GiB * 2) / 3));
  assert.equal(g!.workingSetEstimated, true);
  assert.equal(g!.vramFreeBytes, null);
  assert.equal(p.cpu.simd.neon, true, 'AArch64 always has Advanced SIMD');
  assert.equal(p.cpu.simd.avx2, false);
  assert.ok(!english(p.unknowns).some((u) => u.includes('SIMD')), 'empty flags on arm64 are not an unknown');
});

test('Apple Silicon above 36 GiB: 3/4 of RAM', () => {
  const raw = fixture('apple-m2-16gb');
  const p = profileFromRaw({ ...raw, mem: { total: 64 * GiB, available: 40 * GiB } });
  assert.equal(p.gpus[0]!.workingSetBytes, 48 * GiB);
  const at36 = profileFromRaw({ ...raw, mem: { total: 36 * GiB } });
  assert.equal(at36.gpus[0]!.workingSetBytes, 24 * GiB);
});

test('CPU-only 8 GB laptop: Iris Xe listed but not used; AVX-512 found', () => {
  const p = profileFromRaw(fixture('cpu-laptop-8gb'));
  assert.equal(p.gpus.length, 1);
  assert.equal(p.gpus[0]!.offload, false);
  assert.equal(p.cpu.simd.avx512, true);
  assert.equal(p.ram.availableBytes, 5368709120);
});

test('AMD APU: unified, working set = GTT size from amdgpu sysfs (not an estimate), Vulkan', () => {
  const p = profileFromRaw(fixture('amd-apu-32gb'));
  const [g] = p.gpus;
  assert.equal(g!.vendor, 'amd');
  assert.equal(g!.unified, true);
  assert.equal(g!.workingSetBytes, 16329646080);
  assert.equal(g!.workingSetEstimated, false);
  assert.equal(g!.backend, 'vulkan');
  // Without sysfs the GTT share is estimated as half of RAM, never below the carve-out.
  const { sysfsVramTotalBytes: _a, sysfsVramUsedBytes: _b, sysfsGttTotalBytes: _c, ...bare } = fixture('amd-apu-32gb').gpus![0]!;
  const q = profileFromRaw({ ...fixture('amd-apu-32gb'), gpus: [bare] });
  assert.equal(q.gpus[0]!.workingSetBytes, Math.floor(32659292160 / 2));
  assert.equal(q.gpus[0]!.workingSetEstimated, true);
});

test('2 GB ARM board: display-only GPU, NEON from asimd, failed disk query listed as unknown', () => {
  const p = profileFromRaw(fixture('tiny-2gb'));
  assert.equal(p.gpus[0]!.vendor, 'other');
  assert.equal(p.gpus[0]!.offload, false);
  assert.equal(p.cpu.simd.neon, true);
  assert.equal(p.disk, null);
  assert.ok(english(p.unknowns).some((u) => u.startsWith('free disk space') && u.includes('EACCES')), english(p.unknowns).join('; '));
});

test('every query failed: nulls and a list of unknowns, no guesses', () => {
  const p = profileFromRaw(fixture('no-answers'));
  assert.equal(p.ram.totalBytes, null);
  assert.equal(p.ram.availableBytes, null);
  assert.equal(p.cpu.model, null);
  assert.deepEqual(p.gpus, []);
  for (const what of ['RAM total', 'RAM available', 'CPU architecture', 'CPU model and cores', 'GPUs: lspci: command not found', 'free disk space: ENOENT']) {
    assert.ok(english(p.unknowns).includes(what), `missing unknown '${what}' in ${JSON.stringify(p.unknowns)}`);
  }
});

test('NVIDIA without nvidia-smi: the lspci aperture is not taken for VRAM', () => {
  const raw = fixture('nvidia-24gb');
  const p = profileFromRaw({ ...raw, gpus: [{ vendor: 'NVIDIA Corporation', model: 'AD102 [GeForce RTX 4090]', vram: 256, vramDynamic: false }] });
  assert.equal(p.gpus[0]!.vramTotalBytes, null);
  assert.equal(p.gpus[0]!.offload, false);
  assert.ok(english(p.unknowns).some((u) => u.includes('nvidia-smi')));
});

test('AMD discrete: sysfs gives exact total and free; Windows 4 GiB WMI cap is an unknown', () => {
  const base = fixture('nvidia-24gb');
  const linux = profileFromRaw({ ...base, gpus: [{ vendor: 'Advanced Micro Devices, Inc. [AMD/ATI]', model: 'Navi 31 [Radeon RX 7900 XTX]', vram: 256, sysfsVramTotalBytes: 24 * GiB, sysfsVramUsedBytes: 1 * GiB }] });
  assert.deepEqual([linux.gpus[0]!.vramTotalBytes, linux.gpus[0]!.vramFreeBytes, linux.gpus[0]!.unified, linux.gpus[0]!.backend], [24 * GiB, 23 * GiB, false, 'rocm']);
  const win = profileFromRaw({ ...base, platform: 'win32', gpus: [{ vendor: 'AMD', model: 'AMD Radeon RX 7900 XTX', vram: 4095 }] });
  assert.equal(win.gpus[0]!.vramTotalBytes, null);
  assert.ok(english(win.unknowns).some((u) => u.includes('4 GiB')));
});

test('overrides: --ram recomputes an estimated Apple working set; --vram replaces GPUs; --vram 0 means none', () => {
  const mac = profileFromRaw(fixture('apple-m2-16gb'));
  const bigger = applyOverrides(mac, { ramBytes: 64 * GiB });
  assert.equal(bigger.source, 'override');
  assert.equal(bigger.gpus[0]!.workingSetBytes, 48 * GiB);
  const laptop = profileFromRaw(fixture('cpu-laptop-8gb'));
  const withGpu = applyOverrides(laptop, { vramBytes: 12 * GiB });
  assert.deepEqual(withGpu.gpus.map((g) => [g.vramTotalBytes, g.unified, g.offload]), [[12 * GiB, false, true]]);
  assert.deepEqual(applyOverrides(profileFromRaw(fixture('nvidia-24gb')), { vramBytes: 0 }).gpus, []);
  const uni = applyOverrides(laptop, { ramBytes: 32 * GiB, unified: true });
  assert.equal(uni.gpus[0]!.workingSetBytes, Math.floor((32 * GiB * 2) / 3));
  assert.equal(uni.gpus[0]!.workingSetEstimated, true);
  const none = profileFromRaw(fixture('no-answers'));
  const filled = applyOverrides(none, { ramBytes: 8 * GiB, vramBytes: 4 * GiB });
  assert.ok(!english(filled.unknowns).some((u) => u.startsWith('RAM') || u.startsWith('GPUs')), english(filled.unknowns).join('; '));
  assert.equal(applyOverrides(mac, {}), mac);
});

test('the hardware table says what each GPU is used for and lists the unknowns', async () => {
  const { hardwareTable } = await import('../../src-main/cli/commands/hardware.ts');
  const mac = hardwareTable(profileFromRaw(fixture('apple-m2-16gb')));
  assert.match(mac, /^GPU 0\s+Apple M2: shares RAM, may use 10\.7 GiB \(estimate\) \(METAL\)$/m);
  assert.match(mac, /^CPU\s+Apple M2 \(8 cores, 8 threads\) NEON FMA F16C$/m);
  const pc = hardwareTable(profileFromRaw(fixture('nvidia-8gb')));
  assert.match(pc, /^GPU 0\s+Intel\(R\) Iris\(R\) Xe Graphics: .*\(not used for inference\)$/m);
  assert.match(pc, /^GPU 1\s+NVIDIA GeForce RTX 3070 Laptop GPU: 8\.0 GiB VRAM, 7\.8 GiB free \(CUDA\)$/m);
  const none = hardwareTable(profileFromRaw(fixture('no-answers')));
  assert.match(none, /^RAM\s+unknown total, unknown available$/m);
  assert.match(none, /^Unknown\s+RAM total$/m);
});

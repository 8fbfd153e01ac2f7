// Reads this machine through systeminformation (which runs nvidia-smi, lspci, system_profiler, WMI as
// the platform needs), Linux DRM sysfs for AMD/Intel memory figures, and statfs for free disk space.
// The CPU and GPU list are kept for the rest of the boot (boot-cache.ts); free RAM, VRAM and disk
// are read every time. The I/O lives here; the interpretation is profileFromRaw's.

import { execFile } from 'node:child_process';
import { readdir, readFile, statfs } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import type { Systeminformation } from 'systeminformation';
import type { RawGpu, RawHardware } from './raw.ts';
import { profileFromRaw } from './profile.ts';
import type { HardwareProfile } from './types.ts';
import { nearestFolder } from '../fs-util.ts';
import { defaultHardwareCachePath, readBootHardware, readBootId, writeBootHardware, type BootHardware } from './boot-cache.ts';

export interface ProbeOptions {
  /** Folder the output will be written to; its file system's free space is reported. */
  readonly outputDir?: string;
  /**
   * Where this boot's CPU and GPU list are kept (Linux, which has a boot id): a file, or null to keep
   * nothing. Default: defaultHardwareCachePath().
   */
  readonly cacheFile?: string | null;
  /** Probe the CPU and GPUs even when this boot's are kept (and keep the new answer). */
  readonly refresh?: boolean;
}

/** The three systeminformation queries the probe makes. */
interface SystemQueries {
  mem(): Promise<Systeminformation.MemData>;
  cpu(): Promise<Systeminformation.CpuData>;
  graphics(): Promise<Systeminformation.GraphicsData>;
}

const MODULES: Readonly<Record<keyof SystemQueries, string>> = {
  mem: 'systeminformation/lib/memory', cpu: 'systeminformation/lib/cpu', graphics: 'systeminformation/lib/graphics',
};

/**
 * One of systeminformation's memory, cpu and graphics modules, required on first use: its index
 * loads all twenty (network, docker, wifi, …), which was a third of `quantfit recommend`'s start-up,
 * and with the CPU and GPUs kept for the boot only the memory module is needed.
 */
function systemQuery<K extends keyof SystemQueries>(name: K): SystemQueries[K] {
  const require = createRequire(import.meta.url);
  return (require(MODULES[name]) as Pick<SystemQueries, K>)[name];
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function settle<T>(name: string, errors: Record<string, string>, work: () => Promise<T>): Promise<T | null> {
  try {
    return await work();
  } catch (err) {
    errors[name] = message(err);
    return null;
  }
}

interface DrmCard { busAddress: string; vramTotal?: number; vramUsed?: number; gttTotal?: number }

async function readNumber(path: string): Promise<number | undefined> {
  try {
    const n = Number((await readFile(path, 'utf8')).trim());
    return Number.isFinite(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** amdgpu (and xe) publish exact memory sizes per card; lspci only knows the PCI aperture. */
async function readDrmCards(): Promise<DrmCard[]> {
  let names: string[];
  try {
    names = (await readdir('/sys/class/drm')).filter((n) => /^card\d+$/.test(n));
  } catch {
    return [];
  }
  const cards: DrmCard[] = [];
  for (const n of names) {
    const dev = join('/sys/class/drm', n, 'device');
    let uevent = '';
    try { uevent = await readFile(join(dev, 'uevent'), 'utf8'); } catch { continue; }
    const slot = /PCI_SLOT_NAME=(\S+)/.exec(uevent)?.[1];
    if (!slot) continue;
    const card: DrmCard = { busAddress: slot.replace(/^0000:/, '').toLowerCase() };
    const vt = await readNumber(join(dev, 'mem_info_vram_total'));
    const vu = await readNumber(join(dev, 'mem_info_vram_used'));
    const gt = await readNumber(join(dev, 'mem_info_gtt_total'));
    if (vt !== undefined) card.vramTotal = vt;
    if (vu !== undefined) card.vramUsed = vu;
    if (gt !== undefined) card.gttTotal = gt;
    cards.push(card);
  }
  return cards;
}

function mergeDrm(g: RawGpu, cards: readonly DrmCard[]): RawGpu {
  const bus = (g.busAddress ?? '').toLowerCase().replace(/^0000:/, '');
  const card = bus ? cards.find((c) => c.busAddress === bus || c.busAddress.endsWith(bus)) : undefined;
  if (!card) return g;
  return {
    ...g,
    ...(card.vramTotal !== undefined ? { sysfsVramTotalBytes: card.vramTotal } : {}),
    ...(card.vramUsed !== undefined ? { sysfsVramUsedBytes: card.vramUsed } : {}),
    ...(card.gttTotal !== undefined ? { sysfsGttTotalBytes: card.gttTotal } : {}),
  };
}

function rawGpu(c: Systeminformation.GraphicsControllerData): RawGpu {
  return {
    vendor: c.vendor,
    ...(c.vendorId !== undefined ? { vendorId: c.vendorId } : {}),
    model: c.model,
    ...(c.name !== undefined ? { name: c.name } : {}),
    bus: c.bus,
    vram: c.vram,
    vramDynamic: c.vramDynamic,
    ...(c.memoryTotal !== undefined ? { memoryTotal: c.memoryTotal } : {}),
    ...(c.memoryFree !== undefined ? { memoryFree: c.memoryFree } : {}),
    ...(c.cores !== undefined ? { cores: c.cores } : {}),
    ...(c.busAddress !== undefined ? { busAddress: c.busAddress } : {}),
  };
}

/** The CPU and GPUs as systeminformation finds them (the slow part: its child processes). */
async function probeCpuAndGpus(errors: Record<string, string>): Promise<{ cpu: RawHardware['cpu']; gpus: RawHardware['gpus'] }> {
  const [cpu, graphics] = await Promise.all([
    settle('cpu', errors, () => systemQuery('cpu')()),
    settle('graphics', errors, () => systemQuery('graphics')()),
  ]);
  return {
    cpu: cpu === null ? null : { manufacturer: cpu.manufacturer, brand: cpu.brand, cores: cpu.cores, physicalCores: cpu.physicalCores, flags: cpu.flags },
    gpus: graphics === null ? null : graphics.controllers.map(rawGpu),
  };
}

const run = promisify(execFile);

/**
 * Free VRAM (MiB) of NVIDIA GPUs kept from earlier in this boot, asked of nvidia-smi now: the same
 * query si.graphics() makes, without its lspci/clinfo/X11 probes. Null when nvidia-smi does not
 * answer for each of them (the driver changed: probe afresh).
 */
async function withFreeNvidiaMemory(gpus: readonly RawGpu[]): Promise<RawGpu[] | null> {
  const nvidia = gpus.filter((g) => g.memoryTotal !== undefined);
  if (nvidia.length === 0) return [...gpus];
  let rows: string[][];
  try {
    const { stdout } = await run('nvidia-smi', ['--query-gpu=pci.bus_id,memory.free', '--format=csv,noheader,nounits'], { timeout: 10_000 });
    rows = stdout.split('\n').filter((l) => l.trim() !== '').map((l) => l.split(',').map((f) => f.trim().toLowerCase()));
  } catch {
    return null;
  }
  const out: RawGpu[] = [];
  for (const g of gpus) {
    if (g.memoryTotal === undefined) { out.push(g); continue; }
    const bus = (g.busAddress ?? '').toLowerCase();
    const free = Number(rows.find(([id]) => bus !== '' && id !== undefined && id.endsWith(bus))?.[1]);
    if (!Number.isFinite(free)) return null;
    out.push({ ...g, memoryFree: free });
  }
  return out;
}

/** The kept part of a probe: what stays the same within a boot (free VRAM left out). */
function bootPart(cpu: RawHardware['cpu'], gpus: readonly RawGpu[]): BootHardware {
  return { cpu, gpus: gpus.map(({ memoryFree: _free, ...g }) => g) };
}

/** The CPU and GPUs: kept from earlier in this boot when possible, else probed (and kept). */
async function cpuAndGpus(options: ProbeOptions, errors: Record<string, string>): Promise<{ cpu: RawHardware['cpu']; gpus: RawHardware['gpus'] }> {
  const file = options.cacheFile === undefined ? defaultHardwareCachePath() : options.cacheFile;
  const bootId = file === null || process.platform !== 'linux' ? null : await readBootId();
  if (file === null || bootId === null) return probeCpuAndGpus(errors);
  const kept = options.refresh === true ? null : await readBootHardware(file, bootId);
  const gpus = kept === null ? null : await withFreeNvidiaMemory(kept.gpus);
  if (kept !== null && gpus !== null) return { cpu: kept.cpu, gpus };
  const probed = await probeCpuAndGpus(errors);
  // Only a whole answer is kept: a failed query is asked again next time.
  if (probed.cpu !== null && probed.gpus !== null) await writeBootHardware(file, bootId, bootPart(probed.cpu, probed.gpus));
  return probed;
}

async function diskSpace(outputDir: string): Promise<NonNullable<RawHardware['disk']>> {
  // A folder that does not exist yet will be created inside its nearest existing ancestor.
  const s = await statfs(await nearestFolder(outputDir));
  return { path: outputDir, freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
}

/** Collects the raw answers; never throws (a failed query is recorded in `errors`). */
export async function collectRawHardware(options: ProbeOptions = {}): Promise<RawHardware> {
  const errors: Record<string, string> = {};
  const outputDir = resolve(options.outputDir ?? process.cwd());
  // Free RAM, free VRAM (sysfs) and free disk are read on every probe.
  const [mem, { cpu, gpus }, disk, drm] = await Promise.all([
    settle('mem', errors, () => systemQuery('mem')()),
    cpuAndGpus(options, errors),
    settle('disk', errors, () => diskSpace(outputDir)),
    process.platform === 'linux' ? readDrmCards() : Promise.resolve([] as DrmCard[]),
  ]);
  return {
    platform: process.platform,
    arch: process.arch,
    mem: mem === null ? null : { total: mem.total, available: mem.available },
    cpu,
    gpus: gpus === null ? null : gpus.map((g) => mergeDrm(g, drm)),
    disk,
    ...(Object.keys(errors).length > 0 ? { errors } : {}),
  };
}

/** Probes this machine. `outputDir` defaults to the current folder. */
export async function probeHardware(options: ProbeOptions = {}): Promise<HardwareProfile> {
  return profileFromRaw(await collectRawHardware(options), 'probe');
}

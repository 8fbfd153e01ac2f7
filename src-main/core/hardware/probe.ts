// Reads this machine through systeminformation (which runs nvidia-smi, lspci, system_profiler, WMI as
// the platform needs), Linux DRM sysfs for AMD/Intel memory figures, and statfs for free disk space.
// The I/O lives here; the interpretation is profileFromRaw's.

import { readdir, readFile, statfs } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import type { Systeminformation } from 'systeminformation';
import type { RawGpu, RawHardware } from './raw.ts';
import { profileFromRaw } from './profile.ts';
import type { HardwareProfile } from './types.ts';

export interface ProbeOptions {
  /** Folder the output will be written to; its file system's free space is reported. */
  readonly outputDir?: string;
}

/** The three systeminformation queries the probe makes. */
interface SystemQueries {
  mem(): Promise<Systeminformation.MemData>;
  cpu(): Promise<Systeminformation.CpuData>;
  graphics(): Promise<Systeminformation.GraphicsData>;
}

let queries: SystemQueries | undefined;

/**
 * systeminformation's memory, cpu and graphics modules, required one by one on first use: its index
 * loads all twenty (network, docker, wifi, …), which was a third of `quantfit recommend`'s start-up.
 */
function systemQueries(): SystemQueries {
  if (!queries) {
    const require = createRequire(import.meta.url);
    queries = {
      mem: (require('systeminformation/lib/memory') as Pick<SystemQueries, 'mem'>).mem,
      cpu: (require('systeminformation/lib/cpu') as Pick<SystemQueries, 'cpu'>).cpu,
      graphics: (require('systeminformation/lib/graphics') as Pick<SystemQueries, 'graphics'>).graphics,
    };
  }
  return queries;
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

/** Collects the raw answers; never throws (a failed query is recorded in `errors`). */
export async function collectRawHardware(options: ProbeOptions = {}): Promise<RawHardware> {
  const errors: Record<string, string> = {};
  const outputDir = resolve(options.outputDir ?? process.cwd());
  const si = systemQueries();
  const [mem, cpu, graphics, disk, drm] = await Promise.all([
    settle('mem', errors, () => si.mem()),
    settle('cpu', errors, () => si.cpu()),
    settle('graphics', errors, () => si.graphics()),
    settle('disk', errors, async () => {
      // A folder that does not exist yet will be created inside its nearest existing ancestor.
      let dir = outputDir;
      for (;;) {
        try {
          const s = await statfs(dir);
          return { path: outputDir, freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
        } catch (err) {
          const parent = dirname(dir);
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || parent === dir) throw err;
          dir = parent;
        }
      }
    }),
    process.platform === 'linux' ? readDrmCards() : Promise.resolve([] as DrmCard[]),
  ]);
  const gpus: RawGpu[] | null = graphics === null ? null : graphics.controllers.map((c) => mergeDrm({
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
  }, drm));
  return {
    platform: process.platform,
    arch: process.arch,
    mem: mem === null ? null : { total: mem.total, available: mem.available },
    cpu: cpu === null ? null : { manufacturer: cpu.manufacturer, brand: cpu.brand, cores: cpu.cores, physicalCores: cpu.physicalCores, flags: cpu.flags },
    gpus,
    disk,
    ...(Object.keys(errors).length > 0 ? { errors } : {}),
  };
}

/** Probes this machine. `outputDir` defaults to the current folder. */
export async function probeHardware(options: ProbeOptions = {}): Promise<HardwareProfile> {
  return profileFromRaw(await collectRawHardware(options), 'probe');
}

// The CPU and the list of GPUs do not change while a machine runs, and finding them is most of a
// probe's time (systeminformation runs lscpu, dmidecode, lspci, clinfo, xdpyinfo, xrandr one after
// another). So they are kept for the current boot, keyed by Linux's boot id: the next boot — new
// hardware, a new driver — probes again. What does change (free RAM, free VRAM, free disk) is never
// kept here. A missing, unreadable, corrupt or foreign file is simply probed over.

import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { RawGpu, RawHardware } from './raw.ts';

/** Bumped when the kept shape or its meaning changes: an older file is then probed over. */
const CACHE_VERSION = 1;

/** What a probe learns that stays the same until the next boot. */
export interface BootHardware {
  readonly cpu: RawHardware['cpu'];
  readonly gpus: readonly RawGpu[];
}

interface CacheFile extends BootHardware {
  readonly version: number;
  readonly bootId: string;
}

/** `$XDG_CACHE_HOME/quantfit/hardware.json`, else `~/.cache/quantfit/hardware.json`. */
export function defaultHardwareCachePath(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const base = env.XDG_CACHE_HOME !== undefined && env.XDG_CACHE_HOME !== '' ? env.XDG_CACHE_HOME : join(homedir(), '.cache');
  return join(base, 'quantfit', 'hardware.json');
}

/** This boot's id (Linux); null where the system has none. */
export async function readBootId(path = '/proc/sys/kernel/random/boot_id'): Promise<string | null> {
  try {
    const id = (await readFile(path, 'utf8')).trim();
    return id === '' ? null : id;
  } catch {
    return null;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const optional = (v: unknown, type: 'string' | 'number' | 'boolean') => v === undefined || typeof v === type;

function isRawGpu(v: unknown): v is RawGpu {
  if (!isObject(v)) return false;
  const strings = ['vendor', 'vendorId', 'model', 'name', 'bus', 'busAddress'].every((k) => optional(v[k], 'string'));
  const numbers = ['memoryTotal', 'memoryFree', 'sysfsVramTotalBytes', 'sysfsVramUsedBytes', 'sysfsGttTotalBytes'].every((k) => optional(v[k], 'number'));
  const nullable = ['vram', 'cores'].every((k) => v[k] === null || optional(v[k], 'number'));
  return strings && numbers && nullable && optional(v.vramDynamic, 'boolean');
}

function isRawCpu(v: unknown): v is NonNullable<RawHardware['cpu']> {
  return isObject(v)
    && ['manufacturer', 'brand', 'flags'].every((k) => optional(v[k], 'string'))
    && ['cores', 'physicalCores'].every((k) => optional(v[k], 'number'));
}

function isCacheFile(v: unknown): v is CacheFile {
  return isObject(v) && v.version === CACHE_VERSION && typeof v.bootId === 'string'
    && (v.cpu === null || isRawCpu(v.cpu)) && Array.isArray(v.gpus) && v.gpus.every(isRawGpu);
}

/** The hardware kept for this boot, or null when there is none (or the file is not one we wrote). */
export async function readBootHardware(file: string, bootId: string): Promise<BootHardware | null> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    return null;
  }
  if (!isCacheFile(parsed) || parsed.bootId !== bootId) return null;
  return { cpu: parsed.cpu, gpus: parsed.gpus };
}

/** Keeps this boot's hardware (through a temp file, so a reader never sees half of it); best effort. */
export async function writeBootHardware(file: string, bootId: string, hardware: BootHardware): Promise<void> {
  const content: CacheFile = { version: CACHE_VERSION, bootId, cpu: hardware.cpu, gpus: hardware.gpus };
  const temp = `${file}.${process.pid}.tmp`;
  try {
    await mkdir(dirname(file), { recursive: true });
    await writeFile(temp, `${JSON.stringify(content)}\n`);
    await rename(temp, file);
  } catch {
    // A read-only home or a full disk: the next run probes again, nothing else changes.
    await rm(temp, { force: true }).catch(() => undefined);
  }
}

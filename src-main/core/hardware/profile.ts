// Turns a recorded probe (RawHardware) into a HardwareProfile. Pure: no I/O, so recorded fixtures of
// machines we do not have can be tested. Whatever the raw data does not establish is null and named
// in `unknowns`; numbers known to be unreliable (PCI BAR sizes, 32-bit WMI counters) are not used.

import type { Message } from '../../../src-shared/message.ts';
import { msg } from '../../../src-shared/messages/index.ts';
import type { CpuInfo, GpuInfo, GpuVendor, HardwareProfile, RamInfo } from './types.ts';
import type { RawGpu, RawHardware } from './raw.ts';
import { appleWorkingSetBytes, sharedGpuWorkingSetBytes } from './unified-memory.ts';

const MiB = 1024 * 1024;

const VENDOR_PATTERNS: readonly { readonly vendor: GpuVendor; readonly names: RegExp; readonly pciId: string }[] = [
  { vendor: 'nvidia', names: /nvidia/i, pciId: '10de' },
  { vendor: 'amd', names: /\bamd\b|advanced micro devices|\bati\b|radeon/i, pciId: '1002' },
  { vendor: 'intel', names: /intel/i, pciId: '8086' },
  { vendor: 'apple', names: /apple/i, pciId: '106b' },
];

/** AMD integrated graphics by code name or marketing name (they share system RAM). */
const AMD_APU_MODEL = /\b(raven|picasso|renoir|lucienne|cezanne|barcelo|rembrandt|mendocino|phoenix\d?|hawk ?point|raphael|granite ridge|strix( halo| point)?|krackan|van ?gogh|dragon range)\b|radeon (\d{3}m|vega \d+ (mobile )?graphics|graphics)\b|ryzen/i;
/** Intel cards with their own memory; every other Intel GPU is integrated. */
const INTEL_DISCRETE_MODEL = /\barc\b.*\b[ab]\d{3}|\bdg2\b|battlemage|alchemist|data center gpu/i;

/** WMI's AdapterRAM is a 32-bit counter: values at 4 GiB - 1 may be clipped. */
const WMI_CAP_MIB = 4095;

function classifyVendor(g: RawGpu): GpuVendor {
  const id = (g.vendorId ?? '').toLowerCase().replace(/^0x/, '');
  for (const v of VENDOR_PATTERNS) if (id === v.pciId) return v.vendor;
  const text = `${g.vendor ?? ''} ${g.model ?? ''} ${g.name ?? ''}`;
  for (const v of VENDOR_PATTERNS) if (v.names.test(text)) return v.vendor;
  return 'other';
}

function gpuModel(g: RawGpu): string {
  return (g.name || g.model || g.vendor || 'unknown GPU').trim();
}

function buildGpu(g: RawGpu, index: number, raw: RawHardware, ramTotal: number | null, unknowns: Message[]): GpuInfo {
  const vendor = classifyVendor(g);
  const model = gpuModel(g);
  const gpu = { index, model };
  const darwin = raw.platform === 'darwin';

  if (vendor === 'apple') {
    const ws = ramTotal === null ? null : appleWorkingSetBytes(ramTotal);
    if (ws === null) unknowns.push(msg('hardware.unknown.gpuWorkingSet', gpu));
    return { vendor, model, vramTotalBytes: ws, vramFreeBytes: null, unified: true, workingSetBytes: ws, workingSetEstimated: true, backend: 'metal', offload: true };
  }

  const reportedMiB = typeof g.vram === 'number' && g.vram > 0 ? g.vram : null;

  if (vendor === 'nvidia') {
    // Only nvidia-smi's figures are trusted; lspci reports the PCI BAR, not the memory.
    const total = typeof g.memoryTotal === 'number' && g.memoryTotal > 0 ? g.memoryTotal * MiB : null;
    const free = typeof g.memoryFree === 'number' && total !== null ? g.memoryFree * MiB : null;
    if (total === null) unknowns.push(msg('hardware.unknown.vramNoSmi', gpu));
    else if (free === null) unknowns.push(msg('hardware.unknown.vramFree', gpu));
    return { vendor, model, vramTotalBytes: total, vramFreeBytes: free, unified: false, workingSetBytes: null, workingSetEstimated: false, backend: darwin ? 'metal' : 'cuda', offload: total !== null };
  }

  if (vendor === 'amd' || vendor === 'intel') {
    const sysfsTotal = g.sysfsVramTotalBytes ?? null;
    const sysfsFree = sysfsTotal !== null && g.sysfsVramUsedBytes !== undefined ? sysfsTotal - g.sysfsVramUsedBytes : null;
    const integrated = vendor === 'amd'
      ? (g.vramDynamic === true || AMD_APU_MODEL.test(model)) && !/\brx\b|instinct|radeon pro w/i.test(model)
      : !INTEL_DISCRETE_MODEL.test(model);
    if (integrated) {
      // Shares system RAM: the carve-out is small, the GPU can map far more through GTT.
      const carveOut = sysfsTotal ?? (reportedMiB !== null ? reportedMiB * MiB : null);
      const gtt = g.sysfsGttTotalBytes ?? null;
      let ws: number | null = null;
      let estimated = false;
      if (gtt !== null) ws = Math.max(gtt, carveOut ?? 0);
      else if (ramTotal !== null) { ws = sharedGpuWorkingSetBytes(ramTotal, carveOut); estimated = true; }
      else unknowns.push(msg('hardware.unknown.gpuWorkingSet', gpu));
      // Intel iGPUs are listed but not planned for: the same RAM serves the CPU just as well.
      const offload = vendor === 'amd' && ws !== null;
      return { vendor, model, vramTotalBytes: ws, vramFreeBytes: null, unified: true, workingSetBytes: ws, workingSetEstimated: estimated, backend: offload ? 'vulkan' : 'none', offload };
    }
    let total = sysfsTotal;
    if (total === null && reportedMiB !== null) {
      if (raw.platform === 'win32' && reportedMiB >= WMI_CAP_MIB && reportedMiB <= WMI_CAP_MIB + 1) {
        unknowns.push(msg('hardware.unknown.vramWmi', gpu));
      } else if (reportedMiB >= 1024) {
        total = reportedMiB * MiB;
      } else {
        unknowns.push(msg('hardware.unknown.vramAperture', { ...gpu, mib: reportedMiB }));
      }
    } else if (total === null) {
      unknowns.push(msg('hardware.unknown.vram', gpu));
    }
    if (total !== null && sysfsFree === null) unknowns.push(msg('hardware.unknown.vramFree', gpu));
    const backend = darwin ? 'metal' : vendor === 'amd' ? 'rocm' : 'vulkan';
    return { vendor, model, vramTotalBytes: total, vramFreeBytes: sysfsFree, unified: false, workingSetBytes: null, workingSetEstimated: false, backend, offload: total !== null };
  }

  // Display-only adapters (BMC, virtual, software renderers): listed, never planned for.
  return { vendor, model, vramTotalBytes: reportedMiB !== null ? reportedMiB * MiB : null, vramFreeBytes: null, unified: false, workingSetBytes: null, workingSetEstimated: false, backend: 'none', offload: false };
}

function buildCpu(raw: RawHardware, unknowns: Message[]): CpuInfo {
  const c = raw.cpu;
  const arch = raw.arch;
  if (arch === null) unknowns.push(msg('hardware.unknown.cpuArch'));
  if (c === null) unknowns.push(msg('hardware.unknown.cpuModel'));
  const flags = new Set((c?.flags ?? '').toLowerCase().split(/[\s,]+/).filter((f) => f.length > 0));
  const isArm64 = arch === 'arm64';
  if (flags.size === 0 && !isArm64) unknowns.push(msg('hardware.unknown.simd'));
  const model = c ? [c.manufacturer, c.brand].filter((s): s is string => typeof s === 'string' && s.length > 0).join(' ') || null : null;
  return {
    model,
    physicalCores: c?.physicalCores && c.physicalCores > 0 ? c.physicalCores : null,
    logicalCores: c?.cores && c.cores > 0 ? c.cores : null,
    arch,
    simd: {
      avx2: flags.has('avx2'),
      avx512: [...flags].some((f) => f === 'avx512f' || f === 'avx512'),
      // AArch64 makes Advanced SIMD mandatory; 32-bit ARM reports it as a flag.
      neon: isArm64 || flags.has('neon') || flags.has('asimd'),
      f16c: flags.has('f16c') || isArm64,
      fma: flags.has('fma') || flags.has('fma3') || isArm64,
    },
  };
}

function buildRam(raw: RawHardware, unknowns: Message[]): RamInfo {
  const total = raw.mem && raw.mem.total > 0 ? raw.mem.total : null;
  const available = raw.mem && typeof raw.mem.available === 'number' && raw.mem.available > 0 ? raw.mem.available : null;
  if (total === null) unknowns.push(msg('hardware.unknown.ramTotal'));
  if (available === null) unknowns.push(msg('hardware.unknown.ramAvailable'));
  return { totalBytes: total, availableBytes: available };
}

export function profileFromRaw(raw: RawHardware, source: HardwareProfile['source'] = 'probe'): HardwareProfile {
  const unknowns: Message[] = [];
  if (raw.platform === null) unknowns.push(msg('hardware.unknown.os'));
  const ram = buildRam(raw, unknowns);
  const cpu = buildCpu(raw, unknowns);
  let gpus: GpuInfo[] = [];
  if (raw.gpus === null) {
    const error = raw.errors?.['graphics'];
    unknowns.push(error !== undefined ? msg('hardware.unknown.gpus', { error }) : msg('hardware.unknown.gpusQuery'));
  } else {
    gpus = raw.gpus.map((g, i) => buildGpu(g, i, raw, ram.totalBytes, unknowns));
  }
  if (raw.disk === null) unknowns.push(raw.errors?.['disk'] ? msg('hardware.unknown.diskError', { error: raw.errors['disk'] }) : msg('hardware.unknown.disk'));
  const disk = raw.disk ? { path: raw.disk.path, freeBytes: raw.disk.freeBytes, totalBytes: raw.disk.totalBytes } : null;
  return { platform: raw.platform, ram, gpus, cpu, disk, unknowns, source };
}

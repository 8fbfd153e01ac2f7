// `quantfit hardware [--json] [--output-dir DIR]`: what this machine has, as the advisor sees it.

import { parseCommandArgs } from '../args.ts';
import { probeHardware } from '../../core/hardware/probe.ts';
import type { HardwareProfile } from '../../core/hardware/types.ts';
import { formatBytes } from '../../core/advisor/sizes.ts';

export const help = `Usage: quantfit hardware [--json] [--output-dir DIR]

Shows RAM (total, available), every GPU (vendor, model, VRAM total and free where the platform says;
unified-memory GPUs with the share of RAM they may use), the CPU (model, cores, SIMD features) and
the free space where output would be written. What could not be found out is listed as unknown.

Options:
  --json             print the HardwareProfile as JSON (bytes as numbers)
  --output-dir DIR   report free disk space for DIR (default: the current folder)
`;

export async function run(args: string[]): Promise<number> {
  const { values } = parseCommandArgs(
    args,
    { json: { type: 'boolean' }, 'output-dir': { type: 'string' } },
    { min: 0, max: 0, names: 'quantfit hardware [--json] [--output-dir DIR]' },
  );
  const profile = await probeHardware(values['output-dir'] !== undefined ? { outputDir: values['output-dir'] } : {});
  process.stdout.write(values.json ? `${JSON.stringify(profile, null, 2)}\n` : hardwareTable(profile));
  return 0;
}

const or = (n: number | null, unknown = 'unknown') => (n === null ? unknown : formatBytes(n));

export function hardwareTable(hw: HardwareProfile): string {
  const rows: [string, string][] = [];
  rows.push(['Platform', `${hw.platform ?? 'unknown'} ${hw.cpu.arch ?? ''}`.trim()]);
  rows.push(['RAM', `${or(hw.ram.totalBytes)} total, ${or(hw.ram.availableBytes)} available`]);
  const simd = [hw.cpu.simd.avx2 && 'AVX2', hw.cpu.simd.avx512 && 'AVX-512', hw.cpu.simd.neon && 'NEON', hw.cpu.simd.fma && 'FMA', hw.cpu.simd.f16c && 'F16C']
    .filter((s): s is string => typeof s === 'string');
  const cores = hw.cpu.physicalCores !== null ? `${hw.cpu.physicalCores} cores${hw.cpu.logicalCores !== null ? `, ${hw.cpu.logicalCores} threads` : ''}` : 'cores unknown';
  rows.push(['CPU', `${hw.cpu.model ?? 'unknown'} (${cores})${simd.length > 0 ? ` ${simd.join(' ')}` : ''}`]);
  if (hw.gpus.length === 0) rows.push(['GPU', 'none found']);
  hw.gpus.forEach((g, i) => {
    let mem: string;
    if (g.unified) {
      mem = `shares RAM, may use ${or(g.workingSetBytes)}${g.workingSetEstimated ? ' (estimate)' : ''}`;
    } else {
      mem = `${or(g.vramTotalBytes)} VRAM${g.vramFreeBytes !== null ? `, ${formatBytes(g.vramFreeBytes)} free` : ''}`;
    }
    const use = g.offload ? g.backend.toUpperCase() : 'not used for inference';
    rows.push([`GPU ${i}`, `${g.model}: ${mem} (${use})`]);
  });
  rows.push(['Disk', hw.disk ? `${or(hw.disk.freeBytes)} free at ${hw.disk.path}` : 'unknown']);
  for (const u of hw.unknowns) rows.push(['Unknown', u]);
  const width = Math.max(...rows.map(([k]) => k.length));
  return `${rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n')}\n`;
}

// `quantfit hardware [--json] [--output-dir DIR]`: what this machine has, as the advisor sees it.

import { parseCommandArgs } from '../args.ts';
import { probeHardware } from '../../core/hardware/probe.ts';
import type { HardwareProfile } from '../../core/hardware/types.ts';
import { formatBytes } from '../../core/advisor/sizes.ts';
import type { Message } from '../../../src-shared/message.ts';
import { msg } from '../../../src-shared/messages/index.ts';
import { displayWidth, padDisplay, say } from '../locale.ts';
import { hardwareJson } from '../json-output.ts';

export const help = msg('cli.help.hardware');

export async function run(args: string[]): Promise<number> {
  const { values } = parseCommandArgs(
    args,
    { json: { type: 'boolean' }, 'output-dir': { type: 'string' } },
    { min: 0, max: 0, names: 'quantfit hardware [--json] [--output-dir DIR]' },
  );
  // This command looks afresh (and keeps the answer): after adding a GPU, it is how to tell the others.
  const profile = await probeHardware({ refresh: true, ...(values['output-dir'] !== undefined ? { outputDir: values['output-dir'] } : {}) });
  process.stdout.write(values.json ? `${JSON.stringify(hardwareJson(profile), null, 2)}\n` : hardwareTable(profile));
  return 0;
}

const or = (n: number | null): string => (n === null ? say(msg('cli.hw.unknown')) : formatBytes(n));

export function hardwareTable(hw: HardwareProfile): string {
  const rows: [string, string][] = [];
  const row = (label: Message, value: string) => rows.push([say(label), value]);
  row(msg('cli.hw.platform'), `${hw.platform ?? say(msg('cli.hw.unknown'))} ${hw.cpu.arch ?? ''}`.trim());
  row(msg('cli.hw.ram'), say(msg('cli.hw.ramValue', { total: or(hw.ram.totalBytes), available: or(hw.ram.availableBytes) })));
  const simd = [hw.cpu.simd.avx2 && 'AVX2', hw.cpu.simd.avx512 && 'AVX-512', hw.cpu.simd.neon && 'NEON', hw.cpu.simd.fma && 'FMA', hw.cpu.simd.f16c && 'F16C']
    .filter((s): s is string => typeof s === 'string');
  const { physicalCores: physical, logicalCores: logical } = hw.cpu;
  const cores = say(physical === null ? msg('cli.hw.coresUnknown')
    : logical === null ? msg('cli.hw.cores', { physical }) : msg('cli.hw.coresThreads', { physical, logical }));
  row(msg('cli.hw.cpu'), `${hw.cpu.model ?? say(msg('cli.hw.unknown'))} (${cores})${simd.length > 0 ? ` ${simd.join(' ')}` : ''}`);
  if (hw.gpus.length === 0) row(msg('cli.hw.gpu'), say(msg('cli.hw.noGpu')));
  hw.gpus.forEach((g, index) => {
    const mem = g.unified
      ? msg(g.workingSetEstimated ? 'cli.hw.sharedEstimate' : 'cli.hw.shared', { bytes: or(g.workingSetBytes) })
      : g.vramFreeBytes !== null ? msg('cli.hw.vramFree', { total: or(g.vramTotalBytes), free: formatBytes(g.vramFreeBytes) }) : msg('cli.hw.vram', { total: or(g.vramTotalBytes) });
    const use = g.offload ? g.backend.toUpperCase() : say(msg('cli.hw.notUsed'));
    row(msg('cli.hw.gpuN', { index }), `${g.model}: ${say(mem)} (${use})`);
  });
  row(msg('cli.hw.disk'), hw.disk ? say(msg('cli.hw.diskValue', { free: or(hw.disk.freeBytes), path: hw.disk.path })) : say(msg('cli.hw.unknown')));
  for (const u of hw.unknowns) row(msg('cli.hw.unknownLabel'), say(u));
  const width = Math.max(...rows.map(([k]) => displayWidth(k)));
  return `${rows.map(([k, v]) => `${padDisplay(k, width)}  ${v}`).join('\n')}\n`;
}

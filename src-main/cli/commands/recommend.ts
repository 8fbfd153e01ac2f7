// `quantfit recommend <model> [--ctx N] [--ram SIZE] [--vram SIZE] [--unified] [--imatrix] [--json]`:
// per quant type the exact file size and the memory to run it, where it fits, and the pick.

import { parseCommandArgs, intOption } from '../args.ts';
import type { HardwareProfile } from '../../core/hardware/types.ts';
import { recommendModel } from '../../core/advisor/service.ts';
import { formatBytes, requireByteSize } from '../../core/advisor/sizes.ts';
import type { RecommendReport } from '../../core/advisor/types.ts';
import { DEFAULT_CTX } from '../../core/advisor/constants.ts';
import { UsageError } from '../args.ts';
import { MODEL_ARG_HELP, MODEL_ARG_OPTIONS, resolveModelArg } from '../model-arg.ts';

export const help = `Usage: quantfit recommend <model> [--ctx N] [--ram SIZE] [--vram SIZE] [--unified] [--imatrix] [--json]

For every quant type: the exact size of the file quantize would write, the KV cache and compute
buffers at the context length, the total, and where it fits on this machine (all on the GPU, partly,
CPU only, or not at all). Then the recommended type and why.

Options:
  --ctx N        context length in tokens (default ${DEFAULT_CTX}, or the model's own if shorter)
  --ram SIZE     pretend the machine has this much RAM (e.g. 16G, 32GiB, bytes); units are binary
  --vram SIZE    pretend the GPU has this much memory (0: no GPU); replaces the probed GPUs
  --unified      the GPU shares RAM (Apple Silicon, APU); without --vram it may use ~2/3 of RAM
                 (3/4 above 36 GiB), macOS's default limit
  --imatrix      an importance matrix is at hand: the IQ2/IQ1 types can be recommended
  --json         print JSON: {hardware, ctx, budget, options: [{type, fileBytes, kvCacheBytes,
                 computeBytes, totalBytes, fit, gpuLayers, pplIncrease, requiresImatrix}],
                 recommended: {type, fit, gpuLayers, reason, reasons: [{code, ...}]}}

Nothing fitting is not an error: fit is "none" and the reason says what would fit.

${MODEL_ARG_HELP}
`;

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    args,
    {
      ctx: { type: 'string' }, ram: { type: 'string' }, vram: { type: 'string' },
      unified: { type: 'boolean' }, imatrix: { type: 'boolean' }, json: { type: 'boolean' }, ...MODEL_ARG_OPTIONS,
    },
    { min: 1, max: 1, names: 'quantfit recommend <model.gguf> [options]' },
  );
  const ctx = intOption(values.ctx, 'ctx', 1, 16 * 1024 * 1024);
  const size = (v: string | undefined, name: string) => {
    if (v === undefined) return undefined;
    try {
      return requireByteSize(v, `--${name}`);
    } catch (err) {
      throw new UsageError(err instanceof Error ? err.message : String(err));
    }
  };
  const ramBytes = size(values.ram, 'ram');
  const vramBytes = size(values.vram, 'vram');
  if (ramBytes === 0) throw new UsageError('--ram must be more than 0');
  const model = await resolveModelArg(positionals[0]!, values);
  const report = await recommendModel(model.path, {
    ...(ramBytes !== undefined ? { ramBytes } : {}),
    ...(vramBytes !== undefined ? { vramBytes } : {}),
    ...(values.unified === true ? { unified: true } : {}),
    ...(ctx !== undefined ? { ctx } : {}),
    hasImatrix: values.imatrix === true,
  });
  if (values.json) {
    const { skipped: _skipped, ...json } = report;
    process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
  } else {
    process.stdout.write(recommendTable(report, report.skipped));
  }
  return 0;
}

function machineLine(hw: HardwareProfile, report: RecommendReport): string {
  const gpu = report.budget.gpuBytes > 0
    ? `${report.budget.unified ? 'unified GPU' : 'GPU'} ${formatBytes(report.budget.gpuBytes)} usable`
    : 'no GPU used';
  const what = hw.source === 'override' ? ' (with --ram/--vram/--unified)' : '';
  return `Machine${what}: RAM ${formatBytes(report.budget.cpuBytes)} usable, ${gpu}.`;
}

const FIT_LABEL = { gpu: 'GPU', partial: 'partial', cpu: 'CPU', none: '-' } as const;

export function recommendTable(report: RecommendReport, skipped: readonly { type: string; reason: string }[] = []): string {
  const head = ['', 'TYPE', 'FILE', 'KV', 'COMPUTE', 'TOTAL', 'FIT', 'GPU LAYERS', 'PPL +'];
  const rows = report.options.map((o) => [
    o.type === report.recommended.type ? '*' : '',
    o.type + (o.requiresImatrix ? ' (imatrix)' : ''),
    formatBytes(o.fileBytes), formatBytes(o.kvCacheBytes), formatBytes(o.computeBytes), formatBytes(o.totalBytes),
    FIT_LABEL[o.fit], o.fit === 'partial' || o.fit === 'gpu' ? String(o.gpuLayers) : '',
    o.pplIncrease === null ? 'n/a' : o.pplIncrease.toFixed(4),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const right = new Set([2, 3, 4, 5, 7, 8]);
  const line = (r: string[]) => r.map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  const out = [machineLine(report.hardware, report), `Context: ${report.ctx} tokens.`, '', line(head), ...rows.map(line), ''];
  const r = report.recommended;
  out.push(r.type !== null
    ? `Recommended: ${r.type} (${r.fit === 'gpu' ? 'all layers on the GPU' : r.fit === 'partial' ? `${r.gpuLayers} layers on the GPU` : 'CPU'}).`
    : 'Recommended: nothing fits.');
  out.push(r.reason);
  for (const s of skipped) out.push(`(${s.type} not estimated: ${s.reason})`);
  out.push('PPL +: perplexity increase on 7B LLaMA (llama.cpp PR 1684); n/a: not measured.');
  return `${out.join('\n')}\n`;
}

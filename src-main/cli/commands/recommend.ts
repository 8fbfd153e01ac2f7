// `quantfit recommend <model> [--ctx N] [--ram SIZE] [--vram SIZE] [--unified] [--imatrix] [--json]`:
// per quant type the exact file size and the memory to run it, where it fits, and the pick.

import { parseCommandArgs, intOption } from '../args.ts';
import type { HardwareProfile } from '../../core/hardware/types.ts';
import { recommendModel } from '../../core/advisor/service.ts';
import type { Message } from '../../../src-shared/message.ts';
import { msg } from '../../../src-shared/messages/index.ts';
import { reasonsMessage } from '../../../src-shared/reasons.ts';
import { displayWidth, padDisplay, say } from '../locale.ts';
import { formatBytes, requireByteSize } from '../../core/advisor/sizes.ts';
import type { RecommendReport } from '../../core/advisor/types.ts';
import { DEFAULT_CTX } from '../../core/advisor/constants.ts';
import { UsageError, usageError } from '../args.ts';
import { errorMessage } from '../../core/errors.ts';
import { MODEL_ARG_OPTIONS, resolveModelArg } from '../model-arg.ts';
import { findFtype } from '../../core/quant/ftypes.ts';
import { ProgressPrinter } from '../progress.ts';
import { CLI_NUMBERS, hardwareJson, recommendationJson } from '../json-output.ts';
import { tmpdir } from 'node:os';

export const help = msg('help.recommend', { ctx: DEFAULT_CTX, model: msg('help.modelArg') });

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    args,
    {
      ctx: { type: 'string' }, ram: { type: 'string' }, vram: { type: 'string' },
      unified: { type: 'boolean' }, imatrix: { type: 'boolean' }, json: { type: 'boolean' }, ...MODEL_ARG_OPTIONS,
      measure: { type: 'string' }, text: { type: 'string' },
    },
    { min: 1, max: 1, names: 'quantfit recommend <model.gguf> [options]' },
  );
  const ctx = intOption(values.ctx, 'ctx', 1, 16 * 1024 * 1024);
  const size = (v: string | undefined, name: string) => {
    if (v === undefined) return undefined;
    try {
      return requireByteSize(v, `--${name}`);
    } catch (err) {
      throw new UsageError(errorMessage(err));
    }
  };
  const ramBytes = size(values.ram, 'ram');
  const vramBytes = size(values.vram, 'vram');
  if (ramBytes === 0) throw usageError('cli.ramZero');
  const model = await resolveModelArg(positionals[0]!, values);
  const report = await recommendModel(model.path, {
    ...(ramBytes !== undefined ? { ramBytes } : {}),
    ...(vramBytes !== undefined ? { vramBytes } : {}),
    ...(values.unified === true ? { unified: true } : {}),
    ...(ctx !== undefined ? { ctx } : {}),
    hasImatrix: values.imatrix === true,
  });
  const measured = values.measure === undefined ? report : await measureReport(report, model.path, values.measure, values.text);
  if (values.json) {
    const { skipped: _skipped, ...json } = measured;
    const shown = { ...json, hardware: hardwareJson(json.hardware), recommended: recommendationJson(json.recommended) };
    process.stdout.write(`${JSON.stringify(shown, null, 2)}\n`);
  } else {
    process.stdout.write(recommendTable(measured, report.skipped));
  }
  return 0;
}

/** The report with `--measure`'s types measured on the model (progress on stderr). */
async function measureReport<R extends RecommendReport>(report: R, modelPath: string, list: string, textPath: string | undefined): Promise<R> {
  const types = list.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const t of types) if (!findFtype(t)) throw usageError('cli.expected', { usage: `--measure TYPE,TYPE… (unknown type '${t}')` });
  const { measureTypes } = await import('../../core/engine/measure.ts');
  const { readCalibrationText } = await import('../../core/engine/text.ts');
  const { defaultCalibrationTextPath } = await import('../../core/engine/calibration.ts');
  const { text, file } = await readCalibrationText(textPath ?? defaultCalibrationTextPath());
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
  const progress = new ProgressPrinter(process.stderr, { stages: true });
  try {
    const measured = await measureTypes(modelPath, types, { text, textFile: file, workDir: tmpdir(), signal: controller.signal, onEvent: (e) => progress.onEvent(e) });
    progress.end();
    return { ...report, options: report.options.map((o) => (measured.has(o.type) ? { ...o, measured: measured.get(o.type)! } : o)) };
  } finally {
    progress.end();
    process.off('SIGINT', onSignal);
  }
}

function machineLine(hw: HardwareProfile, report: RecommendReport): Message {
  const { gpuBytes, cpuBytes, unified } = report.budget;
  const gpu = gpuBytes > 0 ? msg(unified ? 'cli.rec.unifiedUsable' : 'cli.rec.gpuUsable', { bytes: formatBytes(gpuBytes) }) : msg('cli.rec.noGpu');
  return msg(hw.source === 'override' ? 'cli.rec.machineOverride' : 'cli.rec.machine', { ram: formatBytes(cpuBytes), gpu });
}

function recommendedLine(r: RecommendReport['recommended']): Message {
  if (r.type === null) return msg('cli.rec.nothing');
  if (r.fit === 'gpu') return msg('cli.rec.recommendedGpu', { type: r.type });
  if (r.fit === 'partial') return msg('cli.rec.recommendedPartial', { type: r.type, layers: r.gpuLayers });
  return msg('cli.rec.recommendedCpu', { type: r.type });
}

const FIT_LABEL = { gpu: 'cli.rec.fit.gpu', partial: 'cli.rec.fit.partial', cpu: 'cli.rec.fit.cpu' } as const;

export function recommendTable(report: RecommendReport, skipped: readonly { type: string; message: Message }[] = []): string {
  const head = say(msg('cli.rec.head')).split('|');
  const rows = report.options.map((o) => [
    o.type === report.recommended.type ? '*' : '',
    o.requiresImatrix ? say(msg('cli.rec.imatrix', { type: o.type })) : o.type,
    formatBytes(o.fileBytes), formatBytes(o.kvCacheBytes), formatBytes(o.computeBytes), formatBytes(o.totalBytes),
    o.fit === 'none' ? '-' : say(msg(FIT_LABEL[o.fit])), o.fit === 'partial' || o.fit === 'gpu' ? String(o.gpuLayers) : '',
    o.measured ? say(msg('engine.rec.measured', { kld: o.measured.kld.toFixed(4), ppl: (100 * (o.measured.ppl / o.measured.pplReference - 1)).toFixed(2) }))
      : o.pplIncrease === null ? say(msg('cli.rec.notMeasured')) : o.pplIncrease.toFixed(4),
  ]);
  const widths = head.map((h, i) => Math.max(displayWidth(h), ...rows.map((r) => displayWidth(r[i]!))));
  const right = new Set([2, 3, 4, 5, 7, 8]);
  const cell = (c: string, i: number) => (right.has(i) ? ' '.repeat(Math.max(0, widths[i]! - displayWidth(c))) + c : padDisplay(c, widths[i]!));
  const line = (r: string[]) => r.map(cell).join('  ').trimEnd();
  const out = [say(machineLine(report.hardware, report)), say(msg('cli.rec.context', { ctx: report.ctx })), '', line(head), ...rows.map(line), ''];
  out.push(say(recommendedLine(report.recommended)));
  out.push(say(reasonsMessage(report.recommended.reasons, CLI_NUMBERS)));
  for (const s of skipped) out.push(say(msg('cli.rec.skipped', { type: s.type, reason: s.message })));
  out.push(say(msg('cli.rec.pplNote')));
  const measuredOn = report.options.find((o) => o.measured)?.measured;
  if (measuredOn) out.push(say(msg('engine.rec.measuredNote', { tokens: measuredOn.tokens })));
  return `${out.join('\n')}\n`;
}

// `quantfit fit <model.gguf>`: inspect, advise, quantize, write the Modelfile, upload, create and
// verify in one go — the core's runFitJob, with progress on stderr and a summary (or NDJSON) on stdout.

import { CancelledError, errorMessage } from '../../core/errors.ts';
import type { Message } from '../../../src-shared/message.ts';
import { msg } from '../../../src-shared/messages/index.ts';
import { say } from '../locale.ts';
import { formatBytes } from '../../core/advisor/sizes.ts';
import { runFitJob, type FitResult } from '../../core/jobs/fit.ts';
import { FTYPES, findFtype } from '../../core/quant/ftypes.ts';
import { intOption, parseCommandArgs, UsageError } from '../args.ts';
import { jsonEvents, withInterrupt } from '../ollama-output.ts';
import { recommendationJson } from '../json-output.ts';
import { ProgressPrinter } from '../progress.ts';
import { MODEL_ARG_OPTIONS } from '../model-arg.ts';

export const help = msg('help.fit', {
  someTypes: FTYPES.filter((f) => !f.aliasOf).map((f) => f.name).slice(0, 6).join(', '),
  model: msg('help.modelArg'),
});

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    args,
    {
      type: { type: 'string' },
      name: { type: 'string' },
      ctx: { type: 'string' },
      out: { type: 'string' },
      imatrix: { type: 'string' },
      'no-imatrix': { type: 'boolean' },
      'check-quality': { type: 'boolean' },
      threads: { type: 'string' },
      system: { type: 'string' },
      'go-template': { type: 'boolean' },
      'no-verify': { type: 'boolean' },
      force: { type: 'boolean' },
      'allow-requantize': { type: 'boolean' },
      'start-ollama': { type: 'boolean' },
      json: { type: 'boolean' },
      ...MODEL_ARG_OPTIONS,
    },
    { min: 1, max: 1, names: 'quantfit fit <model.gguf>' },
  );
  const type = values.type ?? 'auto';
  if (type.toLowerCase() !== 'auto' && !findFtype(type)) {
    throw new UsageError(`unknown quantization type '${type}' (auto, or one of ${FTYPES.map((f) => f.name).join(', ')}, or a numeric id)`);
  }
  if (values.name !== undefined && values.name.trim() === '') throw new UsageError('--name must not be empty');
  const contextLength = intOption(values.ctx, 'ctx', 1, 16 * 1024 * 1024);
  const threads = intOption(values.threads, 'threads', 1, 256);
  const json = values.json === true;
  const progress = new ProgressPrinter(process.stderr, { stages: true });

  let result: FitResult;
  try {
    result = await withInterrupt(async (signal) => {
      const onEvent = json ? jsonEvents : (e: Parameters<typeof jsonEvents>[0]) => progress.onEvent(e);
      return runFitJob(
        {
          // A reference (ollama:, hf:, modelscope:, a hub URL) is made local by the job's 'source' stage.
          modelPath: positionals[0]!,
          pull: values.pull === true,
          sourceFiles: values.file ?? null,
          type,
          contextLength: contextLength ?? null,
          outputDir: values.out ?? null,
          modelName: values.name ?? null,
          imatrixPath: values.imatrix ?? null,
          makeImatrix: values['no-imatrix'] !== true,
          checkQuality: values['check-quality'] === true,
          ...(threads !== undefined ? { threads } : {}),
          host: values.host ?? null,
          system: values.system ?? null,
          goTemplate: values['go-template'] === true,
          verify: values['no-verify'] !== true,
          force: values.force === true,
          allowRequantize: values['allow-requantize'] === true,
          startOllama: values['start-ollama'] === true,
        },
        { signal, onEvent },
      );
    });
  } catch (err) {
    progress.end();
    if (err instanceof CancelledError) {
      // The dispatcher would print a bare "cancelled"; this one says what was kept.
      process.stderr.write(`${say(msg('cli.errorLine', { error: errorMessage(err) }))}\n`);
      return 130;
    }
    throw err;
  }
  progress.end();

  const v = result.verify;
  if (json) {
    const line = {
      model: result.model,
      file: result.outputPath,
      sha256: result.sha256,
      verify: v ? { tokensPerSecond: v.tokensPerSecond, loadMs: v.loadMs, sizeBytes: v.sizeBytes, sizeVramBytes: v.sizeVramBytes, predictedBytes: v.predictedBytes } : null,
      verifyError: result.verifyError === null ? null : say(result.verifyError),
      verifyErrorMessage: result.verifyError,
      type: result.type,
      quantized: result.quantized,
      bytes: result.fileBytes,
      ctx: result.ctx,
      predictedBytes: result.predictedBytes,
      recommendation: result.recommendation ? recommendationJson(result.recommendation) : null,
      modelfile: result.modelfilePath,
      uploaded: result.uploaded,
      seconds: Math.round(result.elapsedMs) / 1000,
      warnings: result.warnings.map((w) => say(w)),
      warningMessages: result.warnings,
      imatrix: result.imatrixPath,
      quality: result.quality,
    };
    process.stdout.write(`${JSON.stringify(line)}\n`);
  } else {
    const line = (m: Message) => process.stdout.write(`${say(m)}\n`);
    const model = result.model ?? '';
    const seconds = (result.elapsedMs / 1000).toFixed(1);
    line(msg(result.quantized ? 'fit.cli.quantized' : 'fit.cli.asIs', { model, type: result.type, seconds }));
    line(msg('fit.cli.file', { path: result.outputPath, size: formatBytes(result.fileBytes) }));
    line(msg('fit.cli.sha256', { sha256: result.sha256 }));
    if (result.modelfilePath) line(msg('fit.cli.modelfile', { path: result.modelfilePath }));
    if (v) {
      const speed = v.tokensPerSecond !== null ? msg('fit.cli.tokensPerSecond', { value: v.tokensPerSecond.toFixed(1) }) : msg('fit.cli.unknown');
      line(msg('fit.cli.speed', { speed, loadMs: Math.round(v.loadMs) }));
      const measured = v.sizeBytes !== null ? msg('fit.cli.measured', { size: formatBytes(v.sizeBytes), gpu: formatBytes(v.sizeVramBytes ?? 0) }) : msg('fit.cli.notReported');
      const predicted = result.predictedBytes === null ? msg('fit.cli.notPredicted')
        : result.ctx !== null ? msg('fit.cli.predictedAt', { size: formatBytes(result.predictedBytes), ctx: result.ctx })
        : msg('common.text', { text: formatBytes(result.predictedBytes) });
      const diff = v.predictionErrorPercent !== null ? ` (${v.predictionErrorPercent >= 0 ? '+' : ''}${v.predictionErrorPercent.toFixed(1)}%)` : '';
      line(msg('fit.cli.memory', { measured, predicted, diff }));
    }
    if (result.imatrixPath) line(msg('engine.fit.cli.imatrix', { path: result.imatrixPath }));
    const q = result.quality;
    if (q) {
      line(msg('engine.fit.cli.quality', {
        kld: q.kld.mean.toFixed(4), p99: q.kld.p99.toFixed(3), same: `${(100 * q.sameTopP).toFixed(1)}%`,
        ppl: q.candidate.ppl.toFixed(3), reference: q.reference.ppl.toFixed(3), tokens: q.tokens,
      }));
    }
    line(msg('fit.cli.run', { model }));
  }
  if (result.verifyError !== null) {
    const error = msg('fit.cli.verifyFailed', { model: result.model ?? '', error: result.verifyError });
    process.stderr.write(`${say(msg('cli.errorLine', { error }))}\n`);
    return 1;
  }
  return 0;
}


// `quantfit imatrix MODEL -o OUT.gguf`: the importance matrix llama-imatrix makes, on real llama.cpp.

import { intOption, parseCommandArgs, usageError } from '../args.ts';
import { ProgressPrinter } from '../progress.ts';
import { quantfitError } from '../../core/errors.ts';
import { pathExists } from '../../core/fs-util.ts';
import { DEFAULT_IMATRIX_CTX, makeImatrix } from '../../core/engine/imatrix.ts';
import { readCalibrationText } from '../../core/engine/text.ts';
import { defaultCalibrationTextPath } from '../../core/engine/calibration.ts';
import { msg } from '../../../src-shared/messages/index.ts';
import { say } from '../locale.ts';

export const help = msg('help.imatrix', { ctx: DEFAULT_IMATRIX_CTX });

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    args,
    {
      output: { type: 'string', short: 'o' },
      text: { type: 'string' },
      ctx: { type: 'string' },
      chunks: { type: 'string' },
      threads: { type: 'string' },
      'process-output': { type: 'boolean' },
      force: { type: 'boolean' },
      json: { type: 'boolean' },
    },
    { min: 1, max: 1, names: 'quantfit imatrix <model.gguf> -o <imatrix.gguf>' },
  );
  const model = positionals[0]!;
  const output = values.output;
  if (output === undefined) throw usageError('cli.expected', { usage: 'quantfit imatrix <model.gguf> -o <imatrix.gguf>' });
  const ctx = intOption(values.ctx, 'ctx', 8, 1 << 20);
  const chunks = intOption(values.chunks, 'chunks', 1, 1 << 20);
  const threads = intOption(values.threads, 'threads', 1, 1024);
  if (values.force !== true && (await pathExists(output))) throw quantfitError('engine.outputExists', {}, { file: output });
  const { text, file } = await readCalibrationText(values.text ?? defaultCalibrationTextPath());

  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const progress = new ProgressPrinter(process.stderr);
  try {
    const data = await makeImatrix(model, output, {
      text, textFile: file, ctx, chunks, threads, processOutput: values['process-output'] === true,
      signal: controller.signal, onEvent: (e) => progress.onEvent(e),
    });
    progress.end();
    const summary = { out: output, entries: data.entries.size, chunks: data.chunkCount, chunkSize: data.chunkSize };
    process.stdout.write(values.json ? `${JSON.stringify(summary)}\n` : `${say(msg('engine.imatrix.done', { file: output, entries: summary.entries, chunks: summary.chunks, ctx: summary.chunkSize }))}\n`);
    return 0;
  } finally {
    progress.end();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

// `quantfit imatrix MODEL -o OUT.gguf`: the importance matrix llama-imatrix makes, on real llama.cpp.

import { parseCommandArgs, usageError } from '../args.ts';
import { ENGINE_RUN_OPTIONS, engineRunNumbers, runCancellable } from '../engine-run.ts';
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
    { ...ENGINE_RUN_OPTIONS, output: { type: 'string', short: 'o' }, 'process-output': { type: 'boolean' }, force: { type: 'boolean' } },
    { min: 1, max: 1, names: 'quantfit imatrix <model> -o <imatrix.gguf>' },
  );
  const model = positionals[0]!;
  const output = values.output;
  if (output === undefined) throw usageError('cli.expected', { usage: 'quantfit imatrix <model> -o <imatrix.gguf>' });
  const { ctx, chunks, threads } = engineRunNumbers(values);
  if (values.force !== true && (await pathExists(output))) throw quantfitError('engine.outputExists', {}, { file: output });
  const { text, file } = await readCalibrationText(values.text ?? defaultCalibrationTextPath());

  const data = await runCancellable((run) => makeImatrix(model, output, {
    text, textFile: file, ctx, chunks, threads, processOutput: values['process-output'] === true, ...run,
  }));
  const summary = { out: output, entries: data.entries.size, chunks: data.chunkCount, chunkSize: data.chunkSize };
  process.stdout.write(values.json ? `${JSON.stringify(summary)}\n` : `${say(msg('engine.imatrix.done', { file: output, entries: summary.entries, chunks: summary.chunks, ctx: summary.chunkSize }))}\n`);
  return 0;
}

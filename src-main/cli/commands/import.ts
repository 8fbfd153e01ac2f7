// `quantfit import <file.gguf> --name NAME`: register an existing GGUF with Ollama (hash, Modelfile,
// upload, create, verify).

import { readFile } from 'node:fs/promises';
import { quantfitError, reasonOf } from '../../core/errors.ts';
import type { Message } from '../../../src-shared/message.ts';
import { msg } from '../../../src-shared/messages/index.ts';
import { say } from '../locale.ts';
import { registerGguf } from '../../core/ollama/register.ts';
import { verifySummary } from '../../core/ollama/verify.ts';
import { intOption, parseCommandArgs, UsageError } from '../args.ts';
import { HumanProgress, jsonEvents, withInterrupt } from '../ollama-output.ts';
import { templateJson } from '../json-output.ts';

export const help = msg('help.import');

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    args,
    {
      name: { type: 'string' },
      host: { type: 'string' },
      ctx: { type: 'string' },
      system: { type: 'string' },
      template: { type: 'string' },
      'go-template': { type: 'boolean' },
      sha256: { type: 'string' },
      modelfile: { type: 'string' },
      'predicted-bytes': { type: 'string' },
      force: { type: 'boolean' },
      'start-ollama': { type: 'boolean' },
      'no-verify': { type: 'boolean' },
      json: { type: 'boolean' },
    },
    { min: 1, max: 1, names: 'quantfit import <file.gguf> --name NAME' },
  );
  if (values.name === undefined || values.name.trim() === '') throw new UsageError('--name is required (e.g. --name mymodel:q4_k_m)');
  const numCtx = intOption(values.ctx, 'ctx', 1, 16 * 1024 * 1024);
  const predicted = values['predicted-bytes'];
  if (predicted !== undefined && !/^\d+$/.test(predicted)) throw new UsageError(`--predicted-bytes must be a whole number, got '${predicted}'`);
  if (values.sha256 !== undefined && !/^[0-9a-fA-F]{64}$/.test(values.sha256)) throw new UsageError('--sha256 must be 64 hex digits');
  let template: string | undefined;
  if (values.template !== undefined) {
    try {
      template = await readFile(values.template, 'utf8');
    } catch (err) {
      throw quantfitError('import.cli.cannotReadTemplate', { reason: reasonOf(err) }, { file: values.template }, err);
    }
  }

  const json = values.json === true;
  const human = new HumanProgress(process.stderr);
  const result = await withInterrupt((signal) =>
    registerGguf(
      {
        ggufPath: positionals[0]!,
        name: values.name!,
        host: values.host,
        numCtx,
        system: values.system,
        template,
        goTemplate: values['go-template'] === true,
        sha256: values.sha256?.toLowerCase(),
        modelfilePath: values.modelfile,
        force: values.force === true,
        startServer: values['start-ollama'] === true,
        verify: values['no-verify'] !== true,
        predictedBytes: predicted !== undefined ? Number(predicted) : undefined,
      },
      { signal, onEvent: json ? jsonEvents : (e) => human.onEvent(e) },
    ),
  );
  human.endLine();

  const v = result.verify;
  if (json) {
    const line = {
      model: result.model,
      file: result.file,
      sha256: result.sha256,
      verify: v ? { tokensPerSecond: v.tokensPerSecond, loadMs: v.loadMs, sizeBytes: v.sizeBytes, sizeVramBytes: v.sizeVramBytes, predictedBytes: v.predictedBytes } : null,
      verifyError: result.verifyError === null ? null : say(result.verifyError),
      verifyErrorMessage: result.verifyError,
      uploaded: result.uploaded,
      modelfile: result.modelfilePath,
      template: templateJson(result.template),
      stop: result.stop,
      warnings: result.warnings.map((w) => say(w)),
      warningMessages: result.warnings,
    };
    process.stdout.write(`${JSON.stringify(line)}\n`);
  } else {
    const line = (m: Message) => process.stdout.write(`${say(m)}\n`);
    line(msg('import.cli.registered', { model: result.model, path: result.file }));
    line(msg(result.uploaded ? 'import.cli.sha256' : 'import.cli.sha256Had', { sha256: result.sha256 }));
    if (result.modelfilePath) line(msg('import.cli.modelfile', { path: result.modelfilePath }));
    if (v) line(msg('import.cli.verify', { summary: verifySummary(v) }));
    line(msg('import.cli.run', { model: result.model }));
  }
  if (result.verifyError !== null) {
    const error = msg('fit.cli.verifyFailed', { model: result.model, error: result.verifyError });
    process.stderr.write(`${say(msg('cli.errorLine', { error }))}\n`);
    return 1;
  }
  return 0;
}

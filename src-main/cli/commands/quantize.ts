// `quantfit quantize <in> <out> <TYPE>`: llama-quantize's output, byte for byte, from TypeScript.

import { intOption, parseCommandArgs, usageError } from '../args.ts';
import { msg } from '../../../src-shared/messages/index.ts';
import { say } from '../locale.ts';
import { ProgressPrinter } from '../progress.ts';
import { errorMessage, quantfitError, reasonOf } from '../../core/errors.ts';
import { dirname, resolve } from 'node:path';
import { FTYPES, findFtype } from '../../core/quant/ftypes.ts';
import { parseGgmlTypeName, parseKvOverride, parseTensorTypeOption, type KvOverride, type QuantizeOptions, type TensorTypeOverride } from '../../core/quant/policy.ts';
import { assertNotSameFile, quantizeFile } from '../../core/quant/pipeline.ts';
import { isModelFolder } from '../../core/convert/model.ts';
import { imatrixKvOverrides, loadImatrix } from '../../core/imatrix/index.ts';
import { makeFolders, pathExists, type MadeFolders } from '../../core/fs-util.ts';
import { MODEL_ARG_OPTIONS, resolveModelArg } from '../model-arg.ts';

const typeList = FTYPES.map((f) => f.name).join(', ');
/** A folder to F16/BF16/F32 is what the converter itself writes, not a requantization. */
const FLOAT_OUTTYPES: Readonly<Record<string, 'f16' | 'bf16' | 'f32'>> = { F16: 'f16', BF16: 'bf16', F32: 'f32' };

export const help = msg('help.quantize', { types: typeList, model: msg('help.modelArg') });

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    args,
    {
      threads: { type: 'string' },
      pure: { type: 'boolean' },
      'output-tensor-type': { type: 'string' },
      'token-embedding-type': { type: 'string' },
      'tensor-type': { type: 'string', multiple: true },
      'leave-output-tensor': { type: 'boolean' },
      'allow-requantize': { type: 'boolean' },
      'override-kv': { type: 'string', multiple: true },
      imatrix: { type: 'string' },
      'include-weights': { type: 'string', multiple: true },
      'exclude-weights': { type: 'string', multiple: true },
      force: { type: 'boolean' },
      json: { type: 'boolean' },
      ...MODEL_ARG_OPTIONS,
    },
    { min: 3, max: 3, names: 'quantfit quantize <in.gguf> <out.gguf> <TYPE>' },
  );
  const [modelArg, output, typeArg] = positionals as [string, string, string];
  const ftype = findFtype(typeArg);
  if (!ftype) throw usageError('cli.q.unknownType', { type: typeArg, types: typeList });
  const threads = intOption(values.threads, 'threads', 1, 256);

  const ggmlType = (value: string | undefined, option: string): number | undefined => {
    if (value === undefined) return undefined;
    const t = parseGgmlTypeName(value);
    if (t === undefined) throw usageError('cli.q.unknownGgmlType', { option: `--${option}`, value });
    return t;
  };
  const asUsage = <T>(f: () => T, option: string): T => {
    try {
      return f();
    } catch (err) {
      throw usageError('cli.q.badOption', { option: `--${option}`, error: errorMessage(err) });
    }
  };
  const tensorTypes: TensorTypeOverride[] = (values['tensor-type'] ?? []).map((s) => asUsage(() => parseTensorTypeOption(s), 'tensor-type'));
  const overrideKv: KvOverride[] = (values['override-kv'] ?? []).map((s) => asUsage(() => parseKvOverride(s), 'override-kv'));
  const include = values['include-weights'] ?? [];
  const exclude = values['exclude-weights'] ?? [];
  if (include.length > 0 && exclude.length > 0) throw usageError('imatrix.includeAndExclude');
  if ((include.length > 0 || exclude.length > 0) && values.imatrix === undefined) throw usageError('cli.q.filterNeedsImatrix');
  // llama-quantize records the matrix after the user's overrides: file, dataset, entry and chunk counts.
  const imatrix = values.imatrix === undefined ? undefined : await loadImatrix(values.imatrix, { include, exclude });
  if (imatrix) overrideKv.push(...imatrixKvOverrides(imatrix));
  const options: QuantizeOptions = {
    ftype,
    pure: values.pure === true,
    outputTensorType: ggmlType(values['output-tensor-type'], 'output-tensor-type'),
    tokenEmbeddingType: ggmlType(values['token-embedding-type'], 'token-embedding-type'),
    tensorTypes,
    leaveOutputTensor: values['leave-output-tensor'] === true,
    allowRequantize: values['allow-requantize'] === true,
    overrideKv,
    ...(imatrix ? { imatrix: imatrix.entries } : {}),
  };

  const model = await resolveModelArg(modelArg, values);
  const input = model.path;
  // A hub snapshot folder is named by its commit: the model is named after its repo, as a local copy would be.
  const nameFrom = model.origin.type === 'hub' && model.kind === 'hf-folder' ? { nameFrom: model.stem } : {};
  await assertNotSameFile(input, output);
  if (values.force !== true && (await pathExists(output))) {
    throw quantfitError('cli.q.outputExists', {}, { file: output });
  }
  // As fit's --out: a missing folder is made, and removed again if no output comes of it.
  const made = await makeOutputFolders(dirname(resolve(output)));

  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const progress = new ProgressPrinter(process.stderr);
  let finished = false;
  try {
    const run = { threads, signal: controller.signal, onEvent: (e: Parameters<typeof progress.onEvent>[0]) => progress.onEvent(e) };
    const floatOut = FLOAT_OUTTYPES[ftype.name];
    // The converter (and its tokenizer libraries) loads only for a folder.
    const folder = (await isModelFolder(input)) ? await import('../../core/convert/write.ts') : null;
    const result = folder === null ? await quantizeFile(input, output, options, run)
      : floatOut ? await folder.convertFolder(input, output, { outtype: floatOut, signal: run.signal, onEvent: run.onEvent, ...nameFrom })
      : await folder.quantizeFolder(input, output, options, { ...run, ...nameFrom });
    finished = true;
    progress.end();
    const summary = { out: result.out, bytes: result.bytes, sha256: result.sha256, seconds: Math.round(result.seconds * 1000) / 1000, tensorTypes: result.tensorTypes };
    if (values.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    else {
      const types = Object.entries(result.tensorTypes).map(([t, n]) => `${n} ${t}`).join(', ');
      process.stdout.write(`${say(msg('cli.q.done', { out: result.out, type: ftype.name, bytes: result.bytes, seconds: summary.seconds, types }))}\nsha256 ${result.sha256}\n`);
    }
    return 0;
  } finally {
    progress.end();
    if (!finished) await made?.undo();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}


async function makeOutputFolders(dir: string): Promise<MadeFolders | null> {
  const made = await makeFolders(dir).catch((err: unknown) => {
    throw quantfitError('fit.error.makeFolder', { reason: reasonOf(err) }, { file: dir }, err);
  });
  if (made !== null) process.stderr.write(`quantfit: ${say(msg('fit.quantize.madeFolder', { path: dir }))}\n`);
  return made;
}

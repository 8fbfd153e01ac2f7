// `quantfit rm NAME`: delete a model from Ollama.

import { quantfitError } from '../../core/errors.ts';
import { msg } from '../../../src-shared/messages/index.ts';
import { say } from '../locale.ts';
import { OllamaClient } from '../../core/ollama/client.ts';
import { resolveOllamaHost } from '../../core/ollama/host.ts';
import { requireModelName } from '../../core/ollama/names.ts';
import { requireServer } from '../../core/ollama/register.ts';
import { parseCommandArgs } from '../args.ts';

export const help = msg('cli.help.rm');

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, { host: { type: 'string' }, json: { type: 'boolean' } }, { min: 1, max: 1, names: 'quantfit rm NAME' });
  const name = positionals[0]!;
  requireModelName(name);
  const client = new OllamaClient(resolveOllamaHost({ explicit: values.host }));
  await requireServer(client);
  const existing = await client.findModel(name);
  if (!existing) throw quantfitError('cli.rm.noModel', { name });
  await client.deleteModel(existing.name);
  if (values.json) process.stdout.write(`${JSON.stringify({ deleted: existing.name })}\n`);
  else process.stdout.write(`${say(msg('cli.rm.deleted', { name: existing.name }))}\n`);
  return 0;
}

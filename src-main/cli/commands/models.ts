// `quantfit models`: the models Ollama has, and which are loaded.

import { OllamaClient } from '../../core/ollama/client.ts';
import { resolveOllamaHost } from '../../core/ollama/host.ts';
import { requireServer } from '../../core/ollama/register.ts';
import { parseCommandArgs } from '../args.ts';
import { msg } from '../../../src-shared/messages/index.ts';
import { displayWidth, padDisplay, say } from '../locale.ts';

export const help = msg('cli.help.models');

function size(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(1)} GB`;
  if (bytes >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(1)} MB`;
  return `${(bytes / 1024).toFixed(1)} KB`;
}

export async function run(args: string[]): Promise<number> {
  const { values } = parseCommandArgs(args, { host: { type: 'string' }, 'start-ollama': { type: 'boolean' }, json: { type: 'boolean' } }, { min: 0, max: 0, names: 'quantfit models [--host URL] [--start-ollama] [--json]' });
  const client = new OllamaClient(resolveOllamaHost({ explicit: values.host }));
  await requireServer(client, undefined, {
    start: values['start-ollama'] === true,
    onEvent: (e) => {
      if (e.type === 'log') process.stderr.write(`${typeof e.message === 'string' ? e.message : say(e.message)}\n`);
    },
  });
  const [models, running] = await Promise.all([client.listModels(), client.runningModels()]);
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ models, running })}\n`);
    return 0;
  }
  if (models.length === 0) {
    process.stdout.write(`${say(msg('cli.models.none', { host: client.host.url }))}\n`);
    return 0;
  }
  const loaded = new Map(running.map((r) => [r.name.toLowerCase(), r]));
  const rows = models.map((m) => {
    const r = loaded.get(m.name.toLowerCase());
    return [
      m.name,
      size(m.sizeBytes),
      m.family ?? '-',
      m.parameterSize ?? '-',
      m.quantization ?? '-',
      m.modifiedAt.slice(0, 19).replace('T', ' '),
      r ? (r.placement === 'gpu' ? '100% GPU' : r.placement === 'cpu' ? '100% CPU' : `${100 - r.gpuPercent}%/${r.gpuPercent}% CPU/GPU`) : '',
    ];
  });
  const header = say(msg('cli.models.head')).split('|');
  const widths = header.map((h, i) => Math.max(displayWidth(h), ...rows.map((r) => displayWidth(r[i]!))));
  for (const r of [header, ...rows]) process.stdout.write(`${r.map((c, i) => padDisplay(c, widths[i]!)).join('  ').trimEnd()}\n`);
  return 0;
}

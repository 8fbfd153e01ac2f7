// The `quantfit` command line: dispatches to one module per command over the core services.
// Error contract: expected failures exit 1 with one line `quantfit: error: …` on stderr (a stack
// trace only with --debug); usage errors exit 2. Messages are in English, or in Simplified Chinese
// when --lang zh-CN or LC_ALL/LC_MESSAGES/LANG says zh.

import { CancelledError, errorMessage } from '../core/errors.ts';
import { LOCALES, type Locale } from '../../src-shared/message.ts';
import { msg, type MessageCode } from '../../src-shared/messages/index.ts';
import { UsageError, usageError, type CommandModule } from './args.ts';
import { localeFromEnv, say, setCliLocale } from './locale.ts';

/** Commands load lazily so that `quantfit inspect` never pays for the quantizer or Electron. */
const COMMANDS: Record<string, { summary: MessageCode; load: () => Promise<CommandModule> }> = {
  inspect: { summary: 'cli.command.inspect', load: () => import('./commands/inspect.ts') },
  quantize: { summary: 'cli.command.quantize', load: () => import('./commands/quantize.ts') },
  hardware: { summary: 'cli.command.hardware', load: () => import('./commands/hardware.ts') },
  recommend: { summary: 'cli.command.recommend', load: () => import('./commands/recommend.ts') },
  eval: { summary: 'cli.command.eval', load: () => import('./commands/eval.ts') },
  imatrix: { summary: 'engine.command.imatrix', load: () => import('./commands/imatrix.ts') },
  fit: { summary: 'cli.command.fit', load: () => import('./commands/fit.ts') },
  import: { summary: 'cli.command.import', load: () => import('./commands/import.ts') },
  models: { summary: 'cli.command.models', load: () => import('./commands/models.ts') },
  rm: { summary: 'cli.command.rm', load: () => import('./commands/rm.ts') },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${say(msg(c.summary))}`);
  return [say(msg('cli.usage.title')), '', say(msg('cli.usage.line')), '', say(msg('cli.usage.commands')), ...lines, '', say(msg('cli.usage.global')), ''].join('\n');
}

/** Takes the global flags (--debug, --lang) out of argv. */
function globalFlags(argv: string[]): { debug: boolean; locale: Locale; args: string[] } {
  let locale = localeFromEnv(process.env);
  const args: string[] = [];
  let debug = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--debug') debug = true;
    else if (a === '--lang' || a.startsWith('--lang=')) {
      const value = a === '--lang' ? argv[++i] : a.slice('--lang='.length);
      const chosen = LOCALES.find((l) => l.toLowerCase() === value?.toLowerCase());
      if (!chosen) throw usageError('cli.badLang', { value: value ?? '', choices: LOCALES.join(', ') });
      locale = chosen;
    } else args.push(a);
  }
  return { debug, locale, args };
}

export async function main(argv: string[]): Promise<number> {
  let debug = false;
  try {
    const flags = globalFlags(argv);
    debug = flags.debug;
    setCliLocale(flags.locale);
    const args = flags.args;
    const name = args[0];
    if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
      process.stdout.write(usage());
      return 0;
    }
    const command = COMMANDS[name];
    if (!command) throw usageError('cli.unknownCommand', { command: name });
    const mod = await command.load();
    const rest = args.slice(1);
    if (rest.includes('--help') || rest.includes('-h')) {
      process.stdout.write(typeof mod.help === 'string' ? mod.help : say(mod.help));
      return 0;
    }
    return await mod.run(rest);
  } catch (err) {
    // A cancelled command says only that; what it kept it printed itself.
    const error = err instanceof CancelledError ? msg('common.cancelled') : errorMessage(err);
    process.stderr.write(`${say(msg('cli.errorLine', { error }))}\n`);
    if (err instanceof UsageError) return 2;
    if (err instanceof CancelledError) return 130;
    if (debug && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    return 1;
  }
}

// The `quantfit` command line: dispatches to one module per command over the core services.
// Error contract: expected failures exit 1 with one line `quantfit: error: …` on stderr (a stack
// trace only with --debug); usage errors exit 2.

import { describeError, CancelledError } from '../core/errors.ts';
import { UsageError, type CommandModule } from './args.ts';

/** Commands load lazily so that `quantfit inspect` never pays for the quantizer or Electron. */
const COMMANDS: Record<string, { summary: string; load: () => Promise<CommandModule> }> = {
  inspect: { summary: 'show a GGUF file\'s metadata and tensors', load: () => import('./commands/inspect.ts') },
  quantize: { summary: 'quantize a GGUF exactly as llama-quantize does', load: () => import('./commands/quantize.ts') },
  hardware: { summary: 'show what this machine has (RAM, GPUs, CPU, disk)', load: () => import('./commands/hardware.ts') },
  recommend: { summary: 'predict size and memory per quant type and recommend one', load: () => import('./commands/recommend.ts') },
  eval: { summary: 'KL divergence and perplexity of a quantized model against its original (llama.cpp)', load: () => import('./commands/eval.ts') },
  fit: { summary: 'quantize, register with Ollama and verify, in one go', load: () => import('./commands/fit.ts') },
  import: { summary: 'register an existing GGUF with Ollama', load: () => import('./commands/import.ts') },
  models: { summary: 'list the models Ollama has', load: () => import('./commands/models.ts') },
  rm: { summary: 'delete a model from Ollama', load: () => import('./commands/rm.ts') },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return [
    'quantfit — fit a local LLM to your machine',
    '',
    'Usage: quantfit <command> [options]   (quantfit <command> --help for its options)',
    '',
    'Commands:',
    ...lines,
    '',
    'Every command accepts --debug (stack traces on errors).',
    '',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const debug = argv.includes('--debug');
  const args = argv.filter((a) => a !== '--debug');
  const name = args[0];
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`quantfit: error: unknown command '${name}' (see quantfit --help)\n`);
    return 2;
  }
  try {
    const mod = await command.load();
    const rest = args.slice(1);
    if (rest.includes('--help') || rest.includes('-h')) {
      process.stdout.write(mod.help);
      return 0;
    }
    return await mod.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`quantfit: error: ${err.message}\n`);
      return 2;
    }
    if (err instanceof CancelledError) {
      process.stderr.write('quantfit: error: cancelled\n');
      return 130;
    }
    process.stderr.write(`quantfit: error: ${describeError(err)}\n`);
    if (debug && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    return 1;
  }
}

// Shared argument handling for the CLI commands, on node:util parseArgs.

import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Message, MessageParams } from '../../src-shared/message.ts';
import { formatMessage, msg, type MessageCode } from '../../src-shared/messages/index.ts';
import { QuantfitError } from '../core/errors.ts';

/** Bad command-line usage: exit 2. Given a Message, its English text comes from the catalogue. */
export class UsageError extends QuantfitError {
  constructor(message: string | Message) {
    if (typeof message === 'string') super(message);
    else super(formatMessage(message, 'en'), {}, { code: message.code, params: message.params ?? {} });
    this.name = 'UsageError';
  }
}

export function usageError(code: MessageCode, params?: MessageParams): UsageError {
  return new UsageError(msg(code, params));
}

/** node:util parseArgs's errors, as messages (its own text is English only). */
function parseArgsMessage(err: unknown): Message {
  const text = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: string }).code;
  const quoted = /'([^']+)'/.exec(text)?.[1] ?? '';
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return msg('cli.unknownOption', { option: quoted });
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const option = quoted.split(' ')[0]!;
    return msg(/argument missing/.test(text) ? 'cli.optionNeedsValue' : 'cli.optionTakesNoValue', { option });
  }
  return msg('common.text', { text });
}

export interface CommandModule {
  /** Full help text printed for `quantfit <command> --help` (a Message: in the CLI's language). */
  readonly help: string | Message;
  /** Runs the command; returns the exit code. Throws QuantfitError (exit 1) or UsageError (exit 2). */
  run(args: string[]): Promise<number>;
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** parseArgs in strict mode, turning its errors into UsageError. */
export function parseCommandArgs<O extends Options>(args: string[], options: O, positionals: { min: number; max: number; names: string }) {
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(parseArgsMessage(err));
  }
  const n = parsed.positionals.length;
  if (n < positionals.min || n > positionals.max) {
    throw usageError('cli.expected', { usage: positionals.names });
  }
  return parsed;
}

/** Parses a positive integer option, or throws UsageError naming the option. */
export function intOption(value: string | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw usageError('cli.notWholeNumber', { option: `--${name}`, value });
  const n = Number(value);
  if (n < min || n > max) throw usageError('cli.outOfRange', { option: `--${name}`, min, max, value: n });
  return n;
}

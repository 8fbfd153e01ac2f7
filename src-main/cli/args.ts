// Shared argument handling for the CLI commands, on node:util parseArgs.

import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Bad command-line usage: exit 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface CommandModule {
  /** Full help text printed for `quantfit <command> --help`. */
  readonly help: string;
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
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const n = parsed.positionals.length;
  if (n < positionals.min || n > positionals.max) {
    throw new UsageError(`expected ${positionals.names}`);
  }
  return parsed;
}

/** Parses a positive integer option, or throws UsageError naming the option. */
export function intOption(value: string | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`--${name} must be a whole number, got '${value}'`);
  const n = Number(value);
  if (n < min || n > max) throw new UsageError(`--${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

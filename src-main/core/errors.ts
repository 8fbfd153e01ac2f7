// Errors that carry what failed and where, so the CLI and the UI can say it in one line.
import type { MessageParams } from '../../src-shared/message.ts';

export interface ErrorLocation {
  /** The file the error is about. */
  file?: string;
  /** Byte offset in the file, when known. */
  offset?: number | bigint;
  /** Metadata key, when the error is about one. */
  key?: string;
  /** Tensor name, when the error is about one. */
  tensor?: string;
}

/** An expected failure with a message meant for the user (bad input, refused operation, I/O). */
export class QuantfitError extends Error {
  readonly location: ErrorLocation;
  /** The message as a code with parameters (src-shared/messages), for rendering in the reader's language. */
  readonly code: string | undefined;
  readonly params: MessageParams | undefined;
  constructor(
    message: string,
    location: ErrorLocation = {},
    options?: { cause?: unknown; code?: string; params?: MessageParams },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'QuantfitError';
    this.location = location;
    this.code = options?.code;
    this.params = options?.params;
  }
}

/** The work was cancelled through its AbortSignal. */
export class CancelledError extends Error {
  constructor(message = 'cancelled') {
    super(message);
    this.name = 'CancelledError';
  }
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CancelledError();
}

/** One line: "<file>: <message> (at offset N, key K, tensor T)". */
export function describeError(err: unknown): string {
  if (err instanceof QuantfitError) {
    const { file, offset, key, tensor } = err.location;
    const where: string[] = [];
    if (offset !== undefined) where.push(`at offset ${offset}`);
    if (key !== undefined) where.push(`key '${key}'`);
    if (tensor !== undefined) where.push(`tensor '${tensor}'`);
    const suffix = where.length > 0 ? ` (${where.join(', ')})` : '';
    return `${file !== undefined ? `${file}: ` : ''}${err.message}${suffix}`;
  }
  if (err instanceof Error) return err.message;
  return String(err);
}

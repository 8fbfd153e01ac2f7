// Errors that carry what failed and where, so the CLI and the UI can say it in one line, in the
// reader's language: each error is a message code with parameters (src-shared/messages) whose
// English text is also the Error's own message.
import type { Locale, Message, MessageParams } from '../../src-shared/message.ts';
import { formatMessage, hasMessage, msg, type MessageCode } from '../../src-shared/messages/index.ts';

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

/** A QuantfitError whose English text comes from the catalogue: the code is the one source of truth. */
export function quantfitError(
  code: MessageCode,
  params: MessageParams = {},
  location: ErrorLocation = {},
  cause?: unknown,
): QuantfitError {
  return errorFrom({ code, params }, location, cause);
}

/** A QuantfitError for a message built elsewhere (a worker's reply, a reason passed up). */
export function errorFrom(message: Message, location: ErrorLocation = {}, cause?: unknown): QuantfitError {
  return new QuantfitError(formatMessage(message, 'en'), location, { cause, code: message.code, params: message.params ?? {} });
}

/** The work was cancelled through its AbortSignal. `code`/`params` say what it kept, when anything. */
export class CancelledError extends Error {
  readonly code: string | undefined;
  readonly params: MessageParams | undefined;
  constructor(message = 'cancelled', options?: { code?: string; params?: MessageParams }) {
    super(message);
    this.name = 'CancelledError';
    this.code = options?.code ?? (message === 'cancelled' ? 'common.cancelled' : undefined);
    this.params = options?.params;
  }
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CancelledError();
}

/** An error as a Message: its code, where it happened, or the OS's file error; other errors as their text. */
export function errorMessage(err: unknown): Message {
  if (err instanceof QuantfitError) return locate(codedMessage(err) ?? msg('common.text', { text: err.message }), err.location);
  if (err instanceof CancelledError) return codedMessage(err) ?? msg('common.text', { text: err.message });
  const system = systemErrorMessage(err);
  if (system) return system;
  return msg('common.text', { text: err instanceof Error ? err.message : String(err) });
}

/** Why an operation failed, without the path (for an error that names its file already): the OS's reason, or the error itself. */
export function reasonOf(err: unknown): Message {
  const { code } = (err ?? {}) as NodeJS.ErrnoException;
  return code !== undefined && hasMessage(`common.fs.${code}`) ? { code: `common.fs.${code}` } : errorMessage(err);
}

/** One line in the reader's language: "<file>: <message> (at offset N, key K, tensor T)". */
export function describeError(err: unknown, locale: Locale = 'en'): string {
  return formatMessage(errorMessage(err), locale);
}

function codedMessage(err: { code: string | undefined; params: MessageParams | undefined }): Message | null {
  if (err.code === undefined || !hasMessage(err.code)) return null;
  return err.params === undefined ? { code: err.code } : { code: err.code, params: err.params };
}

function locate(message: Message, { file, offset, key, tensor }: ErrorLocation): Message {
  const where: Message[] = [];
  if (offset !== undefined) where.push(msg('common.where.offset', { offset: String(offset) }));
  if (key !== undefined) where.push(msg('common.where.key', { key }));
  if (tensor !== undefined) where.push(msg('common.where.tensor', { tensor }));
  const joined = where.reduce<Message | null>((first, second) => (first ? msg('common.where.and', { first, second }) : second), null);
  const placed = joined ? msg('common.error.at', { error: message, where: joined }) : message;
  return file !== undefined ? msg('common.error.inFile', { file, error: placed }) : placed;
}

/** Node's file errors (ENOENT, EACCES …) by their code, with the path they name. */
function systemErrorMessage(err: unknown): Message | null {
  if (!(err instanceof Error)) return null;
  const { code, path } = err as NodeJS.ErrnoException;
  if (code === undefined || !hasMessage(`common.fs.${code}`)) return null;
  const error: Message = { code: `common.fs.${code}` };
  return typeof path === 'string' ? msg('common.fs.withPath', { error, path }) : error;
}

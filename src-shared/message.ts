// A message a person reads, as a code with parameters; rendered in the reader's language at the edge
// (CLI: English or Simplified Chinese by LANG/--lang; renderer: the chosen language).
// No node: and no electron imports here: both the main side and the renderer import this folder.

export type Locale = 'en' | 'zh-CN';
export const LOCALES: readonly Locale[] = ['en', 'zh-CN'];

/** A parameter is a value, or a message of its own (rendered in the same language): "{file}: {error}". */
export type MessageParam = string | number | Message;
export type MessageParams = Readonly<Record<string, MessageParam>>;

export interface Message {
  readonly code: string;
  readonly params?: MessageParams;
}

/** One area's texts: the same codes in every language (a test walks them). `{name}` is a parameter. */
export interface Catalogue {
  readonly en: Readonly<Record<string, string>>;
  readonly 'zh-CN': Readonly<Record<string, string>>;
}

export function isMessage(value: unknown): value is Message {
  return typeof value === 'object' && value !== null && typeof (value as { code?: unknown }).code === 'string';
}

// Electron's contextBridge keeps only an Error's text, so a Message crosses it as JSON in that text.
export const ERROR_TEXT_PREFIX = 'quantfit-message:';

export function messageToErrorText(message: Message): string {
  return ERROR_TEXT_PREFIX + JSON.stringify(message);
}

/** The Message an error text carries, or null for any other text. */
export function messageFromErrorText(text: string): Message | null {
  if (!text.startsWith(ERROR_TEXT_PREFIX)) return null;
  try {
    const parsed: unknown = JSON.parse(text.slice(ERROR_TEXT_PREFIX.length));
    return isMessage(parsed) ? parsed : null;
  } catch {
    return null;
  }
}

/** The locale for a language tag or POSIX locale (`zh_CN.UTF-8`, `zh-TW`, `en-US`); null when neither language. */
export function localeOf(tag: string): Locale | null {
  const lower = tag.toLowerCase();
  if (lower.startsWith('zh')) return 'zh-CN';
  if (lower.startsWith('en') || lower === 'c' || lower === 'posix') return 'en';
  return null;
}

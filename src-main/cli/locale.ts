// The CLI's language: `--lang en|zh-CN`, else LC_ALL / LC_MESSAGES / LANG (the first one set, as
// POSIX orders them), else English. Everything the CLI prints goes through `say`.
import { localeOf, type Locale, type Message } from '../../src-shared/message.ts';
import { formatMessage } from '../../src-shared/messages/index.ts';

let current: Locale = 'en';

export function localeFromEnv(env: Readonly<Record<string, string | undefined>>): Locale {
  const tag = [env.LC_ALL, env.LC_MESSAGES, env.LANG].find((v) => v !== undefined && v !== '');
  return tag === undefined ? 'en' : (localeOf(tag) ?? 'en');
}

export function setCliLocale(locale: Locale): void {
  current = locale;
}

export function cliLocale(): Locale {
  return current;
}

/** A message in the CLI's language. */
export function say(message: Message): string {
  return formatMessage(message, current);
}

/** Terminal columns of a string: CJK and full-width characters take two. */
export function displayWidth(text: string): number {
  let width = 0;
  for (const ch of text) width += /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/.test(ch) ? 2 : 1;
  return width;
}

/** `text` padded with spaces to `width` terminal columns (table columns line up in Chinese too). */
export function padDisplay(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - displayWidth(text)));
}

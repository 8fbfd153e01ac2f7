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

// The active language, `t` for the interface text and `say` for messages from the core. Every text
// lives in the shared catalogues (src-shared/messages); numbers, sizes and times are formatted for
// the active locale in format.ts.
import type { Language } from '../../../src-shared/contract.ts';
import { localeOf, type Locale, type Message, type MessageParams } from '../../../src-shared/message.ts';
import { formatMessage } from '../../../src-shared/messages/index.ts';
import type { UiCode } from '../../../src-shared/messages/ui.ts';

export type { Locale };
export type MessageKey = UiCode;

/** The OS/browser language decides when the setting is 'system'. */
export function systemLocale(languages: readonly string[] = navigator.languages ?? [navigator.language]): Locale {
  for (const l of languages) {
    const locale = localeOf(l);
    if (locale) return locale;
  }
  return 'en';
}

export const i18n = $state<{ locale: Locale }>({ locale: systemLocale() });

export function applyLanguage(language: Language): void {
  i18n.locale = language === 'system' ? systemLocale() : language;
  document.documentElement.lang = i18n.locale;
}

/** Interface text in the active language; a Message param is rendered in it too. */
export function t(key: MessageKey, params: MessageParams = {}): string {
  return formatMessage({ code: key, params }, i18n.locale);
}

/** A message from the core (an error, a log line, a warning) in the active language; plain text as it is. */
export function say(message: Message | string): string {
  return typeof message === 'string' ? message : formatMessage(message, i18n.locale);
}

// The active language and the `t` lookup. Text lives in messages-*.ts; numbers, sizes and times are
// formatted for the active locale in format.ts.
import type { Language } from '../../../src-shared/contract.ts';
import { en, type MessageKey, type Messages } from './messages-en.ts';
import { zhCN } from './messages-zh-CN.ts';

export type Locale = 'en' | 'zh-CN';
const CATALOGS: Record<Locale, Messages> = { en, 'zh-CN': zhCN };

/** The OS/browser language decides when the setting is 'system'. */
export function systemLocale(languages: readonly string[] = navigator.languages ?? [navigator.language]): Locale {
  for (const l of languages) {
    const lower = l.toLowerCase();
    if (lower.startsWith('zh')) return 'zh-CN';
    if (lower.startsWith('en')) return 'en';
  }
  return 'en';
}

export const i18n = $state<{ locale: Locale }>({ locale: systemLocale() });

export function applyLanguage(language: Language): void {
  i18n.locale = language === 'system' ? systemLocale() : language;
  document.documentElement.lang = i18n.locale;
}

export type Params = Record<string, string | number>;

export function t(key: MessageKey, params: Params = {}): string {
  const text = CATALOGS[i18n.locale][key] ?? en[key];
  return text.replace(/\{(\w+)\}/g, (m, name: string) => (name in params ? String(params[name]) : m));
}

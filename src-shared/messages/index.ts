// Every message code's texts, merged from one catalogue per area (each area owns its file, so work
// on one area never edits another's). Add an area: write messages/<area>.ts and list it here.
import type { Catalogue, Locale, Message, MessageParams } from '../message.ts';
import { catalogue as common } from './common.ts';
import { catalogue as convert } from './convert.ts';
import { catalogue as engine } from './engine.ts';
import { catalogue as fit } from './fit.ts';
import { catalogue as ollama } from './ollama.ts';
import { catalogue as tokenizer } from './tokenizer.ts';

const AREAS: readonly Catalogue[] = [
  common,
  convert,
  engine,
  fit,
  ollama,
  tokenizer,
];

function merge(locale: Locale): Readonly<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const area of AREAS) {
    for (const [code, text] of Object.entries(area[locale])) {
      if (code in out) throw new Error(`message code '${code}' is defined twice`);
      out[code] = text;
    }
  }
  return out;
}

export const MESSAGES: Readonly<Record<Locale, Readonly<Record<string, string>>>> = {
  en: merge('en'),
  'zh-CN': merge('zh-CN'),
};

export function hasMessage(code: string): boolean {
  return code in MESSAGES.en;
}

/** Fills `{name}` from params; an unknown code falls back to English, then to the code itself. */
export function formatMessage(message: Message, locale: Locale): string {
  const text = MESSAGES[locale][message.code] ?? MESSAGES.en[message.code] ?? message.code;
  return fill(text, message.params ?? {});
}

function fill(text: string, params: MessageParams): string {
  return text.replace(/\{(\w+)\}/g, (m, name: string) => (name in params ? String(params[name]) : m));
}

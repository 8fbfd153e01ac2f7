// Every message code's texts, merged from one catalogue per area (each area owns its file, so work
// on one area never edits another's). Add an area: write messages/<area>.ts and list it in AREAS.
import type { Catalogue, Locale, Message, MessageParams } from '../message.ts';
import { catalogue as advisor } from './advisor.ts';
import { catalogue as app } from './app.ts';
import { catalogue as cli } from './cli.ts';
import { catalogue as common } from './common.ts';
import { catalogue as convert } from './convert.ts';
import { catalogue as engine } from './engine.ts';
import { catalogue as engineInput } from './engine-input.ts';
import { catalogue as fit } from './fit.ts';
import { catalogue as gguf } from './gguf.ts';
import { catalogue as hardware } from './hardware.ts';
import { catalogue as help } from './help.ts';
import { catalogue as imatrix } from './imatrix.ts';
import { catalogue as ipc } from './ipc.ts';
import { catalogue as measure } from './measure.ts';
import { catalogue as ollama } from './ollama.ts';
import { catalogue as progress } from './progress.ts';
import { catalogue as quant } from './quant.ts';
import { catalogue as room } from './room.ts';
import { catalogue as sources } from './sources.ts';
import { catalogue as tokenizer } from './tokenizer.ts';
import { catalogue as ui } from './ui.ts';

const AREAS = [
  common,
  advisor,
  app,
  cli,
  convert,
  engine,
  engineInput,
  fit,
  gguf,
  hardware,
  help,
  imatrix,
  ipc,
  measure,
  ollama,
  progress,
  quant,
  room,
  sources,
  tokenizer,
  ui,
] as const satisfies readonly Catalogue[];

type CodesOf<A> = A extends { readonly en: infer T } ? Extract<keyof T, string> : never;
/** Every code of every area; a code the catalogues lack does not compile. */
export type MessageCode = CodesOf<(typeof AREAS)[number]>;

function merge(locale: Locale): Readonly<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const area of AREAS as readonly Catalogue[]) {
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

/** A message built from a known code (checked by the compiler). */
export function msg(code: MessageCode, params?: MessageParams): Message {
  return params === undefined ? { code } : { code, params };
}

/** Fills `{name}` from params (a Message param in the same language); an unknown code falls back to English, then to the code itself. */
export function formatMessage(message: Message, locale: Locale): string {
  const text = MESSAGES[locale][message.code] ?? MESSAGES.en[message.code] ?? message.code;
  return fill(text, message.params ?? {}, locale);
}

function fill(text: string, params: MessageParams, locale: Locale): string {
  return text.replace(/\{(\w+)\}/g, (m, name: string) => {
    const value = params[name];
    if (value === undefined) return m;
    return typeof value === 'object' ? formatMessage(value, locale) : String(value);
  });
}

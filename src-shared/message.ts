// A message a person reads, as a code with parameters; rendered in the reader's language at the edge
// (CLI: English or Simplified Chinese by LANG/--lang; renderer: the chosen language).
// No node: and no electron imports here: both the main side and the renderer import this folder.

export type Locale = 'en' | 'zh-CN';
export const LOCALES: readonly Locale[] = ['en', 'zh-CN'];

export type MessageParams = Readonly<Record<string, string | number>>;

export interface Message {
  readonly code: string;
  readonly params?: MessageParams;
}

/** One area's texts: the same codes in every language (a test walks them). `{name}` is a parameter. */
export interface Catalogue {
  readonly en: Readonly<Record<string, string>>;
  readonly 'zh-CN': Readonly<Record<string, string>>;
}

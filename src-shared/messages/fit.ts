// Messages of the fit job (core/jobs) and the fit/import commands.
import type { Catalogue } from '../message.ts';

export const catalogue = {
  en: {},
  'zh-CN': {},
} satisfies Catalogue;

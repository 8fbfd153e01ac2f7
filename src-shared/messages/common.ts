// Messages shared by every area.
import type { Catalogue } from '../message.ts';

export const catalogue = {
  en: {
    'common.cancelled': 'cancelled',
  },
  'zh-CN': {
    'common.cancelled': '已取消',
  },
} satisfies Catalogue;

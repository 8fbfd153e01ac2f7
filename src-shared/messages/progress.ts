// The CLI's progress lines (rate, amount, ETA) and the quantize stage's note.
import type { Catalogue } from '../message.ts';

export const catalogue = {
  en: {
    'jobProgress.quantize.start': '{type}: {tensors} tensors, {bytes} bytes',
    'jobProgress.tokens': '{done}/{total} tokens',
    'jobProgress.tokenRate': '{rate} tok/s',
    'jobProgress.eta': 'ETA {time}',
  },
  'zh-CN': {
    'jobProgress.quantize.start': '{type}：{tensors} 个张量，{bytes} 字节',
    'jobProgress.tokens': '{done}/{total} 个词元',
    'jobProgress.tokenRate': '每秒 {rate} 个词元',
    'jobProgress.eta': '剩余 {time}',
  },
} as const satisfies Catalogue;

// Messages of the llama.cpp engine: evaluation (KL divergence, perplexity) and importance matrices.
import type { Catalogue } from '../message.ts';

export const catalogue = {
  en: {
    'engine.command.imatrix': 'make an importance matrix as llama-imatrix does (llama.cpp)',
    'engine.unavailable': 'llama.cpp is not available: {reason}',
    'engine.loadFailed': 'llama.cpp could not load the model {file}',
    'engine.textEmpty': 'the text file is empty',
    'engine.textTooShort': 'the text is {tokens} tokens long; a context of {ctx} needs at least {needed} (use a longer text or a smaller context)',
    'engine.vocabMismatch': "the candidate's vocabulary has {candidate} tokens, the reference's {reference}: they are not the same model",
  },
  'zh-CN': {
    'engine.command.imatrix': '像 llama-imatrix 一样生成重要性矩阵（llama.cpp）',
    'engine.unavailable': 'llama.cpp 不可用：{reason}',
    'engine.loadFailed': 'llama.cpp 无法加载模型 {file}',
    'engine.textEmpty': '文本文件是空的',
    'engine.textTooShort': '文本只有 {tokens} 个词元；上下文 {ctx} 至少需要 {needed} 个（请用更长的文本或更小的上下文）',
    'engine.vocabMismatch': '待测模型的词表有 {candidate} 个词元，参考模型有 {reference} 个：二者不是同一个模型',
  },
} satisfies Catalogue;

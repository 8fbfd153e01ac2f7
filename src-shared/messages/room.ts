// Whether the machine has room for the fit's llama.cpp passes (importance matrix, quality check), said
// before any work starts.
import type { Catalogue } from '../message.ts';

export const catalogue = {
  en: {
    'room.pass.imatrix': 'computing the importance matrix',
    'room.pass.eval': 'the quality check',
    'room.hint.imatrix': 'give an importance matrix you made elsewhere, or choose a type that needs none',
    'room.hint.eval': 'leave out the quality check',
    'room.noMemory':
      'not enough memory for {pass}: llama.cpp needs about {needs} of RAM to run the unquantized model (weights {weights}, cache, compute and logits {work}), and {usable} is usable on this machine; {hint}',
    'room.memoryBusy':
      '{pass} needs about {needs} of RAM and only {available} is free right now: it may swap and run slowly; closing other programs helps',
    'room.noDisk':
      "not enough free space for the quality check: the reference's log-probabilities take {cache}{output} in {dir}, and {free} is free; free some space or leave out the quality check",
    'room.withOutput': ' plus {size} for the output files',
  },
  'zh-CN': {
    'room.pass.imatrix': '计算重要性矩阵',
    'room.pass.eval': '进行质量检查',
    'room.hint.imatrix': '可提供在别处生成的重要性矩阵，或选择不需要它的类型',
    'room.hint.eval': '可跳过质量检查',
    'room.noMemory':
      '内存不足，无法{pass}：llama.cpp 运行未量化的模型约需 {needs} 内存（权重 {weights}，缓存、计算与 logits {work}），而这台机器可用 {usable}；{hint}',
    'room.memoryBusy': '{pass}约需 {needs} 内存，而此刻只有 {available} 空闲：可能会使用交换空间而变慢；关闭其他程序会有帮助',
    'room.noDisk': '磁盘空间不足，无法进行质量检查：参考模型的对数概率在 {dir} 中需要 {cache}{output}，而可用空间为 {free}；请释放一些空间，或跳过质量检查',
    'room.withOutput': '（另加 {size} 的输出文件）',
  },
} as const satisfies Catalogue;

// Messages of the Ollama bridge (core/ollama): what the server can load, registration, blobs, create.
import type { Catalogue } from '../message.ts';

export const catalogue = {
  en: {
    'ollama.compat.architecture':
      "Ollama cannot load the architecture '{arch}': the llama.cpp it runs does not know it, so create would fail validating the GGUF; only a newer Ollama that knows '{arch}' can run this model",
    'ollama.compat.type_never':
      'no Ollama version loads {type} tensors ({count} tensors, the first {tensor}): Ollama has no size for that type and refuses it; choose {instead} instead',
    'ollama.compat.type_needs_newer':
      'Ollama {version} cannot load {type} tensors ({count} tensors, the first {tensor}): they need Ollama {since} or newer; update Ollama, or choose {instead} instead',
    'ollama.compat.type_refused_since':
      'Ollama {version} cannot load {type} tensors ({count} tensors, the first {tensor}): Ollama refuses them since {until} ("size overflow"); choose {instead} instead, or use an Ollama from {since} up to before {until}',
  },
  'zh-CN': {
    'ollama.compat.architecture':
      "Ollama 无法加载架构 '{arch}'：它所用的 llama.cpp 不认识该架构，创建模型时校验 GGUF 会失败；只有认识 '{arch}' 的更新版 Ollama 才能运行此模型",
    'ollama.compat.type_never':
      '没有任何 Ollama 版本能加载 {type} 张量（共 {count} 个，首个为 {tensor}）：Ollama 不知道该类型的大小并会拒绝它；请改用 {instead}',
    'ollama.compat.type_needs_newer':
      'Ollama {version} 无法加载 {type} 张量（共 {count} 个，首个为 {tensor}）：需要 Ollama {since} 或更新版本；请升级 Ollama，或改用 {instead}',
    'ollama.compat.type_refused_since':
      'Ollama {version} 无法加载 {type} 张量（共 {count} 个，首个为 {tensor}）：Ollama 自 {until} 起拒绝此类型（"size overflow"）；请改用 {instead}，或使用 {since} 至 {until} 之前的 Ollama',
  },
} satisfies Catalogue;

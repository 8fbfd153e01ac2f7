// What each Ollama version can load, as data with its sources: the tensor types, the architectures
// and how chat templates are rendered. /api/version returns only a version string, so this table
// turns it into rules; the fit job refuses before any work what the user's server would refuse, and
// the advisor never recommends such a type. The test prompt after create stays the final proof.
// Notes: ../shared/spec/ollama-compat.md (Ollama's source at v0.33.0-rc2, fb30760).

import type { Message } from '../../../src-shared/message.ts';
import { formatMessage } from '../../../src-shared/messages/index.ts';
import { ggmlTypeName } from '../gguf/ggml-types.ts';
import { findFtype, ftypeDefaultType } from '../quant/ftypes.ts';

/** A parsed `major.minor.patch` (a pre-release suffix such as `-rc2` is ignored). */
export interface OllamaVersion {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
}

/** `0.31.2`, `v0.33.0-rc2` → the version; null for anything else and for dev builds (`0.0.0`). */
export function parseOllamaVersion(text: string): OllamaVersion | null {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(text.trim());
  if (!m) return null;
  const v = { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
  return v.major === 0 && v.minor === 0 && v.patch === 0 ? null : v;
}

export function compareVersions(a: OllamaVersion, b: OllamaVersion): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

function atLeast(v: OllamaVersion, text: string): boolean {
  const bound = parseOllamaVersion(text);
  if (bound === null) throw new Error(`bad version bound '${text}' in the compat table`);
  return compareVersions(v, bound) >= 0;
}

/** Tensor types some Ollama versions cannot load; every type not listed loads on all versions. */
export interface TensorTypeRule {
  /** ggml type names, upper case (`TQ1_0`). */
  readonly types: readonly string[];
  /** First version that loads them. Neither `since` nor `until`: no version loads them. */
  readonly since?: string;
  /** First version that refuses them again; absent: still loaded by the newest. */
  readonly until?: string;
  /** llama-quantize types to suggest instead (load on every version). */
  readonly instead: readonly string[];
  readonly source: string;
}

export const TENSOR_TYPE_RULES: readonly TensorTypeRule[] = [
  {
    types: ['MXFP4'],
    since: '0.11.5',
    instead: ['Q4_K_M', 'Q4_0'],
    source: 'fs/ggml/type.go; 0.11.0–0.11.4 refused upstream MXFP4 files with "invalid ggml type 39"',
  },
  {
    types: ['NVFP4', 'Q1_0'],
    since: '0.30.0',
    instead: ['Q4_K_M', 'IQ1_S'],
    source: 'fs/ggml/type.go at v0.30.0: the types and their sizes arrive with the llama-server engine',
  },
  {
    types: ['TQ1_0', 'TQ2_0'],
    since: '0.30.0',
    until: '0.31.2',
    instead: ['IQ1_M', 'IQ2_XXS', 'Q2_K'],
    source: 'fs/ggml/gguf.go since v0.31.2: a type without a size entry is refused with tensor "<name>" size overflow; 0.30.0–0.31.1 accepted them',
  },
  {
    types: ['Q2_0'],
    instead: ['Q2_K', 'IQ2_XXS'],
    source: 'fs/ggml/type.go: no size entry in any release, so create refuses it ("size overflow")',
  },
];

/**
 * Architectures llama.cpp knows (LLM_ARCH_NAMES, src/llama-arch.cpp of the reference build; Ollama
 * v0.33.0-rc2 pins b10488 with the same list). Since v0.30 /api/create validates every GGUF with
 * `llama-quantize … COPY` and refuses others ("failed to validate GGUF with llama-quantize"); before
 * it the bundled llama.cpp could not load them either.
 */
export const LLAMA_CPP_ARCHITECTURES: ReadonlySet<string> = new Set(
  ('clip llama llama4 deci falcon grok gpt2 gptj gptneox mpt baichuan starcoder refact bert modern-bert nomic-bert ' +
    'nomic-bert-moe neo-bert jina-bert-v2 jina-bert-v3 eurobert bloom stablelm qwen qwen2 qwen2moe qwen2vl qwen3 qwen3moe ' +
    'qwen3next qwen3vl qwen3vlmoe qwen35 qwen35moe qwen4exp phi2 phi3 phimoe plamo plamo2 plamo3 codeshell orion internlm2 ' +
    'minicpm minicpm3 gemma gemma2 gemma3 gemma3n gemma4 gemma4-assistant gemma-embedding starcoder2 mamba mamba2 maple ' +
    'jamba falcon-h1 xverse command-r cohere2 cohere2moe dbrx olmo olmo2 olmoe muse-glimmer openelm arctic deepseek ' +
    'deepseek2 deepseek2-ocr deepseek32 deepseek4 chatglm glm4 glm4moe glm-dsa bitnet t5 t5encoder jais jais2 nemotron ' +
    'nemotron_h nemotron_h_moe exaone exaone4 exaone-moe rwkv6 rwkv6qwen2 rwkv7 arwkv7 granite granitemoe granitehybrid ' +
    'graniteswitch granite_swa chameleon wavtokenizer-dec plm bailingmoe bailingmoe2 bailingmoe3 dots1 dots3note arcee ' +
    'afmoe laguna ernie4_5 ernie4_5-moe hunyuan-moe hunyuan-dense hunyuan_vl hy_v3 hy_v4 smollm3 gpt-oss lfm2 lfm2moe ' +
    'dream smallthinker llada llada-moe seed_oss grovemoe apertus minimax-01 hrm_text minimax-m2 minimax-m3 cogvlm rnd1 ' +
    'pangu-embedded mistral3 eagle3 dflash mistral4 paddleocr mimo2 step35 spark2_5 llama-embed maincoder kimi-linear ' +
    'kimi-k3 talkie mellum nanbeige qwen3tts pockettts').split(' '),
);

/**
 * Since v0.30 a GGUF whose Jinja `tokenizer.chat_template` matches none of Ollama's built-in
 * templates is rendered by llama-server itself (llm/llama_server.go), tools included; before it
 * Ollama fell back to `{{ .Prompt }}`, so a Go template of our own was the only way to chat.
 */
export const RENDERS_GGUF_TEMPLATE_SINCE = '0.30.0';

/** True when this server renders the GGUF's own chat template (unknown versions: assume not). */
export function rendersGgufTemplate(versionText: string | null): boolean {
  const v = versionText !== null ? parseOllamaVersion(versionText) : null;
  return v !== null && atLeast(v, RENDERS_GGUF_TEMPLATE_SINCE);
}

function ruleFor(typeName: string): TensorTypeRule | undefined {
  const t = typeName.toUpperCase();
  return TENSOR_TYPE_RULES.find((r) => r.types.includes(t));
}

function loads(rule: TensorTypeRule, v: OllamaVersion): boolean {
  if (rule.since === undefined && rule.until === undefined) return false;
  return (rule.since === undefined || atLeast(v, rule.since)) && (rule.until === undefined || !atLeast(v, rule.until));
}

/** True when this Ollama version can load tensors of the ggml type `typeName`; unknown versions: true. */
export function tensorTypeLoads(typeName: string, versionText: string | null): boolean {
  const v = versionText !== null ? parseOllamaVersion(versionText) : null;
  const rule = ruleFor(typeName);
  return v === null || rule === undefined || loads(rule, v);
}

/** True when a llama-quantize type's main tensor type loads on this version (the advisor's filter). */
export function ftypeLoads(ftypeName: string, versionText: string | null): boolean {
  const f = findFtype(ftypeName);
  const main = f !== undefined ? ftypeDefaultType(f.id) : undefined;
  return main === undefined || tensorTypeLoads(ggmlTypeName(main), versionText);
}

/** A fit the server would refuse: the reason as a message code, and in English. */
export interface CompatProblem {
  readonly message: Message;
  readonly text: string;
}

export interface CompatTarget {
  /** The tensors as they will be written: name and ggml type id. */
  readonly tensors: ReadonlyArray<{ readonly name: string; readonly type: number }>;
  /** `general.architecture`, when present. */
  readonly architecture: string | null;
}

function problem(code: string, params: Record<string, string | number>): CompatProblem {
  const message: Message = { code, params };
  return { message, text: formatMessage(message, 'en') };
}

/**
 * The first reason `versionText`'s Ollama could not load `target`, or null. An unparsable or dev
 * version skips the type rules (the test prompt still decides); an unknown architecture is refused
 * on every version.
 */
export function checkOllamaCompat(target: CompatTarget, versionText: string | null): CompatProblem | null {
  if (target.architecture !== null && !LLAMA_CPP_ARCHITECTURES.has(target.architecture)) {
    return problem('ollama.compat.architecture', { arch: target.architecture });
  }
  const v = versionText !== null ? parseOllamaVersion(versionText) : null;
  if (v === null || versionText === null) return null;
  const byType = new Map<string, string[]>();
  for (const t of target.tensors) {
    const name = ggmlTypeName(t.type).toUpperCase();
    const rule = ruleFor(name);
    if (rule === undefined || loads(rule, v)) continue;
    const names = byType.get(name) ?? [];
    names.push(t.name);
    byType.set(name, names);
  }
  const first = byType.entries().next();
  if (first.done === true) return null;
  const [type, names] = first.value;
  const rule = ruleFor(type);
  if (rule === undefined) return null;
  const params = {
    version: versionText,
    type,
    tensor: names[0] ?? '',
    count: names.length,
    instead: rule.instead.join(', '),
    since: rule.since ?? '',
    until: rule.until ?? '',
  };
  if (rule.since === undefined) return problem('ollama.compat.type_never', params);
  if (!atLeast(v, rule.since)) return problem('ollama.compat.type_needs_newer', params);
  return problem('ollama.compat.type_refused_since', params);
}

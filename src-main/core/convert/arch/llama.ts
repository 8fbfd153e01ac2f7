// Llama and Mistral (conversion/llama.py, LlamaModel): Q and K rows permuted back to llama.cpp's rope
// layout, Llama 3.1's rope scaling as a generated rope_freqs tensor, vocab size and rope dimensions.

import { hparamInt } from '../hf-config.ts';
import type { SourceTensor } from '../folder.ts';
import type { ArchContext, ArchModule, ConvTensor } from './types.ts';
import { blockCount, cannotMap, expectShape, fullAttentionRope, isSkipped, plain, textModelKvs, type RopeParams } from './common.ts';

/** HF name (without .weight/.bias) → GGUF name, per block where `{bid}` appears. */
const LLAMA_NAMES: ReadonlyArray<readonly [RegExp, string]> = [
  [/^model\.embed_tokens$/, 'token_embd'],
  [/^model\.norm$/, 'output_norm'],
  [/^lm_head$/, 'output'],
  [/^model\.layers\.(\d+)\.input_layernorm$/, 'blk.{bid}.attn_norm'],
  [/^model\.layers\.(\d+)\.self_attn\.q_proj$/, 'blk.{bid}.attn_q'],
  [/^model\.layers\.(\d+)\.self_attn\.k_proj$/, 'blk.{bid}.attn_k'],
  [/^model\.layers\.(\d+)\.self_attn\.v_proj$/, 'blk.{bid}.attn_v'],
  [/^model\.layers\.(\d+)\.self_attn\.o_proj$/, 'blk.{bid}.attn_output'],
  [/^model\.layers\.(\d+)\.post_attention_layernorm$/, 'blk.{bid}.ffn_norm'],
  [/^model\.layers\.(\d+)\.mlp\.gate_proj$/, 'blk.{bid}.ffn_gate'],
  [/^model\.layers\.(\d+)\.mlp\.up_proj$/, 'blk.{bid}.ffn_up'],
  [/^model\.layers\.(\d+)\.mlp\.down_proj$/, 'blk.{bid}.ffn_down'],
];

/** Maps an HF tensor name through a table, trying the .weight and .bias suffixes; blocks must exist. */
export function mapName(table: ReadonlyArray<readonly [RegExp, string]>, name: string, nBlocks: number): string | undefined {
  for (const suffix of ['.weight', '.bias']) {
    if (!name.endsWith(suffix)) continue;
    const stem = name.slice(0, -suffix.length);
    for (const [re, out] of table) {
      const m = re.exec(stem);
      if (!m) continue;
      if (m[1] !== undefined && Number(m[1]) >= nBlocks) return undefined;
      return out.replace('{bid}', m[1] ?? '') + suffix;
    }
  }
  return undefined;
}

export function headDim(ctx: ArchContext): number {
  const c = ctx.config;
  return hparamInt(c, ['head_dim']) ?? Math.floor(hparamInt(c, ['hidden_size'], true) / hparamInt(c, ['num_attention_heads'], true));
}

/** LlamaModel.generate_extra_tensors: Llama 3.1 rope scaling factors, in torch's float32 arithmetic. */
export function llama3RopeFreqs(rope: RopeParams, dim: number): Float32Array {
  const f = Math.fround;
  const n = (v: unknown, d: number) => (typeof v === 'number' ? v : d);
  const base = f(n(rope.rope_theta, 10000.0));
  const factor = n(rope.factor, 8.0);
  const low = n(rope.low_freq_factor, 1.0);
  const high = n(rope.high_freq_factor, 4.0);
  const oldContext = n(rope.original_max_position_embeddings, 8192);
  const lowWavelen = oldContext / low;
  const highWavelen = oldContext / high;
  const out = new Float32Array(Math.ceil(dim / 2));
  for (let k = 0; k < out.length; k++) {
    const exponent = f(f(2 * k) / f(dim));
    // x.__rtruediv__(s) is reciprocal(x) * s in torch.
    const freq = f(1 / f(Math.pow(base, exponent)));
    const wavelen = f(f(1 / freq) * f(2 * Math.PI));
    if (wavelen < f(highWavelen)) out[k] = 1;
    else if (wavelen > f(lowWavelen)) out[k] = f(factor);
    else {
      const smooth = f(f(f(f(1 / wavelen) * f(oldContext)) - f(low)) / f(high - low));
      out[k] = f(1 / f(f(f(1 - smooth) / f(factor)) + smooth));
    }
  }
  return out;
}

function llamaTensors(ctx: ArchContext, arch: string, names = LLAMA_NAMES): ConvTensor[] {
  const c = ctx.config;
  const nBlocks = blockCount(c);
  const nHead = hparamInt(c, ['n_heads', 'num_attention_heads'], true);
  const nKv = hparamInt(c, ['n_kv_heads', 'num_key_value_heads']) ?? nHead;
  const hidden = hparamInt(c, ['hidden_size'], true);
  const vocab = hparamInt(c, ['vocab_size'], true);
  const dim = headDim(ctx);
  const out: ConvTensor[] = [];
  const rope = fullAttentionRope(c);
  if (typeof rope.rope_type === 'string' && rope.rope_type.toLowerCase() === 'llama3') {
    const data = llama3RopeFreqs(rope, dim);
    out.push({ name: 'rope_freqs.weight', shape: [data.length], data });
  }
  for (const src of ctx.tensors) {
    if (isSkipped(src.name)) continue;
    const name = mapName(names, src.name, nBlocks);
    if (name === undefined) throw cannotMap(src.name, arch);
    checkShape(src, name, { nHead, nKv, hidden, vocab, dim });
    if (/\.attn_q\.(weight|bias)$/.test(name)) out.push(plain(name, src, { permuteHeads: nHead }));
    else if (/\.attn_k\.(weight|bias)$/.test(name)) out.push(plain(name, src, { permuteHeads: nKv }));
    else out.push(plain(name, src));
  }
  return out;
}

function checkShape(src: SourceTensor, name: string, h: { nHead: number; nKv: number; hidden: number; vocab: number; dim: number }): void {
  if (name === 'token_embd.weight' || name === 'output.weight') expectShape(src, [h.vocab, h.hidden], 'vocab_size × hidden_size');
  else if (name.endsWith('.attn_q.weight')) expectShape(src, [h.nHead * h.dim, h.hidden], 'num_attention_heads × head_dim, hidden_size');
  else if (name.endsWith('.attn_k.weight') || name.endsWith('.attn_v.weight')) expectShape(src, [h.nKv * h.dim, h.hidden], 'num_key_value_heads × head_dim, hidden_size');
  else if (name.endsWith('_norm.weight') && !name.includes('attn_q_norm') && !name.includes('attn_k_norm')) expectShape(src, [h.hidden], 'hidden_size');
}

export const llama: ArchModule = {
  hfArchitectures: ['LlamaForCausalLM', 'MistralForCausalLM'],
  ggufArch: 'llama',
  hparamKvs(ctx) {
    const kv = textModelKvs(ctx, 'llama');
    kv.u32('{arch}.vocab_size', hparamInt(ctx.config, ['vocab_size'], true));
    kv.u32('{arch}.rope.dimension_count', headDim(ctx));
    return kv.list;
  },
  tensors: (ctx) => llamaTensors(ctx, 'llama'),
};

export { llamaTensors, LLAMA_NAMES, checkShape };

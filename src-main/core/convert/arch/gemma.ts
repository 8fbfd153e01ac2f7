// Gemma 2 and Gemma 3 text models (conversion/gemma.py): norms stored as weight + 1 (Gemma's RMSNorm
// multiplies by 1 + w), pre/post norms around attention and the MLP, logit soft-capping and the
// sliding window; Gemma 2 drops lm_head, Gemma 3 trims token_embd to the real vocabulary.


import { hparamInt, hparamNumber } from '../hf-config.ts';
import type { ArchContext, ArchModule, ConvTensor } from './types.ts';
import { blockCount, cannotMap, expectShape, fullAttentionRope, isSkipped, plain, rowsOf, textModelKvs, KvList } from './common.ts';
import { mapName } from './llama.ts';

const GEMMA_NAMES: ReadonlyArray<readonly [RegExp, string]> = [
  [/^model\.embed_tokens$/, 'token_embd'],
  [/^model\.norm$/, 'output_norm'],
  [/^lm_head$/, 'output'],
  [/^model\.layers\.(\d+)\.input_layernorm$/, 'blk.{bid}.attn_norm'],
  [/^model\.layers\.(\d+)\.self_attn\.q_proj$/, 'blk.{bid}.attn_q'],
  [/^model\.layers\.(\d+)\.self_attn\.k_proj$/, 'blk.{bid}.attn_k'],
  [/^model\.layers\.(\d+)\.self_attn\.v_proj$/, 'blk.{bid}.attn_v'],
  [/^model\.layers\.(\d+)\.self_attn\.o_proj$/, 'blk.{bid}.attn_output'],
  [/^model\.layers\.(\d+)\.self_attn\.q_norm$/, 'blk.{bid}.attn_q_norm'],
  [/^model\.layers\.(\d+)\.self_attn\.k_norm$/, 'blk.{bid}.attn_k_norm'],
  [/^model\.layers\.(\d+)\.post_attention_layernorm$/, 'blk.{bid}.post_attention_norm'],
  [/^model\.layers\.(\d+)\.pre_feedforward_layernorm$/, 'blk.{bid}.ffn_norm'],
  [/^model\.layers\.(\d+)\.post_feedforward_layernorm$/, 'blk.{bid}.post_ffw_norm'],
  [/^model\.layers\.(\d+)\.mlp\.gate_proj$/, 'blk.{bid}.ffn_gate'],
  [/^model\.layers\.(\d+)\.mlp\.up_proj$/, 'blk.{bid}.ffn_up'],
  [/^model\.layers\.(\d+)\.mlp\.down_proj$/, 'blk.{bid}.ffn_down'],
];

function gemmaTensors(ctx: ArchContext, arch: 'gemma2' | 'gemma3'): ConvTensor[] {
  const c = ctx.config;
  const nBlocks = blockCount(c);
  const hidden = hparamInt(c, ['hidden_size'], true);
  const vocab = hparamInt(c, ['vocab_size']);
  const out: ConvTensor[] = [];
  for (const src of ctx.tensors) {
    if (isSkipped(src.name)) continue;
    if (arch === 'gemma2' && src.name === 'lm_head.weight') continue;
    const name = mapName(GEMMA_NAMES, src.name, nBlocks);
    if (name === undefined || (arch === 'gemma2' && /attn_[qk]_norm/.test(name))) throw cannotMap(src.name, arch);
    const addOne = src.name.endsWith('norm.weight');
    if (name === 'token_embd.weight') {
      expectShape(src, [src.info.shape[0]!, hidden], 'hidden_size');
      // Gemma 3 keeps only the tokenizer's rows (the converter slices data[:n_vocab_real]): the
      // SentencePiece vocabulary (vocab_size) or tokenizer.json's vocabulary plus added tokens.
      const real = ctx.tokenizerJsonVocab ?? vocab;
      const rows = arch === 'gemma3' && real !== undefined ? Math.min(real, rowsOf(src)) : rowsOf(src);
      if (arch === 'gemma2' && vocab !== undefined) expectShape(src, [vocab, hidden], 'vocab_size × hidden_size');
      out.push({ name, shape: [rows, hidden], segments: [{ src, rows }] });
      continue;
    }
    out.push({ ...plain(name, src), ...(addOne ? { addOne } : {}) });
  }
  return out;
}

export const gemma2: ArchModule = {
  hfArchitectures: ['Gemma2ForCausalLM'],
  ggufArch: 'gemma2',
  hparamKvs(ctx) {
    const c = ctx.config;
    const kv = new KvList('gemma2');
    kv.u32('{arch}.context_length', hparamInt(c, ['max_position_embeddings'], true));
    kv.u32('{arch}.embedding_length', hparamInt(c, ['hidden_size'], true));
    kv.u32('{arch}.block_count', blockCount(c));
    kv.u32('{arch}.feed_forward_length', hparamInt(c, ['intermediate_size'], true));
    const heads = hparamInt(c, ['num_attention_heads'], true);
    kv.u32('{arch}.attention.head_count', heads);
    kv.u32('{arch}.attention.head_count_kv', 'num_key_value_heads' in c ? hparamInt(c, ['num_key_value_heads'], true) : heads);
    kv.f32('{arch}.attention.layer_norm_rms_epsilon', hparamNumber(c, ['rms_norm_eps']));
    kv.u32('{arch}.attention.key_length', hparamInt(c, ['head_dim'], true));
    kv.u32('{arch}.attention.value_length', hparamInt(c, ['head_dim'], true));
    kv.u32('general.file_type', ctx.fileType);
    kv.f32('{arch}.attn_logit_softcapping', hparamNumber(c, ['attn_logit_softcapping']));
    kv.f32('{arch}.final_logit_softcapping', hparamNumber(c, ['final_logit_softcapping']));
    kv.u32('{arch}.attention.sliding_window', hparamInt(c, ['sliding_window'], true));
    return kv.list;
  },
  tensors: (ctx) => gemmaTensors(ctx, 'gemma2'),
};

export const gemma3: ArchModule = {
  hfArchitectures: ['Gemma3ForCausalLM'],
  ggufArch: 'gemma3',
  hparamKvs(ctx) {
    const c = ctx.config;
    const kv = textModelKvs(ctx, 'gemma3');
    kv.u32('{arch}.context_length', hparamInt(c, ['max_position_embeddings']) ?? 131072);
    kv.u32('{arch}.attention.head_count', hparamInt(c, ['num_attention_heads']) ?? 8);
    kv.f32('{arch}.attention.layer_norm_rms_epsilon', hparamNumber(c, ['rms_norm_eps']) ?? 1e-6);
    kv.u32('{arch}.attention.key_length', hparamInt(c, ['head_dim']) ?? 256);
    kv.u32('{arch}.attention.value_length', hparamInt(c, ['head_dim']) ?? 256);
    const theta = fullAttentionRope(c).rope_theta;
    kv.f32('{arch}.rope.freq_base', typeof theta === 'number' ? theta : 1_000_000.0);
    const cap = hparamNumber(c, ['final_logit_softcapping']);
    if (cap) kv.f32('{arch}.final_logit_softcapping', cap);
    if (c.sliding_window_pattern !== 1) kv.u32('{arch}.attention.sliding_window', hparamInt(c, ['sliding_window'], true));
    kv.u32('{arch}.attention.head_count_kv', hparamInt(c, ['num_key_value_heads']) ?? 4);
    return kv.list;
  },
  tensors: (ctx) => gemmaTensors(ctx, 'gemma3'),
};


// Phi-3 and Phi-4-mini (conversion/phi.py, Phi3MiniModel): fused QKV and gate/up projections kept
// fused, partial rotary dimensions, the sliding window (0 for Phi-4), and for the 128k models the
// long/short rope factors plus their attention factor.

import { QuantfitError } from '../../errors.ts';
import { hparamInt, hparamNumber } from '../hf-config.ts';
import type { ArchContext, ArchModule, ConvTensor } from './types.ts';
import { blockCount, cannotMap, expectShape, isSkipped, plain, ropeParameters, fullAttentionRope, KvList } from './common.ts';
import { mapName } from './llama.ts';

const PHI3_NAMES: ReadonlyArray<readonly [RegExp, string]> = [
  [/^model\.embed_tokens$/, 'token_embd'],
  [/^model\.norm$/, 'output_norm'],
  [/^lm_head$/, 'output'],
  [/^model\.layers\.(\d+)\.input_layernorm$/, 'blk.{bid}.attn_norm'],
  [/^model\.layers\.(\d+)\.self_attn\.qkv_proj$/, 'blk.{bid}.attn_qkv'],
  [/^model\.layers\.(\d+)\.self_attn\.o_proj$/, 'blk.{bid}.attn_output'],
  [/^model\.layers\.(\d+)\.post_attention_layernorm$/, 'blk.{bid}.ffn_norm'],
  [/^model\.layers\.(\d+)\.mlp\.gate_up_proj$/, 'blk.{bid}.ffn_up'],
  [/^model\.layers\.(\d+)\.mlp\.down_proj$/, 'blk.{bid}.ffn_down'],
];

interface PhiRope { nEmbd: number; nHead: number; maxPos: number; origMax: number; ropeDims: number }

function phiRope(ctx: ArchContext): PhiRope {
  const c = ctx.config;
  const nEmbd = hparamInt(c, ['hidden_size', 'n_embd'], true);
  const nHead = hparamInt(c, ['num_attention_heads', 'n_head'], true);
  const rope = ropeParameters(c);
  const origMax = rope.original_max_position_embeddings;
  if (typeof origMax !== 'number') {
    throw new QuantfitError("config.json has no 'original_max_position_embeddings'", { file: 'config.json', key: 'original_max_position_embeddings' }, { code: 'convert.missingHparam', params: { file: 'config.json', keys: 'original_max_position_embeddings' } });
  }
  const pct = typeof rope.partial_rotary_factor === 'number' ? rope.partial_rotary_factor : 1.0;
  return { nEmbd, nHead, maxPos: hparamInt(c, ['n_positions', 'max_position_embeddings'], true), origMax, ropeDims: Math.floor(Math.trunc(pct * nEmbd) / nHead) };
}

/** generate_extra_tensors: rope_factors_long/short for long-context models, with their attention factor. */
function ropeFactors(ctx: ArchContext): { attnFactor?: number; tensors: ConvTensor[] } {
  const rope = ropeParameters(ctx.config);
  const long = rope.long_factor;
  const short = rope.short_factor;
  if (!Array.isArray(long) || long.length === 0) return { tensors: [] };
  const p = phiRope(ctx);
  const scale = p.maxPos / p.origMax;
  const type = typeof rope.rope_type === 'string' ? rope.rope_type.toLowerCase() : '';
  const bad = (why: string) => new QuantfitError(why, { file: 'config.json', key: 'rope_scaling' }, { code: 'convert.badConfig', params: { file: 'config.json', why } });
  let attnFactor: number;
  if (type === 'su' || type === 'longrope') attnFactor = scale > 1 ? Math.sqrt(1 + Math.log(scale) / Math.log(p.origMax)) : 1;
  else if (type === 'yarn') attnFactor = scale > 1 ? 0.1 * Math.log(scale) + 1 : 1;
  else throw bad(`rope scaling type '${type}' is not supported with long_factor`);
  if (!Array.isArray(short) || short.length !== long.length || long.length !== p.ropeDims / 2) throw bad(`rope long and short factors must both have ${p.ropeDims / 2} values`);
  const vec = (v: unknown[]) => Float32Array.from(v.map((x) => (typeof x === 'number' ? x : NaN)));
  return {
    attnFactor,
    tensors: [
      { name: 'rope_factors_long.weight', shape: [long.length], data: vec(long) },
      { name: 'rope_factors_short.weight', shape: [short.length], data: vec(short) },
    ],
  };
}

export const phi3: ArchModule = {
  hfArchitectures: ['Phi3ForCausalLM'],
  ggufArch: 'phi3',
  hparamKvs(ctx) {
    const c = ctx.config;
    const p = phiRope(ctx);
    const kv = new KvList('phi3');
    kv.u32('{arch}.context_length', p.maxPos);
    kv.u32('{arch}.rope.scaling.original_context_length', p.origMax);
    kv.u32('{arch}.embedding_length', p.nEmbd);
    kv.u32('{arch}.feed_forward_length', hparamInt(c, ['intermediate_size'], true));
    kv.u32('{arch}.block_count', blockCount(c));
    kv.u32('{arch}.attention.head_count', p.nHead);
    kv.u32('{arch}.attention.head_count_kv', hparamInt(c, ['num_key_value_heads', 'n_head_kv'], true));
    kv.f32('{arch}.attention.layer_norm_rms_epsilon', hparamNumber(c, ['rms_norm_eps']));
    kv.u32('{arch}.rope.dimension_count', p.ropeDims);
    const theta = fullAttentionRope(c).rope_theta;
    kv.f32('{arch}.rope.freq_base', typeof theta === 'number' ? theta : undefined);
    kv.u32('general.file_type', ctx.fileType);
    kv.u32('{arch}.attention.sliding_window', hparamInt(c, ['sliding_window']) ?? 0);
    return kv.list;
  },
  earlyKvs(ctx) {
    const { attnFactor } = ropeFactors(ctx);
    const kv = new KvList('phi3');
    kv.f32('{arch}.rope.scaling.attn_factor', attnFactor);
    return kv.list;
  },
  tensors(ctx) {
    const c = ctx.config;
    const nBlocks = blockCount(c);
    const vocab = hparamInt(c, ['vocab_size'], true);
    const hidden = hparamInt(c, ['hidden_size'], true);
    const out: ConvTensor[] = [...ropeFactors(ctx).tensors];
    for (const src of ctx.tensors) {
      if (isSkipped(src.name)) continue;
      const name = mapName(PHI3_NAMES, src.name, nBlocks);
      if (name === undefined) throw cannotMap(src.name, 'phi3');
      if (name === 'token_embd.weight' || name === 'output.weight') expectShape(src, [vocab, hidden], 'vocab_size × hidden_size');
      out.push(plain(name, src));
    }
    return out;
  },
};

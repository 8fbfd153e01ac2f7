// Qwen2 (Qwen2.5, DeepSeek-R1-Distill-Qwen), Qwen3 and Qwen3-MoE (conversion/qwen.py): Llama's tensor
// names without the Q/K permutation, Q/K/V biases (Qwen2), Q/K norms (Qwen3), and Qwen3-MoE's experts
// stacked into one 3-D tensor per projection, streamed expert by expert.

import { QuantfitError } from '../../errors.ts';
import { hparamInt } from '../hf-config.ts';
import type { SourceTensor } from '../folder.ts';
import type { ArchContext, ArchModule, ConvTensor } from './types.ts';
import { blockCount, blockId, cannotMap, expectShape, isSkipped, plain, rowsOf, textModelKvs } from './common.ts';
import { LLAMA_NAMES, mapName } from './llama.ts';

const QWEN_NAMES: ReadonlyArray<readonly [RegExp, string]> = [
  ...LLAMA_NAMES,
  [/^model\.layers\.(\d+)\.self_attn\.q_norm$/, 'blk.{bid}.attn_q_norm'],
  [/^model\.layers\.(\d+)\.self_attn\.k_norm$/, 'blk.{bid}.attn_k_norm'],
  [/^model\.layers\.(\d+)\.mlp\.gate$/, 'blk.{bid}.ffn_gate_inp'],
  [/^model\.layers\.(\d+)\.mlp\.experts\.down_proj$/, 'blk.{bid}.ffn_down_exps'],
  [/^model\.layers\.(\d+)\.mlp\.experts\.gate_proj$/, 'blk.{bid}.ffn_gate_exps'],
  [/^model\.layers\.(\d+)\.mlp\.experts\.up_proj$/, 'blk.{bid}.ffn_up_exps'],
];

function shapeChecks(ctx: ArchContext) {
  const c = ctx.config;
  const hidden = hparamInt(c, ['hidden_size'], true);
  const vocab = hparamInt(c, ['vocab_size'], true);
  const nHead = hparamInt(c, ['num_attention_heads'], true);
  const nKv = hparamInt(c, ['num_key_value_heads']) ?? nHead;
  const dim = hparamInt(c, ['head_dim']) ?? Math.floor(hidden / nHead);
  return (src: SourceTensor, name: string) => {
    if (name === 'token_embd.weight' || name === 'output.weight') expectShape(src, [vocab, hidden], 'vocab_size × hidden_size');
    else if (name.endsWith('.attn_q.weight')) expectShape(src, [nHead * dim, hidden], 'num_attention_heads × head_dim, hidden_size');
    else if (name.endsWith('.attn_k.weight') || name.endsWith('.attn_v.weight')) expectShape(src, [nKv * dim, hidden], 'num_key_value_heads × head_dim, hidden_size');
  };
}

/** Qwen2MoeModel.modify_tensors: per-expert tensors gathered per layer, emitted as down, gate, up stacks once all are seen. */
function qwenTensors(ctx: ArchContext, arch: string): ConvTensor[] {
  const nBlocks = blockCount(ctx.config);
  const check = shapeChecks(ctx);
  const nExperts = hparamInt(ctx.config, ['num_local_experts', 'num_experts']);
  const pending = new Map<number, Map<string, SourceTensor>>();
  const out: ConvTensor[] = [];
  for (const src of ctx.tensors) {
    if (isSkipped(src.name)) continue;
    const expert = /^model\.layers\.(\d+)\.mlp\.experts\.(\d+)\.(down_proj|gate_proj|up_proj)\.weight$/.exec(src.name);
    if (expert && nExperts !== undefined && arch === 'qwen3moe') {
      const bid = blockId(src.name)!;
      if (bid >= nBlocks || Number(expert[2]) >= nExperts) throw cannotMap(src.name, arch);
      const layer = pending.get(bid) ?? new Map<string, SourceTensor>();
      pending.set(bid, layer);
      layer.set(src.name, src);
      if (layer.size >= nExperts * 3) {
        for (const proj of ['down_proj', 'gate_proj', 'up_proj']) out.push(stackExperts(layer, bid, proj, nExperts, nBlocks, arch));
        pending.delete(bid);
      }
      continue;
    }
    const name = mapName(QWEN_NAMES, src.name, nBlocks);
    if (name === undefined || (arch !== 'qwen3moe' && /_exps\.|ffn_gate_inp/.test(name))) throw cannotMap(src.name, arch);
    check(src, name);
    out.push(plain(name, src));
  }
  for (const [bid, layer] of pending) {
    throw new QuantfitError(`layer ${bid} has ${layer.size} of its ${nExperts! * 3} expert tensors (incomplete download?)`, { tensor: [...layer.keys()][0] }, { code: 'convert.incompleteExperts', params: { layer: bid, have: layer.size, want: nExperts! * 3 } });
  }
  return out;
}

function stackExperts(layer: Map<string, SourceTensor>, bid: number, proj: string, n: number, nBlocks: number, arch: string): ConvTensor {
  const segments = [];
  let shape: readonly number[] | undefined;
  for (let x = 0; x < n; x++) {
    const key = `model.layers.${bid}.mlp.experts.${x}.${proj}.weight`;
    const src = layer.get(key);
    if (!src) throw new QuantfitError(`expert tensor '${key}' is missing`, { tensor: key }, { code: 'convert.incompleteExperts', params: { layer: bid, have: layer.size, want: n * 3 } });
    if (shape && (src.info.shape.length !== shape.length || src.info.shape.some((d, i) => d !== shape![i]))) {
      throw new QuantfitError(`expert tensor shape [${src.info.shape.join(', ')}] differs from expert 0's [${shape.join(', ')}]`, { file: src.file.header.path, tensor: key }, { code: 'convert.shapeMismatch', params: { tensor: key, shape: src.info.shape.join(', '), want: shape.join(', '), why: 'every expert alike' } });
    }
    shape = src.info.shape;
    segments.push({ src, rows: rowsOf(src) });
  }
  const name = mapName(QWEN_NAMES, `model.layers.${bid}.mlp.experts.${proj}.weight`, nBlocks);
  if (name === undefined) throw cannotMap(`model.layers.${bid}.mlp.experts.${proj}.weight`, arch);
  return { name, shape: [n, ...shape!], segments };
}

function qwenModule(hf: string[], arch: string): ArchModule {
  return {
    hfArchitectures: hf,
    ggufArch: arch,
    hparamKvs(ctx) {
      const kv = textModelKvs(ctx, arch);
      if (arch === 'qwen3moe') {
        kv.u32('{arch}.expert_feed_forward_length', hparamInt(ctx.config, ['moe_intermediate_size']));
        kv.u32('{arch}.expert_shared_feed_forward_length', hparamInt(ctx.config, ['shared_expert_intermediate_size']));
      }
      return kv.list;
    },
    tensors: (ctx) => qwenTensors(ctx, arch),
  };
}

export const qwen2 = qwenModule(['Qwen2ForCausalLM'], 'qwen2');
export const qwen3 = qwenModule(['Qwen3ForCausalLM'], 'qwen3');
export const qwen3moe = qwenModule(['Qwen3MoeForCausalLM'], 'qwen3moe');

// The parts every text architecture shares, as the converter's TextModel: its set_gguf_parameters
// keys, rope parameters, the rows of a source tensor, the unmappable-tensor error and shape checks.

import { QuantfitError } from '../../errors.ts';
import { GgufValueType as V, type GgufKv } from '../../gguf/types.ts';
import { findHparam, hparamInt, hparamNumber, type HfConfig } from '../hf-config.ts';
import type { SourceTensor } from '../folder.ts';
import type { ArchContext, ConvTensor, Segment } from './types.ts';

export type RopeParams = Record<string, unknown>;

/** TextModel.__init__'s rope_parameters: rope_parameters or rope_scaling, with the global keys mirrored in. */
export function ropeParameters(config: HfConfig): RopeParams {
  const given = (config.rope_parameters !== undefined ? config.rope_parameters : config.rope_scaling) ?? {};
  const rope: RopeParams = typeof given === 'object' && !Array.isArray(given) ? { ...(given as RopeParams) } : {};
  if (!('full_attention' in rope) && !('sliding_attention' in rope)) {
    const theta = findHparam(config, ['global_rope_theta', 'rope_global_theta', 'rope_theta_global', 'rope_theta', 'rotary_emb_base']);
    const local = findHparam(config, ['local_rope_theta', 'rope_local_theta', 'rope_theta_local', 'swa_rope_theta', 'rope_local_base_freq']);
    const partial = findHparam(config, ['partial_rotary_factor', 'rope_pct', 'rope_percent']);
    const origMax = findHparam(config, ['original_max_position_embeddings']);
    if (local !== undefined && local !== null) rope.sliding_attention = { rope_theta: local };
    if (!('rope_theta' in rope) && theta !== undefined && theta !== null) rope.rope_theta = theta;
    if (!('rope_type' in rope) && rope.type !== undefined && rope.type !== null) rope.rope_type = rope.type;
    if (!('partial_rotary_factor' in rope) && partial !== undefined && partial !== null) rope.partial_rotary_factor = partial;
    if (!('original_max_position_embeddings' in rope) && origMax !== undefined && origMax !== null) rope.original_max_position_embeddings = origMax;
  }
  return rope;
}

/** The parameters of full attention (or the only ones). */
export function fullAttentionRope(config: HfConfig): RopeParams {
  const rope = ropeParameters(config);
  const full = rope.full_attention;
  return typeof full === 'object' && full !== null ? full as RopeParams : rope;
}

export class KvList {
  readonly list: GgufKv[] = [];
  constructor(private readonly arch: string) {}
  /** Adds or, like the converter's dict, replaces in place. */
  put(key: string, type: number, value: GgufKv['value']): void {
    const k = key.replace('{arch}', this.arch);
    const at = this.list.findIndex((e) => e.key === k);
    const entry = { key: k, type, value };
    if (at >= 0) this.list[at] = entry;
    else this.list.push(entry);
  }
  u32(key: string, value: number | undefined): void { if (value !== undefined) this.put(key, V.UINT32, value); }
  f32(key: string, value: number | undefined): void { if (value !== undefined) this.put(key, V.FLOAT32, value); }
  str(key: string, value: string | undefined): void { if (value) this.put(key, V.STRING, value); }
  bool(key: string, value: boolean | undefined): void { if (value !== undefined) this.put(key, V.BOOL, value); }
}

function num(v: unknown, key: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new QuantfitError(`'${key}' should be a number, found ${JSON.stringify(v)}`, { file: 'config.json', key }, { code: 'convert.badConfig', params: { file: 'config.json', why: `'${key}' should be a number` } });
  }
  return v;
}

export function blockCount(config: HfConfig): number {
  return hparamInt(config, ['n_layers', 'num_hidden_layers', 'n_layer', 'num_layers'], true);
}

/** TextModel.set_gguf_parameters, general.file_type last. */
export function textModelKvs(ctx: ArchContext, arch: string): KvList {
  const c = ctx.config;
  const kv = new KvList(arch);
  kv.u32('{arch}.block_count', blockCount(c));
  kv.u32('{arch}.context_length', hparamInt(c, ['max_position_embeddings', 'n_ctx', 'n_positions', 'max_length', 'max_sequence_length', 'model_max_length']));
  kv.u32('{arch}.embedding_length', hparamInt(c, ['hidden_size', 'n_embd', 'dim']));
  kv.u32('{arch}.feed_forward_length', hparamInt(c, ['prefix_dense_intermediate_size', 'dense_intermediate_size', 'intermediate_size', 'n_inner', 'hidden_dim']));
  kv.u32('{arch}.attention.head_count', hparamInt(c, ['num_attention_heads', 'n_head', 'n_heads']));
  kv.u32('{arch}.attention.head_count_kv', hparamInt(c, ['num_key_value_heads', 'n_kv_heads']));
  if (c.is_causal === false) kv.bool('{arch}.attention.causal', false);

  const rope = fullAttentionRope(c);
  const ropeType = rope.rope_type;
  if (typeof ropeType === 'string') {
    const factor = num(rope.factor, 'rope_scaling.factor');
    if (ropeType === 'linear' && factor !== undefined) {
      kv.str('{arch}.rope.scaling.type', 'linear');
      kv.f32('{arch}.rope.scaling.factor', factor);
    } else if (ropeType === 'yarn' && factor !== undefined) {
      kv.str('{arch}.rope.scaling.type', 'yarn');
      kv.f32('{arch}.rope.scaling.factor', factor);
      kv.u32('{arch}.rope.scaling.original_context_length', num(rope.original_max_position_embeddings, 'rope_scaling.original_max_position_embeddings'));
      kv.f32('{arch}.rope.scaling.yarn_ext_factor', num(rope.extrapolation_factor, 'rope_scaling.extrapolation_factor'));
      kv.f32('{arch}.rope.scaling.yarn_attn_factor', num(rope.attention_factor ?? rope.attn_factor, 'rope_scaling.attention_factor'));
      kv.f32('{arch}.rope.scaling.yarn_beta_fast', num(rope.beta_fast, 'rope_scaling.beta_fast'));
      kv.f32('{arch}.rope.scaling.yarn_beta_slow', num(rope.beta_slow, 'rope_scaling.beta_slow'));
    } else if (ropeType === 'su' || ropeType === 'longrope') {
      kv.str('{arch}.rope.scaling.type', 'longrope');
    }
  }
  kv.f32('{arch}.rope.freq_base', num(rope.rope_theta, 'rope_theta'));
  const sliding = ropeParameters(c).sliding_attention;
  if (typeof sliding === 'object' && sliding !== null) kv.f32('{arch}.rope.freq_base_swa', num((sliding as RopeParams).rope_theta, 'rope_local_base_freq'));
  kv.f32('{arch}.attention.layer_norm_rms_epsilon', hparamNumber(c, ['rms_norm_eps', 'norm_eps']));
  kv.f32('{arch}.attention.layer_norm_epsilon', hparamNumber(c, ['layer_norm_eps', 'layer_norm_epsilon', 'norm_epsilon']));
  kv.u32('{arch}.expert_count', hparamInt(c, ['num_local_experts', 'num_experts', 'n_routed_experts']));
  kv.u32('{arch}.expert_used_count', hparamInt(c, ['num_experts_per_tok', 'num_experts_per_token', 'top_k_experts']));
  const headDim = hparamInt(c, ['head_dim']);
  kv.u32('{arch}.attention.key_length', headDim);
  kv.u32('{arch}.attention.value_length', headDim);
  kv.u32('general.file_type', ctx.fileType);
  return kv;
}

/** Rows of a source tensor: elements / last dimension (a 1-D tensor is one row). */
export function rowsOf(t: SourceTensor): number {
  const s = t.info.shape;
  if (s.length === 0) return 1;
  const ne0 = s[s.length - 1]!;
  return ne0 === 0 ? 0 : s.reduce((a, b) => a * b, 1) / ne0;
}

/** A tensor copied as is under a new name. */
export function plain(name: string, src: SourceTensor, extra: Partial<Segment> = {}): ConvTensor {
  return { name, shape: src.info.shape, segments: [{ src, rows: rowsOf(src), ...extra }] };
}

export function cannotMap(name: string, arch: string): QuantfitError {
  return new QuantfitError(`cannot map tensor '${name}' to ${arch} (not a tensor this architecture has)`, { tensor: name }, { code: 'convert.unknownTensor', params: { tensor: name, arch } });
}

export function shapeMismatch(src: SourceTensor, want: readonly number[], why: string): QuantfitError {
  const msg = `tensor shape [${src.info.shape.join(', ')}] disagrees with config.json (${why}: expected [${want.join(', ')}])`;
  return new QuantfitError(msg, { file: src.file.header.path, tensor: src.info.name }, { code: 'convert.shapeMismatch', params: { tensor: src.info.name, shape: src.info.shape.join(', '), want: want.join(', '), why } });
}

export function expectShape(src: SourceTensor, want: readonly number[], why: string): void {
  const s = src.info.shape;
  if (s.length !== want.length || s.some((d, i) => d !== want[i])) throw shapeMismatch(src, want, why);
}

/** The names the converter skips outright (prepare_tensors). */
export function isSkipped(name: string): boolean {
  return name.endsWith('.attention.masked_bias') || name.endsWith('.attention.bias') || name.endsWith('.rotary_emb.inv_freq');
}

/** The block index: the first all-digit part of the name (the converter's bid). */
export function blockId(name: string): number | undefined {
  for (const part of name.split('.')) if (/^[0-9]+$/.test(part)) return Number(part);
  return undefined;
}

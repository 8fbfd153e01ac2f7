// Small llama-like models for the quantizer tests, built on the synthetic-gguf builder. Enough layers
// for llama-quantize's layer rules (use_more_bits, n/8, n/16), tiny row counts so files stay small:
// llama_model_quantize reads only hyper-parameters, never checks tensor shapes against them.

import { GgufValueType } from '../../src-main/core/gguf/types.ts';
import type { SyntheticModel, SyntheticTensor } from './synthetic-gguf.ts';

export interface QuantModelOptions {
  /** Row length of most weights (ne0); 256 lets K-quants apply, 96/160 force fallbacks. */
  nEmbd?: number;
  /** Row length of ffn_down (its ne0 = n_ff). */
  nFf?: number;
  nLayer?: number;
  nHead?: number;
  nHeadKv?: number;
  /** Rows per weight matrix (ne1) — kept tiny. */
  rows?: number;
  /** No output.weight: token_embd doubles as the output (tied embeddings). */
  tied?: boolean;
  /** MoE with 3-D expert tensors [ne0, rows, nExpert]. */
  nExpert?: number;
  /** A fused attn_qkv instead of separate q/k/v. */
  fusedQkv?: boolean;
  type?: 'F32' | 'F16';
  arch?: string;
  seed?: number;
  /** Extra tensors (e.g. names the policy never quantizes). */
  extra?: SyntheticTensor[];
}

export function quantModel(o: QuantModelOptions = {}): SyntheticModel {
  const nEmbd = o.nEmbd ?? 256, nFf = o.nFf ?? nEmbd, nLayer = o.nLayer ?? 16;
  const nHead = o.nHead ?? 8, nHeadKv = o.nHeadKv ?? nHead, rows = o.rows ?? 4;
  const type = o.type ?? 'F32';
  const arch = o.arch ?? 'llama';
  const nExpert = o.nExpert ?? 0;
  const vocab = 16;
  const w = (name: string, shape: number[]): SyntheticTensor => ({ name, shape, type });
  const norm = (name: string, n: number): SyntheticTensor => ({ name, shape: [n], scale: 1 });
  const tensors: SyntheticTensor[] = [w('token_embd.weight', [nEmbd, vocab]), norm('output_norm.weight', nEmbd)];
  if (!o.tied) tensors.push(w('output.weight', [nEmbd, vocab]));
  for (let b = 0; b < nLayer; b++) {
    const p = `blk.${b}.`;
    if (o.fusedQkv) tensors.push(w(`${p}attn_qkv.weight`, [nEmbd, rows * 3]));
    else tensors.push(w(`${p}attn_q.weight`, [nEmbd, rows]), w(`${p}attn_k.weight`, [nEmbd, rows]), w(`${p}attn_v.weight`, [nEmbd, rows]));
    tensors.push(w(`${p}attn_output.weight`, [nEmbd, rows]), norm(`${p}attn_norm.weight`, nEmbd), norm(`${p}ffn_norm.weight`, nEmbd));
    if (nExpert > 0) {
      tensors.push(
        { name: `${p}ffn_gate_inp.weight`, shape: [nEmbd, nExpert] },
        w(`${p}ffn_gate_exps.weight`, [nEmbd, rows, nExpert]),
        w(`${p}ffn_up_exps.weight`, [nEmbd, rows, nExpert]),
        w(`${p}ffn_down_exps.weight`, [nFf, rows, nExpert]),
      );
    } else {
      tensors.push(w(`${p}ffn_gate.weight`, [nEmbd, rows]), w(`${p}ffn_up.weight`, [nEmbd, rows]), w(`${p}ffn_down.weight`, [nFf, rows]));
    }
  }
  tensors.push(...(o.extra ?? []));
  const hparams: Record<string, number> = {
    context_length: 128, embedding_length: nEmbd, feed_forward_length: nFf, block_count: nLayer,
    'attention.head_count': nHead, 'attention.head_count_kv': nHeadKv, 'rope.dimension_count': nEmbd / nHead,
    'attention.layer_norm_rms_epsilon': 1e-5, 'attention.layer_norm_epsilon': 1e-5, vocab_size: vocab,
  };
  if (nExpert > 0) Object.assign(hparams, { expert_count: nExpert, expert_used_count: 2 });
  return {
    arch,
    name: 'quant-test',
    seed: o.seed ?? 7,
    hparams,
    kv: [{ key: 'general.file_type', type: GgufValueType.UINT32, value: type === 'F16' ? 1 : 0 }],
    tensors,
  };
}

/** The model variants the parity tests sweep: each exercises a different branch of the policy. */
export const MODEL_VARIANTS: ReadonlyArray<{ name: string; options: QuantModelOptions }> = [
  { name: 'llama-256', options: {} },
  { name: 'llama-gqa4-tied', options: { nHeadKv: 2, tied: true } },
  { name: 'llama-96-f16', options: { nEmbd: 96, nFf: 176, type: 'F16', nHeadKv: 4 } },
  { name: 'moe8', options: { nExpert: 8, nHeadKv: 4, nLayer: 8 } },
  { name: 'moe4-f16-qkv', options: { nExpert: 4, type: 'F16', fusedQkv: true, nLayer: 8 } },
  { name: 'falcon', options: { arch: 'falcon', nHeadKv: 1, nLayer: 8 } },
  {
    name: 'odd-names',
    options: {
      nLayer: 12,
      extra: [
        { name: 'position_embd.weight', shape: [256, 4] },
        { name: 'token_types.weight', shape: [256, 2] },
        { name: 'per_layer_token_embd.weight', shape: [256, 4] },
        { name: 'blk.1.ssm_conv1d.weight', shape: [256, 4] },
        { name: 'blk.2.attn_output.bias', shape: [256] },
        { name: 'blk.3.attn_rel_b.weight', shape: [256, 4] },
        { name: 'blk.4.ffn_down.weight_extra', shape: [256, 4] },
        { name: 'blk.5.column.weight', shape: [256, 1] },
        { name: 'v.patch_embd.weight', shape: [256, 4] },
        { name: 'rope_freqs.weight', shape: [256, 1, 1] },
        { name: 'abcde', shape: [256, 4] },
        { name: 'abcdef', shape: [256, 4] },
      ],
    },
  },
  { name: 'llama70b-shape', options: { nLayer: 80, nHeadKv: 1, rows: 1, nEmbd: 256 } },
];

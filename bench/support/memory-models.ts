// Realistic-size models for the memory-estimate bench: the shapes of real small models (dense, GQA with a
// 152K vocabulary, MoE, sliding window) with random F16 weights, quantized by our quantizer (llama-quantize's
// bytes). Cached under node_modules/.cache by a hash of the spec, so reruns only measure.

import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GgufWriter } from '../../src-main/core/gguf/writer.ts';
import { GgmlType } from '../../src-main/core/gguf/ggml-types.ts';
import { GgufValueType } from '../../src-main/core/gguf/types.ts';
import { fp32ToFp16 } from '../../src-main/core/quant/numeric.ts';
import { syntheticKv, tensorTypeId, tinyLlama, type SyntheticModel, type SyntheticTensor } from '../../test/support/synthetic-gguf.ts';

const CACHE = fileURLToPath(new URL('../../node_modules/.cache/quantfit-memory-bench/', import.meta.url));

export interface MemoryShape {
  readonly name: string;
  readonly what: string;
  readonly spec: SyntheticModel;
}

/** Dense attention (n_head_kv = n_head), TinyLlama-like widths, 32K vocab. */
function dense(): SyntheticModel {
  return tinyLlama({ nEmbd: 1536, nLayer: 16, nHead: 12, nHeadKv: 12, nFf: 4096, nVocab: 32000, nCtx: 32768, type: 'F16' });
}

/** Qwen2.5-0.5B's widths (GQA 14/2, 151,936 vocab) on the llama architecture. */
function gqa(): SyntheticModel {
  return tinyLlama({ nEmbd: 896, nLayer: 24, nHead: 14, nHeadKv: 2, nFf: 4864, nVocab: 151936, nCtx: 32768, type: 'F16' });
}

/** Mixtral-style MoE on the llama architecture: 8 experts, 2 used, GQA 16/4. */
function moe(): SyntheticModel {
  const nEmbd = 1024, nLayer = 12, nHead = 16, nHeadKv = 4, nFf = 1408, nExpert = 8;
  const base = tinyLlama({ nEmbd, nLayer: 0, nHead, nHeadKv, nFf, nVocab: 32000, nCtx: 32768, type: 'F16' });
  const head = nEmbd / nHead;
  const tensors: SyntheticTensor[] = [...base.tensors];
  for (let b = 0; b < nLayer; b++) {
    tensors.push(
      { name: `blk.${b}.attn_norm.weight`, shape: [nEmbd] },
      { name: `blk.${b}.attn_q.weight`, shape: [nEmbd, nEmbd], type: 'F16' },
      { name: `blk.${b}.attn_k.weight`, shape: [nEmbd, head * nHeadKv], type: 'F16' },
      { name: `blk.${b}.attn_v.weight`, shape: [nEmbd, head * nHeadKv], type: 'F16' },
      { name: `blk.${b}.attn_output.weight`, shape: [nEmbd, nEmbd], type: 'F16' },
      { name: `blk.${b}.ffn_norm.weight`, shape: [nEmbd] },
      { name: `blk.${b}.ffn_gate_inp.weight`, shape: [nEmbd, nExpert] },
      { name: `blk.${b}.ffn_gate_exps.weight`, shape: [nEmbd, nFf, nExpert], type: 'F16' },
      { name: `blk.${b}.ffn_down_exps.weight`, shape: [nFf, nEmbd, nExpert], type: 'F16' },
      { name: `blk.${b}.ffn_up_exps.weight`, shape: [nEmbd, nFf, nExpert], type: 'F16' },
    );
  }
  return { ...base, name: 'moe-8x', hparams: { ...base.hparams, block_count: nLayer, expert_count: nExpert, expert_used_count: 2 }, tensors };
}

/** Gemma-3-1B's widths: 26 layers, 4 heads, 1 KV head of 256, 512-token window on 5 of 6 layers, 262K vocab, tied output. */
function slidingWindow(): SyntheticModel {
  const nEmbd = 1152, nLayer = 26, nHead = 4, nHeadKv = 1, head = 256, nFf = 6912, nVocab = 262144;
  const base = tinyLlama({ nEmbd: 64, nLayer: 0, nHead: 4, nHeadKv: 1, nFf: 64, nVocab, type: 'F16' });
  const tensors: SyntheticTensor[] = [
    { name: 'token_embd.weight', shape: [nEmbd, nVocab], type: 'F16' },
    { name: 'output_norm.weight', shape: [nEmbd] },
  ];
  for (let b = 0; b < nLayer; b++) {
    tensors.push(
      { name: `blk.${b}.attn_norm.weight`, shape: [nEmbd] },
      { name: `blk.${b}.attn_q.weight`, shape: [nEmbd, nHead * head], type: 'F16' },
      { name: `blk.${b}.attn_k.weight`, shape: [nEmbd, nHeadKv * head], type: 'F16' },
      { name: `blk.${b}.attn_v.weight`, shape: [nEmbd, nHeadKv * head], type: 'F16' },
      { name: `blk.${b}.attn_q_norm.weight`, shape: [head] },
      { name: `blk.${b}.attn_k_norm.weight`, shape: [head] },
      { name: `blk.${b}.attn_output.weight`, shape: [nHead * head, nEmbd], type: 'F16' },
      { name: `blk.${b}.post_attention_norm.weight`, shape: [nEmbd] },
      { name: `blk.${b}.ffn_norm.weight`, shape: [nEmbd] },
      { name: `blk.${b}.ffn_gate.weight`, shape: [nEmbd, nFf], type: 'F16' },
      { name: `blk.${b}.ffn_up.weight`, shape: [nEmbd, nFf], type: 'F16' },
      { name: `blk.${b}.ffn_down.weight`, shape: [nFf, nEmbd], type: 'F16' },
      { name: `blk.${b}.post_ffw_norm.weight`, shape: [nEmbd] },
    );
  }
  return {
    arch: 'gemma3',
    name: 'gemma3-shaped',
    hparams: {
      context_length: 32768, embedding_length: nEmbd, feed_forward_length: nFf, block_count: nLayer,
      'attention.head_count': nHead, 'attention.head_count_kv': nHeadKv, 'attention.key_length': head, 'attention.value_length': head,
      'attention.layer_norm_rms_epsilon': 1e-6, 'attention.sliding_window': 512, 'rope.freq_base': 1000000,
    },
    kv: (base.kv ?? []).filter((e) => e.key.startsWith('tokenizer.')).concat([{ key: 'general.file_type', type: GgufValueType.UINT32, value: 1 }]),
    tensors,
  };
}

export const MEMORY_SHAPES: readonly MemoryShape[] = [
  { name: 'dense', what: 'llama 0.55B, 12/12 heads, 32K vocab', spec: dense() },
  { name: 'gqa', what: 'Qwen2.5-0.5B widths, 14/2 heads, 152K vocab', spec: gqa() },
  { name: 'moe', what: 'llama MoE 8×1408 (2 used), 16/4 heads', spec: moe() },
  { name: 'swa', what: 'Gemma-3-1B widths, window 512, 262K vocab', spec: slidingWindow() },
];

/** Writes `spec` with weight-like random values (N(0, 0.02), norms near 1), fast enough for 1B parameters. */
async function writeF16(path: string, spec: SyntheticModel): Promise<void> {
  const tensors = spec.tensors.map((t) => ({ name: t.name, type: tensorTypeId(t.type), shape: t.shape }));
  const w = await GgufWriter.create(path, { kv: syntheticKv(spec), tensors });
  let s = 0x2545f491;
  const uniform = () => {
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    return ((s >>> 0) + 0.5) / 4294967296;
  };
  // Values are drawn once into a table and reused with a rolling offset: the quantizer does the same
  // work whatever the values, and memory does not depend on them.
  const table = new Uint16Array(1 << 20);
  for (let k = 0; k < table.length; k += 2) {
    const r = Math.sqrt(-2 * Math.log(uniform()));
    const a = 2 * Math.PI * uniform();
    table[k] = fp32ToFp16(r * Math.cos(a) * 0.02);
    table[k + 1] = fp32ToFp16(r * Math.sin(a) * 0.02);
  }
  const slab = new Uint16Array(1 << 22);
  try {
    for (const t of tensors) {
      const n = t.shape.reduce((a, b) => a * b, 1);
      if (t.type === GgmlType.F32) {
        const v = new Float32Array(n);
        for (let k = 0; k < n; k++) v[k] = 1 + 0.1 * (uniform() - 0.5);
        await w.writeTensorData(new Uint8Array(v.buffer));
        continue;
      }
      for (let done = 0; done < n; done += slab.length) {
        const m = Math.min(slab.length, n - done);
        const offset = Math.floor(uniform() * table.length);
        for (let k = 0; k < m; k++) slab[k] = table[(offset + k * 7) & (table.length - 1)]!;
        await w.writeTensorData(new Uint8Array(slab.buffer, 0, m * 2));
      }
    }
    await w.finish();
  } catch (err) {
    await w.abort();
    throw err;
  }
}

function specHash(spec: SyntheticModel, ftype: string): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ ftype, arch: spec.arch, hparams: spec.hparams, tensors: spec.tensors.map((t) => [t.name, t.shape, t.type]) }));
  return h.digest('hex').slice(0, 12);
}

/** Path of `shape` quantized to `ftype`, building it (F16 → quantizeFile) when not cached. */
export async function quantizedModel(shape: MemoryShape, ftype: string, log: (line: string) => void = () => {}): Promise<string> {
  await mkdir(CACHE, { recursive: true });
  const out = join(CACHE, `${shape.name}-${ftype}-${specHash(shape.spec, ftype)}.gguf`);
  if (existsSync(out)) return out;
  const f16 = `${out}.f16.tmp`;
  const t0 = performance.now();
  try {
    await writeF16(f16, shape.spec);
    const { quantizeFile } = await import('../../src-main/core/quant/pipeline.ts');
    await quantizeFile(f16, `${out}.tmp`, { ftype });
    await rename(`${out}.tmp`, out);
  } finally {
    await rm(f16, { force: true });
    await rm(`${out}.tmp`, { force: true });
  }
  log(`# built ${shape.name} ${ftype} in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  return out;
}

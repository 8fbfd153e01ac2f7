// Test helpers for the advisor: in-memory headers from hparams, and a full-size 7B-shaped GGUF
// written sparsely (a real header, the data region left as a hole).

import { open } from 'node:fs/promises';
import { GgufValueType, type GgufHeader, type GgufKv, type GgufValue } from '../../src-main/core/gguf/types.ts';
import { encodeGgufHeader, ggufTensorByteSize } from '../../src-main/core/gguf/encode.ts';
import { readGgufHeader } from '../../src-main/core/gguf/reader.ts';
import { syntheticKv, tensorTypeId, tinyLlama, type SyntheticModel, type SyntheticTensor } from '../support/synthetic-gguf.ts';

/** An in-memory header (no tensors unless given) with `${arch}.*` hparams; arrays become u32/bool arrays. */
export function headerWith(arch: string, hparams: Record<string, number | readonly number[] | readonly boolean[]>, tensors: GgufHeader['tensors'] = []): GgufHeader {
  const kv: GgufKv[] = [{ key: 'general.architecture', type: GgufValueType.STRING, value: arch }];
  for (const [k, v] of Object.entries(hparams)) {
    if (typeof v === 'number') kv.push({ key: `${arch}.${k}`, type: GgufValueType.UINT32, value: v });
    else {
      const isBool = v.length > 0 && typeof v[0] === 'boolean';
      kv.push({ key: `${arch}.${k}`, type: GgufValueType.ARRAY, value: { elementType: isBool ? GgufValueType.BOOL : GgufValueType.UINT32, items: v as readonly GgufValue[] } });
    }
  }
  return { path: `${arch}.gguf`, fileSize: 0, version: 3, alignment: 32, kv, tensors, dataOffset: 0 };
}

/** LLaMA-1/2 7B: n_embd 4096, 32 layers, 32 heads (no GQA), n_ff 11008, vocab 32000, F16 weights. */
export function llama7b(): SyntheticModel {
  return tinyLlama({ nEmbd: 4096, nLayer: 32, nHead: 32, nHeadKv: 32, nFf: 11008, nVocab: 32000, nCtx: 4096, type: 'F16' });
}

/** Writes the model's real header and extends the file sparsely to its full size; returns the header read back. */
export async function writeSparseGguf(path: string, model: SyntheticModel): Promise<GgufHeader> {
  const tensors = model.tensors.map((t) => ({ name: t.name, type: tensorTypeId(t.type), shape: t.shape }));
  const encoded = encodeGgufHeader(syntheticKv(model), tensors);
  const fh = await open(path, 'w');
  try {
    await fh.write(encoded.bytes, 0, encoded.bytes.length, 0);
    await fh.truncate(encoded.layout.totalBytes);
  } finally {
    await fh.close();
  }
  return readGgufHeader(path);
}

/** Sum of F16 weight bytes, as a cross-check of the sparse file's size. */
export function dataBytes(model: SyntheticModel): number {
  return model.tensors.reduce((s, t) => s + ggufTensorByteSize(tensorTypeId(t.type), t.shape), 0);
}

/** Gemma-2-2B shapes (26 layers, 8 heads, 4 KV heads of 256, window 4096) with a small vocabulary. */
export function gemma2(): SyntheticModel {
  const nEmbd = 2304, nLayer = 26, nHead = 8, nHeadKv = 4, head = 256, nFf = 9216, nVocab = 32000;
  const base = tinyLlama({ nEmbd: 256, nLayer: 1, nHead: 4, nHeadKv: 2, nFf: 256, nVocab, type: 'F16' });
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
    arch: 'gemma2',
    name: 'gemma2-shaped',
    hparams: {
      context_length: 8192, embedding_length: nEmbd, feed_forward_length: nFf, block_count: nLayer,
      'attention.head_count': nHead, 'attention.head_count_kv': nHeadKv, 'attention.key_length': head, 'attention.value_length': head,
      'attention.layer_norm_rms_epsilon': 1e-6, 'attention.sliding_window': 4096,
    },
    kv: (base.kv ?? []).filter((e) => e.key.startsWith('tokenizer.')).concat([{ key: 'general.file_type', type: GgufValueType.UINT32, value: 1 }]),
    tensors,
  };
}


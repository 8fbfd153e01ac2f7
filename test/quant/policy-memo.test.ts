// planQuantization sorts and classifies a header's tensors once per tensor list (the advisor plans
// ~30 ftypes of one header). These tests pin what that must not change: every plan equals the plan of
// a fresh copy of its header, whichever headers, lists or options were planned before.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planQuantization, type QuantizeOptions, type QuantPlan } from '../../src-main/core/quant/policy.ts';
import { ggufLayout, ggufTensorByteSize } from '../../src-main/core/gguf/encode.ts';
import { GgmlType } from '../../src-main/core/gguf/ggml-types.ts';
import { GgufValueType, type GgufHeader, type GgufKv, type GgufTensorInfo } from '../../src-main/core/gguf/types.ts';
import { syntheticKv, tensorTypeId, tinyLlama, type SyntheticModel } from '../support/synthetic-gguf.ts';

/** The header a file of `model` would be read back as (in memory, no file). */
function headerOf(model: SyntheticModel): GgufHeader {
  const kv = syntheticKv(model);
  const infos = model.tensors.map((t) => ({ name: t.name, type: tensorTypeId(t.type), shape: t.shape }));
  const layout = ggufLayout(kv, infos);
  const tensors: GgufTensorInfo[] = infos.map((t, i) => ({ ...t, offset: layout.offsets[i]!, byteSize: ggufTensorByteSize(t.type, t.shape) }));
  return { path: 'model.gguf', fileSize: layout.totalBytes, version: 3, alignment: 32, kv, tensors, dataOffset: layout.headerBytes };
}

/** A plan of an identical header made of new objects: nothing remembered from `header` applies. */
const freshPlan = (header: GgufHeader, options: QuantizeOptions): QuantPlan => planQuantization(structuredClone(header), options);

const CASES: readonly QuantizeOptions[] = [
  { ftype: 'Q4_K_M' }, { ftype: 'Q3_K_M' }, { ftype: 'Q2_K' }, { ftype: 'IQ2_XS', hasImatrix: true }, { ftype: 'Q6_K' },
  { ftype: 'IQ4_XS' }, { ftype: 'COPY' }, { ftype: 'Q4_K_M', pure: true }, { ftype: 'Q5_K_M', leaveOutputTensor: true },
  { ftype: 'Q4_0', tokenEmbeddingType: GgmlType.Q8_0, outputTensorType: GgmlType.Q6_K },
  { ftype: 'Q4_K_S', tensorTypes: [{ pattern: 'ffn_down', type: GgmlType.Q8_0 }] },
];

const model = tinyLlama({ nEmbd: 256, nLayer: 8, nHead: 8, nHeadKv: 2, nFf: 512, nVocab: 512, type: 'F16' });

test('headers sharing a tensor list or tensor objects plan as fresh copies of themselves do', () => {
  const a = headerOf(model);
  // Same tensor list, other metadata (block_count decides the layer counters of the k-quant mixes).
  const b: GgufHeader = {
    ...a,
    kv: a.kv.map((e): GgufKv => (e.key === 'llama.block_count' ? { ...e, value: 16 } : e)),
  };
  // The same tensor objects in another list: without output.weight the embeddings are tied.
  const c: GgufHeader = { ...a, tensors: a.tensors.filter((t) => t.name !== 'output.weight') };
  // And reversed: a different input order, the same output order.
  const d: GgufHeader = { ...a, tensors: [...a.tensors].reverse() };
  for (const header of [a, b, c, d, a, c, b, d]) {
    for (const options of CASES) {
      assert.deepEqual(planQuantization(header, options), freshPlan(header, options), `${options.ftype} ${header === a ? 'a' : header === b ? 'b' : header === c ? 'c' : 'd'}`);
    }
  }
  // The cases above must differ where the headers differ, or they would show nothing.
  const types = (h: GgufHeader) => planQuantization(h, { ftype: 'Q4_K_M' }).tensors.map((t) => `${t.name}=${t.targetType}`).join();
  assert.notEqual(types(a), types(b));
  assert.notEqual(types(a), types(c));
  assert.equal(types(a), types(d));
});

test('a tensor list changed in place is planned afresh', () => {
  const header = headerOf(model);
  const tensors = header.tensors as GgufTensorInfo[];
  planQuantization(header, { ftype: 'Q4_K_M' });

  // A tensor replaced in place (same count): output.weight renamed, so the embeddings become tied.
  const i = tensors.findIndex((t) => t.name === 'output.weight');
  tensors[i] = { ...tensors[i]!, name: 'zz_extra.weight' };
  const replaced = planQuantization(header, { ftype: 'Q4_K_M' });
  assert.deepEqual(replaced, freshPlan(header, { ftype: 'Q4_K_M' }));
  // Non-layer tensors come first, by name: output_norm, token_embd, then the renamed one.
  assert.deepEqual(replaced.tensors.slice(0, 3).map((t) => t.name), ['output_norm.weight', 'token_embd.weight', 'zz_extra.weight']);

  // A tensor added.
  tensors.push({ name: 'blk.0.attn_v_extra.weight', type: GgmlType.F16, shape: [256, 64], offset: 0, byteSize: 256 * 64 * 2 });
  assert.deepEqual(planQuantization(header, { ftype: 'Q3_K_M' }), freshPlan(header, { ftype: 'Q3_K_M' }));
});

test('one header planned with many options in a row: each plan as if it were the first', () => {
  const header = headerOf({ ...model, kv: [...(model.kv ?? []), { key: 'general.alignment', type: GgufValueType.UINT32, value: 64 }] });
  const expected = CASES.map((o) => freshPlan(header, o));
  for (let round = 0; round < 2; round++) {
    for (const [k, options] of CASES.entries()) assert.deepEqual(planQuantization(header, options), expected[k], `${options.ftype} round ${round}`);
  }
});

// Shared pieces of the quantizer parity tests: the ftypes and option sets swept, the mapping of our
// options onto llama_model_quantize's params, and a header comparison that names every difference.

import { GgmlType } from '../../src-main/core/gguf/ggml-types.ts';
import type { GgufHeader } from '../../src-main/core/gguf/types.ts';
import { parseFtype } from '../../src-main/core/quant/ftypes.ts';
import { parseKvOverride, type QuantizeOptions, type QuantPlan } from '../../src-main/core/quant/policy.ts';
import type { OracleQuantizeParams } from './llama-quantize-oracle.ts';

/** The ftypes of issue #3 that need no importance matrix. */
export const ISSUE_FTYPES: readonly string[] = [
  'F32', 'F16', 'BF16', 'Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q2_K', 'Q3_K_S', 'Q3_K_M', 'Q3_K_L',
  'Q4_K_S', 'Q4_K_M', 'Q5_K_S', 'Q5_K_M', 'Q6_K', 'IQ4_NL', 'IQ4_XS', 'TQ1_0', 'TQ2_0',
];

const T = GgmlType;

/** Every llama-quantize option, alone and combined, each with the ftypes it is swept with. */
export const OPTION_CASES: ReadonlyArray<{ name: string; ftypes: readonly string[]; options: Omit<QuantizeOptions, 'ftype'> }> = [
  { name: 'pure', ftypes: ['Q4_K_M', 'Q3_K_M', 'Q2_K', 'IQ4_XS'], options: { pure: true } },
  { name: 'output-tensor-type', ftypes: ['Q4_K_M', 'F16', 'Q8_0'], options: { outputTensorType: T.Q4_0 } },
  { name: 'token-embedding-type', ftypes: ['Q4_K_M', 'BF16', 'TQ1_0'], options: { tokenEmbeddingType: T.Q8_0 } },
  {
    name: 'tensor-type',
    ftypes: ['Q4_K_M', 'Q5_K_S', 'F16'],
    options: { tensorTypes: [{ pattern: 'attn_v', type: T.Q8_0 }, { pattern: 'ffn_(up|gate)', type: T.IQ4_NL }, { pattern: 'blk\\.1[0-5]\\.', type: T.F16 }, { pattern: 'token_embd', type: T.Q6_K }] },
  },
  { name: 'leave-output-tensor', ftypes: ['Q4_K_M', 'Q6_K'], options: { leaveOutputTensor: true } },
  {
    name: 'override-kv',
    ftypes: ['Q4_K_M', 'Q8_0'],
    options: {
      overrideKv: ['quantfit.count=int:-7', 'quantfit.ratio=float:0.1', 'quantfit.flag=bool:true', 'general.name=str:renamed', 'general.file_type=int:99', 'llama.block_count=int:32']
        .map(parseKvOverride),
    },
  },
  {
    name: 'combined',
    ftypes: ['Q3_K_L', 'Q5_K_M'],
    options: { pure: true, outputTensorType: T.Q8_0, tokenEmbeddingType: T.Q4_K, tensorTypes: [{ pattern: 'ffn_down', type: T.Q6_K }], leaveOutputTensor: true },
  },
];

export function oracleParams(options: QuantizeOptions, nthread = 2): OracleQuantizeParams {
  const f = typeof options.ftype === 'object' ? options.ftype : parseFtype(options.ftype);
  return {
    ftype: f.id,
    onlyCopy: f.onlyCopy,
    nthread,
    pure: options.pure,
    outputTensorType: options.outputTensorType,
    tokenEmbeddingType: options.tokenEmbeddingType,
    tensorTypes: options.tensorTypes?.map((t) => ({ ...t })),
    quantizeOutputTensor: !options.leaveOutputTensor,
    allowRequantize: options.allowRequantize,
    kvOverrides: options.overrideKv?.map((o) => ({ ...o })),
    imatrix: options.imatrix ? new Map(options.imatrix) : undefined,
  };
}

const jsonish = (_k: string, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v);

/** Differences between a header llama.cpp wrote and our plan for it ([] when equal). */
export function planDiffs(written: GgufHeader, plan: QuantPlan): string[] {
  const diffs: string[] = [];
  if (written.tensors.length !== plan.tensors.length) diffs.push(`tensor count ${written.tensors.length} vs ${plan.tensors.length}`);
  written.tensors.forEach((t, i) => {
    const p = plan.tensors[i];
    if (!p) return;
    if (p.name !== t.name) diffs.push(`#${i}: name ${t.name} vs ${p.name}`);
    else if (p.targetType !== t.type) diffs.push(`${t.name}: type ${t.type} vs ${p.targetType}`);
    else if (JSON.stringify(p.shape) !== JSON.stringify(t.shape)) diffs.push(`${t.name}: shape ${t.shape} vs ${p.shape}`);
    else if (p.offset !== t.offset) diffs.push(`${t.name}: offset ${t.offset} vs ${p.offset}`);
  });
  const kvA = written.kv.map((k) => JSON.stringify(k, jsonish));
  const kvB = plan.kv.map((k) => JSON.stringify(k, jsonish));
  if (kvA.join('\n') !== kvB.join('\n')) {
    const i = kvA.findIndex((k, j) => k !== kvB[j]);
    diffs.push(`kv differ at #${i}: ${kvA[i] ?? '(none)'} vs ${kvB[i] ?? '(none)'}`);
  }
  if (written.fileSize !== plan.fileBytes) diffs.push(`file size ${written.fileSize} vs ${plan.fileBytes}`);
  return diffs;
}

/** A deterministic importance matrix for every 2-D/3-D tensor of a header (ne0 × experts values). */
export function syntheticImatrix(h: GgufHeader, seed = 3): Map<string, Float32Array> {
  const m = new Map<string, Float32Array>();
  let s = seed >>> 0;
  const rnd = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  for (const t of h.tensors) {
    if (t.shape.length < 2) continue;
    const v = new Float32Array(t.shape[0]! * (t.shape[2] ?? 1));
    for (let i = 0; i < v.length; i++) v[i] = 0.05 + rnd() * 4;
    m.set(t.name, v);
  }
  return m;
}

// How fast the advisor plans: a Llama-3-8B-shaped F16 GGUF (real tensor shapes, a byte-level BPE
// vocabulary of 128,256 tokens and 280,147 merges) written sparsely (a real header, the 16 GB data
// region a hole), then timed, each round: readGgufHeader; planQuantization for every ftype the
// advisor estimates on that fresh header, then again on the same header (the app keeps its header
// and re-estimates on every context-slider move); the advisor's whole advise() call on it; and
// recommendModel (header read + advise) with a fixed hardware profile, as `quantfit recommend` runs.
// Target: planning all types < 100 ms (the header read is separate, done once).
//
// Usage: node --import tsx bench/plan-speed.ts [--rounds N] [--scores] [--dir DIR]
//   --scores  also write tokenizer.ggml.scores (SentencePiece-style vocabularies carry one; Llama-3 does not)

import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { encodeGgufHeader } from '../src-main/core/gguf/encode.ts';
import { readGgufHeader } from '../src-main/core/gguf/reader.ts';
import { GgufValueType, type GgufHeader, type GgufKv, type GgufValue } from '../src-main/core/gguf/types.ts';
import { GgmlType } from '../src-main/core/gguf/ggml-types.ts';
import { planQuantization } from '../src-main/core/quant/policy.ts';
import { ESTIMATED_FTYPES, REQUIRES_IMATRIX } from '../src-main/core/advisor/quality.ts';
import { advise } from '../src-main/core/advisor/recommend.ts';
import { quantizerPlanner } from '../src-main/core/advisor/planner.ts';
import { recommendModel } from '../src-main/core/advisor/service.ts';
import { profileFromRaw } from '../src-main/core/hardware/profile.ts';
import type { RawHardware } from '../src-main/core/hardware/raw.ts';
import { makeTempDir, removeTempDir } from '../test/support/synthetic-gguf.ts';

const N_VOCAB = 128_256;
const N_MERGES = 280_147;
const N_EMBD = 4096, N_LAYER = 32, N_HEAD = 32, N_HEAD_KV = 8, N_FF = 14336, N_CTX = 8192;

/** Deterministic byte-level-BPE-looking strings: 'Ġ' marks a leading space, as GPT-2 vocabularies do. */
function vocab(): { tokens: string[]; merges: string[] } {
  let s = 0x2545f491;
  const rnd = (n: number) => {
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    return (s >>> 0) % n;
  };
  const letters = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  const word = (len: number) => {
    let w = rnd(3) === 0 ? '' : 'Ġ';
    for (let i = 0; i < len; i++) w += letters[rnd(letters.length)];
    return w;
  };
  const tokens: string[] = [];
  for (let i = 0; i < N_VOCAB; i++) {
    if (i >= 128_000) tokens.push(`<|reserved_special_token_${i - 128_000}|>`);
    else if (i < 256) tokens.push(String.fromCharCode(i < 33 ? 0x100 + i : i));
    else tokens.push(`${word(1 + rnd(9))}${i}`);
  }
  const merges: string[] = [];
  for (let i = 0; i < N_MERGES; i++) merges.push(`${word(1 + rnd(5))} ${word(1 + rnd(5)).replace('Ġ', '')}`);
  return { tokens, merges };
}

function llama3Kv(withScores: boolean): GgufKv[] {
  const { tokens, merges } = vocab();
  const arr = (elementType: number, items: readonly GgufValue[]): GgufValue => ({ elementType, items });
  const u32 = (key: string, value: number): GgufKv => ({ key, type: GgufValueType.UINT32, value });
  const f32 = (key: string, value: number): GgufKv => ({ key, type: GgufValueType.FLOAT32, value: Math.fround(value) });
  const str = (key: string, value: string): GgufKv => ({ key, type: GgufValueType.STRING, value });
  const kv: GgufKv[] = [
    str('general.architecture', 'llama'), str('general.name', 'Meta-Llama-3-8B-shaped'),
    u32('llama.block_count', N_LAYER), u32('llama.context_length', N_CTX), u32('llama.embedding_length', N_EMBD),
    u32('llama.feed_forward_length', N_FF), u32('llama.attention.head_count', N_HEAD), u32('llama.attention.head_count_kv', N_HEAD_KV),
    f32('llama.rope.freq_base', 500000), f32('llama.attention.layer_norm_rms_epsilon', 1e-5),
    u32('general.file_type', 1), u32('llama.vocab_size', N_VOCAB), u32('llama.rope.dimension_count', N_EMBD / N_HEAD),
    str('tokenizer.ggml.model', 'gpt2'), str('tokenizer.ggml.pre', 'llama-bpe'),
    { key: 'tokenizer.ggml.tokens', type: GgufValueType.ARRAY, value: arr(GgufValueType.STRING, tokens) },
  ];
  if (withScores) {
    kv.push({ key: 'tokenizer.ggml.scores', type: GgufValueType.ARRAY, value: arr(GgufValueType.FLOAT32, tokens.map((_, i) => -i)) });
  }
  kv.push(
    { key: 'tokenizer.ggml.token_type', type: GgufValueType.ARRAY, value: arr(GgufValueType.INT32, tokens.map((_, i) => (i >= 128_000 ? 3 : 1))) },
    { key: 'tokenizer.ggml.merges', type: GgufValueType.ARRAY, value: arr(GgufValueType.STRING, merges) },
    u32('tokenizer.ggml.bos_token_id', 128_000), u32('tokenizer.ggml.eos_token_id', 128_001),
    str('tokenizer.chat_template', "{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' + message['content'] + '<|eot_id|>' }}{% endfor %}"),
  );
  return kv;
}

function llama3Tensors(): { name: string; type: number; shape: number[] }[] {
  const F16 = GgmlType.F16, F32 = GgmlType.F32;
  const kvDim = (N_EMBD / N_HEAD) * N_HEAD_KV;
  const t = [
    { name: 'token_embd.weight', type: F16, shape: [N_EMBD, N_VOCAB] },
    { name: 'output_norm.weight', type: F32, shape: [N_EMBD] },
    { name: 'output.weight', type: F16, shape: [N_EMBD, N_VOCAB] },
    { name: 'rope_freqs.weight', type: F32, shape: [N_EMBD / N_HEAD / 2] },
  ];
  for (let b = 0; b < N_LAYER; b++) {
    t.push(
      { name: `blk.${b}.attn_norm.weight`, type: F32, shape: [N_EMBD] },
      { name: `blk.${b}.attn_q.weight`, type: F16, shape: [N_EMBD, N_EMBD] },
      { name: `blk.${b}.attn_k.weight`, type: F16, shape: [N_EMBD, kvDim] },
      { name: `blk.${b}.attn_v.weight`, type: F16, shape: [N_EMBD, kvDim] },
      { name: `blk.${b}.attn_output.weight`, type: F16, shape: [N_EMBD, N_EMBD] },
      { name: `blk.${b}.ffn_norm.weight`, type: F32, shape: [N_EMBD] },
      { name: `blk.${b}.ffn_gate.weight`, type: F16, shape: [N_EMBD, N_FF] },
      { name: `blk.${b}.ffn_up.weight`, type: F16, shape: [N_EMBD, N_FF] },
      { name: `blk.${b}.ffn_down.weight`, type: F16, shape: [N_FF, N_EMBD] },
    );
  }
  return t;
}

const ms = (t0: number) => performance.now() - t0;
const stats = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return `min ${sorted[0]!.toFixed(1).padStart(8)} ms   median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(1).padStart(8)} ms`;
};

/** Plans every estimated type; returns the milliseconds each took. */
function planAll(header: GgufHeader): number[] {
  return ESTIMATED_FTYPES.map((ftype) => {
    const t0 = performance.now();
    planQuantization(header, { ftype, hasImatrix: REQUIRES_IMATRIX.has(ftype) });
    return ms(t0);
  });
}
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, scores: { type: 'boolean', default: false }, dir: { type: 'string' } } });
  const rounds = Math.max(1, Number(values.rounds));
  const dir = await makeTempDir('plan-speed');
  try {
    const path = join(values.dir ?? dir, 'llama3-8b-f16.gguf');
    const t0 = performance.now();
    const encoded = encodeGgufHeader(llama3Kv(values.scores === true), llama3Tensors());
    const fh = await open(path, 'w');
    try {
      await fh.write(encoded.bytes, 0, encoded.bytes.length, 0);
      await fh.truncate(encoded.layout.totalBytes);
    } finally {
      await fh.close();
    }
    console.log(`# Llama-3-8B-shaped F16 header: ${(encoded.bytes.length / 1e6).toFixed(2)} MB, file ${(encoded.layout.totalBytes / 1e9).toFixed(2)} GB (sparse), ` +
      `${N_VOCAB} tokens, ${N_MERGES} merges${values.scores ? ', scores' : ''}; built in ${ms(t0).toFixed(0)} ms; ${rounds} rounds`);

    const raw = JSON.parse(await readFile(new URL('../test/fixtures/hardware/nvidia-8gb.json', import.meta.url), 'utf8')) as { raw: RawHardware };
    const hardware = profileFromRaw(raw.raw, 'fixture');
    const read: number[] = [], cold: number[] = [], warm: number[] = [], advised: number[] = [], recommended: number[] = [];
    let coldDetail: number[] = [];
    let pick = '';
    for (let r = 0; r < rounds; r++) {
      // A header read afresh: its first planning pass is what a CLI run pays.
      let t = performance.now();
      const header = await readGgufHeader(path);
      read.push(ms(t));
      const first = planAll(header);
      cold.push(sum(first));
      if (sum(first) === Math.min(...cold)) coldDetail = first;
      // The same header again: what the app pays per slider move.
      warm.push(sum(planAll(header)));
      t = performance.now();
      const report = advise(header, hardware, { planner: quantizerPlanner, hasImatrix: false, ctx: 8192 });
      advised.push(ms(t));
      pick = `${report.recommended.type} (${report.recommended.fit}), ${report.options.length} options, ${report.skipped.length} skipped`;
      t = performance.now();
      await recommendModel(path, { hardware, ctx: 8192 });
      recommended.push(ms(t));
    }
    console.log(`readGgufHeader                                   ${stats(read)}`);
    console.log(`planQuantization × ${ESTIMATED_FTYPES.length} types, fresh header       ${stats(cold)}`);
    console.log(`  per type in the fastest such pass (ms): ${ESTIMATED_FTYPES.map((f, i) => `${f} ${coldDetail[i]!.toFixed(1)}`).join(', ')}`);
    console.log(`planQuantization × ${ESTIMATED_FTYPES.length} types, same header again  ${stats(warm)}`);
    console.log(`advise (plan all + estimate), same header        ${stats(advised)}   → ${pick}`);
    console.log(`recommendModel (read header + advise)            ${stats(recommended)}`);
  } finally {
    await removeTempDir(dir);
  }
}

await main();

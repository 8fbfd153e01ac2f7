// Hugging Face folder → GGUF, byte for byte against llama.cpp's own converter (convert_hf_to_gguf.py
// at the oracle's commit): --outtype f32/f16/bf16/auto alone, and --outtype auto followed by
// llama_model_quantize for every quant type from Q8_0 to IQ4_XS and Q2_K, against our one pass.
// Synthetic Llama and Mistral folders with Llama 2's SentencePiece tokenizer: BF16, F16 and F32
// weights, one file and shards, tied and separate output, Llama 3.1 rope scaling.
// Every byte is ours: tokenizer.* come from convert/tokenizer (readTokenizerKvs).

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { readGgufHeader } from '../../src-main/core/gguf/reader.ts';
import { convertFolder, quantizeFolder } from '../../src-main/core/convert/write.ts';
import { parseFtype } from '../../src-main/core/quant/ftypes.ts';
import { makeTempDir, removeTempDir } from '../support/synthetic-gguf.ts';
import { MODEL_CARD, writeLlamaFolder, type LlamaFolderOptions } from '../support/hf-folders.ts';
import { convertOracleUnavailable, runConvertOracle } from '../support/convert-oracle.ts';
import { loadQuantizeOracle, quantizeOracleUnavailableReason } from '../support/llama-quantize-oracle.ts';

const convertReason = convertOracleUnavailable();
if (convertReason) console.log(`# skipping conversion parity: ${convertReason}`);
const quantReason = convertReason ?? quantizeOracleUnavailableReason();
if (quantReason && !convertReason) console.log(`# skipping converted quant parity: ${quantReason}`);

const LLAMA31_ROPE = { factor: 8.0, low_freq_factor: 1.0, high_freq_factor: 4.0, original_max_position_embeddings: 8192, rope_type: 'llama3' };

const FOLDERS: ReadonlyArray<{ name: string; options: LlamaFolderOptions }> = [
  { name: 'TinyLlama-1.1B-Chat-v1.0', options: { dtype: 'BF16', readme: MODEL_CARD } },
  { name: 'Mistral-7B-Instruct-v0.3', options: { architecture: 'MistralForCausalLM', dtype: 'F16', tied: true, shards: 3 } },
  { name: 'Meta-Llama-3.1-8B', options: { dtype: 'BF16', ropeTheta: 500000, ropeScaling: LLAMA31_ROPE, shards: 2 } },
  { name: 'smol', options: { dtype: 'F32', hidden: 128, heads: 2, kvHeads: 1, tied: true, readme: '---\nlicense: [mit, other]\nmodel_name: Smol Test\nbase_model: null\ntags: pretrained\n---\n' } },
];

const QUANT_TYPES = ['Q8_0', 'Q6_K', 'Q5_K_M', 'Q5_K_S', 'Q5_1', 'Q5_0', 'Q4_K_M', 'Q4_K_S', 'Q4_1', 'Q4_0', 'IQ4_NL', 'IQ4_XS', 'Q3_K_L', 'Q3_K_M', 'Q3_K_S', 'Q2_K'];

function assertSameFile(ours: string, theirs: string, tag: string): void {
  const a = readFileSync(ours);
  const b = readFileSync(theirs);
  if (a.equals(b)) return;
  let first = 0;
  while (first < Math.min(a.length, b.length) && a[first] === b[first]) first++;
  assert.fail(`${tag}: files differ (ours ${a.length} bytes, theirs ${b.length}; first difference at byte ${first})`);
}

describe('conversion parity with convert_hf_to_gguf.py', { skip: convertReason }, () => {
  let dir = '';
  const folders = new Map<string, string>();
  let identical = 0;
  before(async () => {
    dir = await makeTempDir('convert-parity');
    for (const f of FOLDERS) folders.set(f.name, await writeLlamaFolder(join(dir, f.name), f.options));
  });
  after(async () => {
    console.log(`# conversion parity: ${identical} byte-identical files`);
    await removeTempDir(dir);
  });

  for (const f of FOLDERS) {
    for (const outtype of ['f16', 'bf16', 'f32', 'auto'] as const) {
      if (f.name !== 'smol' && outtype === 'f32') continue; // one F32 output suffices; the big ones are slow in Python
      test(`${f.name} --outtype ${outtype}`, async () => {
        const src = folders.get(f.name)!;
        const theirs = join(dir, `${f.name}.${outtype}.ref.gguf`);
        const ours = join(dir, `${f.name}.${outtype}.ours.gguf`);
        await runConvertOracle(src, theirs, ['--outtype', outtype]);
        const ref = await readGgufHeader(theirs);
        const res = await convertFolder(src, ours, { outtype });
        assertSameFile(ours, theirs, `${f.name} ${outtype}`);
        assert.equal(res.bytes, ref.fileSize);
        identical++;
      });
    }
  }

  describe('quantized in one pass = --outtype auto + llama_model_quantize', { skip: quantReason }, () => {
    for (const name of ['TinyLlama-1.1B-Chat-v1.0', 'Mistral-7B-Instruct-v0.3']) {
      test(`${name}: ${QUANT_TYPES.length} types from Q8_0 to Q2_K`, async () => {
        const src = folders.get(name)!;
        const auto = join(dir, `${name}.auto.ref.gguf`);
        if (!existsSync(auto)) await runConvertOracle(src, auto, ['--outtype', 'auto']);
        const oracle = loadQuantizeOracle()!;
        for (const type of QUANT_TYPES) {
          const theirs = join(dir, `${name}.${type}.ref.gguf`);
          const ours = join(dir, `${name}.${type}.ours.gguf`);
          const r = oracle.quantize(auto, theirs, { ftype: parseFtype(type).id, nthread: 2 });
          assert.ok(r.ok, `${type}: llama_model_quantize failed: ${r.log}`);
          await quantizeFolder(src, ours, { ftype: type }, { threads: 2 });
          assertSameFile(ours, theirs, `${name} ${type}`);
          identical++;
        }
      });
    }
  });
});

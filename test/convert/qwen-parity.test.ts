// Qwen2, Qwen3 and Qwen3-MoE folders → GGUF, byte for byte against convert_hf_to_gguf.py (and
// llama_model_quantize for the one-pass quantization). The reference converter reads BPE tokenizers
// only through `transformers`, which Debian lacks, so these folders carry Llama 2's SentencePiece
// tokenizer.model: Qwen2Model's set_vocab tries it first. Qwen3-MoE keeps the GPT-2 path, so its
// reference run swaps in the SentencePiece path (run-convert-spm.py) and our side takes the
// reference's tokenizer keys; the BPE tokenizers themselves are tested in tokenizer-bpe-*.test.ts.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readGgufHeader } from '../../src-main/core/gguf/reader.ts';
import { convertFolder, quantizeFolder } from '../../src-main/core/convert/write.ts';
import { parseFtype } from '../../src-main/core/quant/ftypes.ts';
import { makeTempDir, removeTempDir } from '../support/synthetic-gguf.ts';
import { writeQwenFolder, type QwenFolderOptions } from '../support/hf-folders.ts';
import { convertOracleUnavailable, runConvertOracle } from '../support/convert-oracle.ts';
import { runConvertOracleSpmVocab } from '../support/convert-oracle-spm.ts';
import { loadQuantizeOracle, quantizeOracleUnavailableReason } from '../support/llama-quantize-oracle.ts';

const reason = convertOracleUnavailable();
if (reason) console.log(`# skipping Qwen conversion parity: ${reason}`);
const quantReason = reason ?? quantizeOracleUnavailableReason();

const FOLDERS: ReadonlyArray<{ name: string; options: QwenFolderOptions; outtypes: ReadonlyArray<'f16' | 'bf16' | 'auto'>; quant: readonly string[] }> = [
  { name: 'Qwen2.5-0.5B-Instruct', options: { qwen: 'Qwen2ForCausalLM', dtype: 'BF16', tied: true }, outtypes: ['auto', 'f16'], quant: ['Q8_0', 'Q4_K_M', 'Q2_K'] },
  { name: 'Qwen3-0.6B', options: { qwen: 'Qwen3ForCausalLM', dtype: 'F16', tied: true, headDim: 128, shards: 2 }, outtypes: ['auto', 'bf16'], quant: ['Q6_K', 'Q4_K_M', 'IQ4_XS'] },
  { name: 'Qwen3-30B-A3B', options: { qwen: 'Qwen3MoeForCausalLM', dtype: 'BF16', shards: 3 }, outtypes: ['auto', 'f16'], quant: ['Q8_0', 'Q5_K_M', 'Q4_K_M', 'Q3_K_M', 'Q2_K', 'IQ4_XS'] },
];

describe('Qwen conversion parity with convert_hf_to_gguf.py', { skip: reason }, () => {
  let dir = '';
  let identical = 0;
  before(async () => { dir = await makeTempDir('qwen-parity'); });
  after(async () => {
    console.log(`# Qwen conversion parity: ${identical} byte-identical files`);
    await removeTempDir(dir);
  });

  for (const f of FOLDERS) {
    test(`${f.name}: --outtype ${f.outtypes.join(', ')}${quantReason ? '' : ` and ${f.quant.join(', ')} in one pass`}`, async () => {
      const src = await writeQwenFolder(join(dir, f.name), f.options);
      const moe = f.options.qwen === 'Qwen3MoeForCausalLM';
      const oracle = moe ? runConvertOracleSpmVocab : runConvertOracle;
      let tokenizerKvs;
      for (const outtype of f.outtypes) {
        const theirs = join(dir, `${f.name}.${outtype}.ref.gguf`);
        const ours = join(dir, `${f.name}.${outtype}.ours.gguf`);
        await oracle(src, theirs, ['--outtype', outtype]);
        if (moe) tokenizerKvs = (await readGgufHeader(theirs)).kv.filter((k) => k.key.startsWith('tokenizer.'));
        await convertFolder(src, ours, { outtype, tokenizerKvs });
        assert.ok(readFileSync(ours).equals(readFileSync(theirs)), `${f.name} ${outtype}: files differ`);
        identical++;
      }
      if (quantReason) return;
      const q = loadQuantizeOracle()!;
      const auto = join(dir, `${f.name}.auto.ref.gguf`);
      for (const type of f.quant) {
        const theirs = join(dir, `${f.name}.${type}.ref.gguf`);
        const ours = join(dir, `${f.name}.${type}.ours.gguf`);
        const r = q.quantize(auto, theirs, { ftype: parseFtype(type).id, nthread: 2 });
        assert.ok(r.ok, `${type}: ${r.log}`);
        await quantizeFolder(src, ours, { ftype: type }, { threads: 2, tokenizerKvs });
        assert.ok(readFileSync(ours).equals(readFileSync(theirs)), `${f.name} ${type}: files differ`);
        identical++;
      }
    });
  }
});

// Gemma 2, Gemma 3 (text) and Phi-3 folders → GGUF, byte for byte against convert_hf_to_gguf.py, and
// a few quant types in one pass against --outtype auto + llama_model_quantize. The folders carry Llama
// 2's SentencePiece tokenizer.model, which each of these architectures' set_vocab reads.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { convertFolder, quantizeFolder } from '../../src-main/core/convert/write.ts';
import { parseFtype } from '../../src-main/core/quant/ftypes.ts';
import { makeTempDir, removeTempDir } from '../support/synthetic-gguf.ts';
import { writeOtherFolder, type OtherFolderOptions } from '../support/hf-folders.ts';
import { convertOracleUnavailable, runConvertOracle } from '../support/convert-oracle.ts';
import { loadQuantizeOracle, quantizeOracleUnavailableReason } from '../support/llama-quantize-oracle.ts';

const reason = convertOracleUnavailable();
if (reason) console.log(`# skipping Gemma/Phi-3 conversion parity: ${reason}`);
const quantReason = reason ?? quantizeOracleUnavailableReason();

const FOLDERS: ReadonlyArray<{ name: string; options: OtherFolderOptions; outtypes: ReadonlyArray<'f16' | 'bf16' | 'auto'>; quant: readonly string[] }> = [
  { name: 'gemma-2-2b-it', options: { arch: 'Gemma2ForCausalLM', dtype: 'BF16' }, outtypes: ['auto'], quant: ['Q4_K_M', 'Q8_0'] },
  { name: 'gemma-2-2b-f16', options: { arch: 'Gemma2ForCausalLM', dtype: 'F16', tied: true, shards: 2 }, outtypes: ['auto', 'bf16'], quant: [] },
  { name: 'gemma-3-1b-it', options: { arch: 'Gemma3ForCausalLM', dtype: 'BF16', tied: true }, outtypes: ['auto', 'f16'], quant: ['Q4_K_M', 'Q6_K', 'IQ4_XS'] },
  { name: 'Phi-3-mini-4k-instruct', options: { arch: 'Phi3ForCausalLM', dtype: 'BF16' }, outtypes: ['auto'], quant: ['Q4_K_M', 'Q5_K_S'] },
  { name: 'Phi-3-mini-128k-instruct', options: { arch: 'Phi3ForCausalLM', dtype: 'F16', longRope: true }, outtypes: ['auto', 'bf16'], quant: ['Q3_K_M'] },
];

describe('Gemma and Phi-3 conversion parity with convert_hf_to_gguf.py', { skip: reason }, () => {
  let dir = '';
  let identical = 0;
  before(async () => { dir = await makeTempDir('gemma-phi-parity'); });
  after(async () => {
    console.log(`# Gemma/Phi-3 conversion parity: ${identical} byte-identical files`);
    await removeTempDir(dir);
  });

  for (const f of FOLDERS) {
    test(`${f.name}: --outtype ${f.outtypes.join(', ')}${f.quant.length && !quantReason ? ` and ${f.quant.join(', ')} in one pass` : ''}`, async () => {
      const src = await writeOtherFolder(join(dir, f.name), f.options);
      for (const outtype of f.outtypes) {
        const theirs = join(dir, `${f.name}.${outtype}.ref.gguf`);
        const ours = join(dir, `${f.name}.${outtype}.ours.gguf`);
        await runConvertOracle(src, theirs, ['--outtype', outtype]);
        await convertFolder(src, ours, { outtype });
        assert.ok(readFileSync(ours).equals(readFileSync(theirs)), `${f.name} ${outtype}: files differ`);
        identical++;
      }
      if (quantReason) return;
      const q = loadQuantizeOracle()!;
      for (const type of f.quant) {
        const theirs = join(dir, `${f.name}.${type}.ref.gguf`);
        const ours = join(dir, `${f.name}.${type}.ours.gguf`);
        const r = q.quantize(join(dir, `${f.name}.auto.ref.gguf`), theirs, { ftype: parseFtype(type).id, nthread: 2 });
        assert.ok(r.ok, `${type}: ${r.log}`);
        await quantizeFolder(src, ours, { ftype: type }, { threads: 2 });
        assert.ok(readFileSync(ours).equals(readFileSync(theirs)), `${f.name} ${type}: files differ`);
        identical++;
      }
    });
  }
});

// Whole output files, byte for byte, against llama.cpp's own llama_model_quantize.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { quantizeFile } from '../../src-main/core/quant/pipeline.ts';
import { planQuantization, type QuantizeOptions } from '../../src-main/core/quant/policy.ts';
import { readGgufHeader } from '../../src-main/core/gguf/reader.ts';
import { GgmlType } from '../../src-main/core/gguf/ggml-types.ts';
import { makeTempDir, removeTempDir, writeSyntheticGguf } from '../support/synthetic-gguf.ts';
import { MODEL_VARIANTS, quantModel } from '../support/quant-models.ts';
import { ISSUE_FTYPES, OPTION_CASES, oracleParams, syntheticImatrix } from '../support/quant-parity.ts';
import { loadQuantizeOracle, quantizeOracleUnavailableReason } from '../support/llama-quantize-oracle.ts';

const reason = quantizeOracleUnavailableReason();
if (reason) console.log(`# skipping file parity with llama_model_quantize: ${reason}`);

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const stories = resolve(root, '../shared/fixtures/stories260K.gguf');
const storiesReason = reason ?? (existsSync(stories) ? undefined : `${stories} not present`);
if (storiesReason && !reason) console.log(`# skipping stories260K file parity: ${storiesReason}`);

describe('file parity with llama_model_quantize', { skip: reason }, () => {
  let dir: string;
  const inputs = new Map<string, string>();
  before(async () => {
    dir = await makeTempDir('file-parity');
    for (const v of MODEL_VARIANTS) {
      const path = join(dir, `${v.name}.gguf`);
      await writeSyntheticGguf(path, quantModel(v.options));
      inputs.set(v.name, path);
    }
  });
  let identical = 0;
  let refusedByBoth = 0;
  after(async () => {
    console.log(`# file parity: ${identical} byte-identical files, ${refusedByBoth} inputs refused by both`);
    await removeTempDir(dir);
  });

  let n = 0;
  /** Quantizes with both; returns whether both refused (then nothing to compare). */
  const both = async (input: string, options: QuantizeOptions, tag: string): Promise<void> => {
    const oracle = loadQuantizeOracle()!;
    const theirs = join(dir, `theirs-${n}.gguf`);
    const ours = join(dir, `ours-${n++}.gguf`);
    const r = oracle.quantize(input, theirs, oracleParams(options));
    let ourError: unknown;
    try {
      await quantizeFile(input, ours, options, { threads: 2 });
    } catch (err) {
      ourError = err;
    }
    if (!r.ok) {
      assert.ok(ourError, `${tag}: llama.cpp refused (${r.log.trim().split('\n').pop()}) but we wrote a file`);
      assert.equal(existsSync(ours), false);
      refusedByBoth++;
      return;
    }
    assert.equal(ourError, undefined, `${tag}: llama.cpp quantized, we failed: ${String(ourError)}`);
    const a = readFileSync(theirs);
    const b = readFileSync(ours);
    assert.equal(b.length, a.length, `${tag}: size`);
    const at = a.findIndex((x, i) => x !== b[i]);
    assert.equal(at, -1, `${tag}: first differing byte at ${at}`);
    identical++;
  };

  test('every issue ftype on every model variant: identical files', async () => {
    for (const v of MODEL_VARIANTS) for (const f of ISSUE_FTYPES) await both(inputs.get(v.name)!, { ftype: f }, `${v.name} ${f}`);
  });

  test('every option: identical files', async () => {
    for (const c of OPTION_CASES) for (const v of ['llama-256', 'llama-96-f16', 'moe8']) for (const f of c.ftypes) {
      const options = { ftype: f, ...c.options };
      try {
        planQuantization(await readGgufHeader(inputs.get(v)!), options);
      } catch (err) {
        if (/cannot store a row/.test(String(err))) continue; // llama.cpp would abort the process
      }
      await both(inputs.get(v)!, options, `${v} ${c.name} ${f}`);
    }
  });

  test('importance matrix: identical files (imatrix paths of the kernels, per-expert slices, IQ2_XXS)', async () => {
    for (const v of ['llama-256', 'moe8']) {
      const imatrix = syntheticImatrix(await readGgufHeader(inputs.get(v)!));
      for (const f of ['Q4_0', 'Q4_K_M', 'IQ4_XS', 'Q2_K_S', 'Q6_K', 'IQ2_XXS']) await both(inputs.get(v)!, { ftype: f, imatrix }, `${v} imatrix ${f}`);
    }
  });

  test('requantizing: refused without --allow-requantize, identical with it', async () => {
    const oracle = loadQuantizeOracle()!;
    const q8 = join(dir, 'q8-input.gguf');
    assert.ok(oracle.quantize(inputs.get('llama-256')!, q8, { ftype: 7, nthread: 2 }).ok);
    await assert.rejects(quantizeFile(q8, join(dir, 'refused.gguf'), { ftype: 'Q4_K_M' }, { threads: 2 }), /allow-requantize/);
    for (const f of ['Q4_K_M', 'Q5_0', 'F16', 'Q8_0']) await both(q8, { ftype: f, allowRequantize: true }, `requantize Q8_0 → ${f}`);
    // With --leave-output-tensor / --pure too, where only some tensors change type.
    await both(q8, { ftype: 'Q6_K', allowRequantize: true, leaveOutputTensor: true, tensorTypes: [{ pattern: 'attn', type: GgmlType.Q8_0 }] }, 'requantize mixed');
  });

  test('stories260K: identical files for every issue ftype and COPY', { skip: storiesReason }, async () => {
    for (const f of [...ISSUE_FTYPES, 'COPY']) await both(stories, { ftype: f }, `stories260K ${f}`);
  });
});

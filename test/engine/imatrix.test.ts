// `makeImatrix` against llama-imatrix on the same model, text and context: the same file layout
// (keys, tensor names, order and shapes), token counts exactly equal, Σx² to 1e-3 relative.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeImatrix, weightName } from '../../src-main/core/engine/imatrix.ts';
import { LLAMA_LIB_DIR_ENV } from '../../src-main/core/engine/llama.ts';
import { readGgufImatrix } from '../../src-main/core/imatrix/gguf-format.ts';
import { loadImatrix } from '../../src-main/core/imatrix/index.ts';
import { readGgufHeader } from '../../src-main/core/gguf/reader.ts';
import { makeTempDir, removeTempDir, writeSyntheticGguf } from '../support/synthetic-gguf.ts';
import { llamaToolMissing, llamaToolsLibDir, runLlamaTool } from '../support/llama-tools.ts';
import { runQuantfit } from '../support/cli.ts';
import { engineSkip, STORIES, STORIES_TEXT, storiesText, tinyMoe } from './support.ts';

/** Both files' layout equal, counts equal, sums within `tolerance` relative (1e-3; 0: the same floats). */
async function assertSameImatrix(ours: string, theirs: string, tolerance = 1e-3): Promise<void> {
  const [ho, ht] = [await readGgufHeader(ours), await readGgufHeader(theirs)];
  assert.deepEqual(ho.tensors.map((t) => `${t.name} [${t.shape.join(',')}]`), ht.tensors.map((t) => `${t.name} [${t.shape.join(',')}]`));
  assert.deepEqual(ho.kv.map((k) => k.key), ht.kv.map((k) => k.key));
  const [a, b] = [await readGgufImatrix(ours), await readGgufImatrix(theirs)];
  assert.equal(a.chunkCount, b.chunkCount);
  for (const [name, e] of b.entries) {
    const o = a.entries.get(name)!;
    assert.deepEqual(o.counts, e.counts, `${name} counts`);
    let worst = 0;
    for (let i = 0; i < e.sums.length; i++) worst = Math.max(worst, Math.abs(o.sums[i]! - e.sums[i]!) / Math.max(Math.abs(e.sums[i]!), 1e-6));
    assert.ok(tolerance === 0 ? worst === 0 : worst < tolerance, `${name}: Σx² differs by ${worst} relative`);
  }
}

test('weightName strips backend decorations as llama-imatrix does', () => {
  assert.equal(weightName('blk.0.attn_k.weight'), 'blk.0.attn_k.weight');
  assert.equal(weightName('CUDA0#blk.0.attn_k.weight#0'), 'blk.0.attn_k.weight');
  assert.equal(weightName('CPU#blk.3.ffn_down.weight'), 'blk.3.ffn_down.weight');
});

describe('imatrix on stories260K', { skip: engineSkip() }, () => {
  let dir: string;
  let ours: string;
  before(async () => {
    dir = await makeTempDir('engine-imatrix');
    ours = join(dir, 'ours.gguf');
    await makeImatrix(STORIES, ours, { text: storiesText(), textFile: STORIES_TEXT, ctx: 128, threads: 2 });
  });
  after(() => removeTempDir(dir));

  test('collects every layer matrix with one count per matrix, and the imatrix.* keys', async () => {
    const m = await readGgufImatrix(ours);
    assert.equal(m.hasMetadata, true);
    assert.deepEqual(m.datasets, [STORIES_TEXT]);
    // 5 layers × 7 matrices (q, k, v, output, gate, up, down); output.weight only with processOutput.
    assert.equal(m.entries.size, 35);
    const tokens = 128 * m.chunkCount;
    for (const [name, e] of m.entries) {
      assert.match(name, /^blk\.\d\.(attn_(q|k|v|output)|ffn_(gate|up|down))\.weight$/);
      assert.deepEqual(e.counts, [tokens]);
      assert.ok(e.sums.every((v) => v > 0));
    }
    // q, k and v see the same input.
    assert.deepEqual(m.entries.get('blk.2.attn_q.weight')!.sums, m.entries.get('blk.2.attn_v.weight')!.sums);
    // llama-quantize's loader takes it.
    const loaded = await loadImatrix(ours);
    assert.equal(loaded.entries.size, 35);
  });

  test('equals llama-imatrix on the same model, text and context', { skip: llamaToolMissing('llama-imatrix') }, async () => {
    const theirs = join(dir, 'theirs.gguf');
    runLlamaTool('llama-imatrix', ['-m', STORIES, '-f', STORIES_TEXT, '-c', '128', '-t', '2', '-o', theirs]);
    await assertSameImatrix(ours, theirs);
  });

  // Without it the graph stops at the final norm (the output head is never multiplied); with it the
  // whole graph runs and output.weight is collected too.
  test('with processOutput, collects output.weight too and equals llama-imatrix --process-output', { skip: llamaToolMissing('llama-imatrix') }, async () => {
    const withOutput = join(dir, 'ours-output.gguf');
    const theirs = join(dir, 'theirs-output.gguf');
    await makeImatrix(STORIES, withOutput, { text: storiesText(), textFile: STORIES_TEXT, ctx: 128, chunks: 4, threads: 2, processOutput: true });
    runLlamaTool('llama-imatrix', ['-m', STORIES, '-f', STORIES_TEXT, '-c', '128', '--chunks', '4', '-t', '2', '--process-output', '-o', theirs]);
    const m = await readGgufImatrix(withOutput);
    assert.equal(m.entries.size, 36);
    assert.deepEqual(m.entries.get('output.weight')!.counts, [128 * 4]);
    await assertSameImatrix(withOutput, theirs);
  });

  // On the very build llama-imatrix runs, the activations are the same floats, and so are the sums
  // (squares and sums in float, as llama-imatrix adds them).
  // 8 chunks of 128 side by side: quantfit decodes them in two micro-batches of 64 tokens per chunk, the
  // cut llama.cpp makes of llama-imatrix's one batch of 1024.
  test(`with ${LLAMA_LIB_DIR_ENV} naming llama-imatrix's own build, quantfit imatrix runs on it and writes the same floats`, { skip: llamaToolsLibDir() ? false : 'no shared llama.cpp build beside llama-imatrix' }, async () => {
    const out = join(dir, 'other-build.gguf');
    const theirs = join(dir, 'theirs-other-build.gguf');
    const args = ['imatrix', STORIES, '-o', out, '--text', STORIES_TEXT, '--ctx', '128', '--chunks', '8', '--threads', '2'];
    const missing = await runQuantfit(args, { [LLAMA_LIB_DIR_ENV]: dir });
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, new RegExp(`${LLAMA_LIB_DIR_ENV}=.* holds no llama library`));
    const r = await runQuantfit(args, { [LLAMA_LIB_DIR_ENV]: llamaToolsLibDir() });
    assert.equal(r.status, 0, r.stderr);
    runLlamaTool('llama-imatrix', ['-m', STORIES, '-f', STORIES_TEXT, '-c', '128', '--chunks', '8', '-t', '2', '-o', theirs]);
    await assertSameImatrix(out, theirs, 0);
  });

  test('cancel leaves no output and no partial file', async () => {
    const out = join(dir, 'cancelled.gguf');
    const controller = new AbortController();
    await assert.rejects(
      makeImatrix(STORIES, out, { text: storiesText(), textFile: 't', ctx: 64, threads: 1, signal: controller.signal, onEvent: () => controller.abort() }),
      { name: 'CancelledError' },
    );
    assert.equal(existsSync(out), false);
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('cancelled')), []);
  });

  test('quantfit imatrix writes the file and a JSON summary', async () => {
    const out = join(dir, 'cli.gguf');
    const r = await runQuantfit(['imatrix', STORIES, '-o', out, '--text', STORIES_TEXT, '--ctx', '128', '--chunks', '4', '--threads', '2', '--json']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { out, entries: 35, chunks: 4, chunkSize: 128 });
    assert.match(r.stderr, /imatrix: .*tokens/);
    const again = await runQuantfit(['imatrix', STORIES, '-o', out, '--text', STORIES_TEXT]);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /output file exists/);
  });
});

describe('imatrix on a mixture-of-experts model', { skip: engineSkip() }, () => {
  let dir: string;
  let model: string;
  let ours: string;
  before(async () => {
    dir = await makeTempDir('engine-imatrix-moe');
    model = join(dir, 'moe.gguf');
    await writeSyntheticGguf(model, tinyMoe());
    writeFileSync(join(dir, 'text.txt'), storiesText().slice(0, 2500));
    ours = join(dir, 'ours.gguf');
    await makeImatrix(model, ours, { text: storiesText().slice(0, 2500), textFile: join(dir, 'text.txt'), ctx: 64, threads: 2 });
  });
  after(() => removeTempDir(dir));

  test('counts tokens per expert, and the router as a dense matrix', async () => {
    const m = await readGgufImatrix(ours);
    const tokens = 64 * m.chunkCount;
    const down = m.entries.get('blk.0.ffn_down_exps.weight')!;
    assert.equal(down.counts.length, 4);
    // Each token goes to 2 of the 4 experts.
    assert.equal(down.counts.reduce((a, b) => a + b, 0), 2 * tokens);
    assert.equal(down.sums.length, 96 * 4);
    assert.deepEqual(m.entries.get('blk.0.ffn_gate_inp.weight')!.counts, [tokens]);
    const header = await readGgufHeader(ours);
    assert.deepEqual(header.tensors.find((t) => t.name === 'blk.0.ffn_down_exps.weight.in_sum2')!.shape, [96, 4]);
    assert.deepEqual(header.tensors.find((t) => t.name === 'blk.0.ffn_down_exps.weight.counts')!.shape, [1, 4]);
  });

  test('equals llama-imatrix', { skip: llamaToolMissing('llama-imatrix') }, async () => {
    const theirs = join(dir, 'theirs.gguf');
    runLlamaTool('llama-imatrix', ['-m', model, '-f', join(dir, 'text.txt'), '-c', '64', '-t', '2', '-o', theirs]);
    await assertSameImatrix(ours, theirs);
  });
});

// The fit's llama.cpp stages: an importance matrix computed when the type needs one and none was
// given (so the advisor may choose IQ types on a tight machine), and --check-quality's figures.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runFitJob } from '../../src-main/core/jobs/fit.ts';
import { recommendModel } from '../../src-main/core/advisor/service.ts';
import { REQUIRES_IMATRIX } from '../../src-main/core/advisor/quality.ts';
import { readGgufHeader } from '../../src-main/core/gguf/reader.ts';
import { kvNumber, kvString } from '../../src-main/core/gguf/metadata.ts';
import { GgmlType } from '../../src-main/core/gguf/ggml-types.ts';
import { readGgufImatrix } from '../../src-main/core/imatrix/gguf-format.ts';
import { startFakeOllama, type FakeOllama } from '../support/fake-ollama.ts';
import { makeTempDir, removeTempDir, tinyLlama, writeSyntheticGguf } from '../support/synthetic-gguf.ts';
import { runQuantfit } from '../support/cli.ts';
import { collect, stageTrail } from '../jobs/support.ts';
import { setCalibrationTextPath } from '../../src-main/core/engine/calibration.ts';
import { engineSkip, STORIES, STORIES_TEXT } from './support.ts';

// A short text: the synthetic vocabulary (bytes only) tokenizes the shipped 380 KB text slowly.
setCalibrationTextPath(STORIES_TEXT);

describe('fit with llama.cpp stages', { skip: engineSkip() }, () => {
  let dir: string;
  let model: string;
  before(async () => {
    dir = await makeTempDir('engine-fit');
    model = join(dir, 'tiny.gguf');
    // Rows of 256: the IQ types are used for real (no fallback); 512 tokens cover every byte.
    await writeSyntheticGguf(model, tinyLlama({ nEmbd: 256, nFf: 512, nLayer: 2, nHead: 4, nHeadKv: 2, nVocab: 512, nCtx: 512 }));
  });
  after(() => removeTempDir(dir));

  test('--type IQ2_XS without a matrix: one is computed, kept, and recorded in the output', async () => {
    const out = join(dir, 'iq2');
    const { events, onEvent } = collect();
    const r = await runFitJob({ modelPath: model, type: 'IQ2_XS', outputDir: out, register: false, threads: 2 }, { onEvent });
    assert.deepEqual(stageTrail(events).slice(0, 5), ['inspect:start', 'inspect:done', 'advise:skipped', 'imatrix:start', 'imatrix:done']);
    assert.ok(events.some((e) => e.type === 'progress' && e.stage === 'imatrix' && e.unit === 'tokens'));
    assert.equal(r.imatrixPath, join(out, 'tiny.imatrix.gguf'));
    const m = await readGgufImatrix(r.imatrixPath!);
    assert.equal(m.entries.size, 14);
    assert.ok(m.chunkCount > 0);
    const h = await readGgufHeader(r.outputPath);
    assert.equal(kvString(h, 'quantize.imatrix.file'), r.imatrixPath);
    assert.equal(kvNumber(h, 'quantize.imatrix.entries_count'), 14);
    assert.equal(kvNumber(h, 'quantize.imatrix.chunks_count'), m.chunkCount);
    assert.ok(h.tensors.some((t) => t.type === GgmlType.IQ2_XS));
    assert.equal(r.quality, null);

    // A second fit reuses the matrix beside the output instead of computing it again.
    const again = collect();
    const r2 = await runFitJob({ modelPath: model, type: 'IQ3_XXS', outputDir: out, register: false, threads: 2 }, { onEvent: again.onEvent });
    assert.ok(stageTrail(again.events).includes('imatrix:skipped'));
    assert.equal(r2.imatrixPath, r.imatrixPath);
  });

  test('makeImatrix false: a type that needs a matrix is refused before any work', async () => {
    const out = join(dir, 'refused');
    await assert.rejects(runFitJob({ modelPath: model, type: 'IQ2_XS', outputDir: out, register: false, makeImatrix: false }), /importance matrix/);
    assert.equal(existsSync(out), false);
  });

  test('auto on a tight machine: the advisor picks an imatrix-only type and the fit makes its matrix', async () => {
    const ask = async (ramBytes: number) => (await recommendModel(model, { ramBytes, vramBytes: 0, hasImatrix: true, ctx: 256 })).recommended.type;
    // The least memory anything fits in (the advisor's own arithmetic): only the smallest types fit there.
    let lo = 1e8, hi = 64e9;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if ((await ask(mid)) !== null) hi = mid;
      else lo = mid;
    }
    const tight = (await ask(hi))!;
    assert.ok(REQUIRES_IMATRIX.has(tight), `at ${hi} bytes the advisor picks ${tight}`);
    const without = await recommendModel(model, { ramBytes: hi, vramBytes: 0, hasImatrix: false, ctx: 256 });
    assert.notEqual(without.recommended.type, tight);

    const out = join(dir, 'auto');
    const { events, onEvent } = collect();
    const r = await runFitJob({ modelPath: model, type: 'auto', outputDir: out, register: false, ramBytes: hi, vramBytes: 0, contextLength: 256, threads: 2 }, { onEvent });
    assert.equal(r.type, tight);
    assert.ok(stageTrail(events).includes('imatrix:done'));
    assert.ok(kvString(await readGgufHeader(r.outputPath), 'quantize.imatrix.file'));
  });

  test('checkQuality: KL divergence and perplexity of the output in the result', async () => {
    const out = join(dir, 'quality');
    const { events, onEvent } = collect();
    const r = await runFitJob({ modelPath: STORIES, type: 'Q4_K_M', outputDir: out, register: false, checkQuality: true, threads: 2 }, { onEvent });
    const trail = stageTrail(events);
    assert.deepEqual(trail.slice(trail.indexOf('quantize:done') + 1, trail.indexOf('quantize:done') + 3), ['evaluate:start', 'evaluate:done']);
    const q = r.quality!;
    assert.equal(q.ctx, 512);
    assert.ok(q.chunks > 0 && q.tokens === q.chunks * 255, `${q.chunks} chunks, ${q.tokens} tokens`);
    assert.ok(q.kld.mean > 0 && q.kld.mean < 0.1, `KLD ${q.kld.mean}`);
    assert.ok(q.candidate.ppl > q.reference.ppl * 0.99);
    assert.ok(q.sameTopP > 0.8 && q.sameTopP <= 1);
    assert.equal(r.imatrixPath, null);
  });
});

describe('quantfit fit --check-quality', { skip: engineSkip() }, () => {
  let fake: FakeOllama;
  let dir: string;
  before(async () => {
    fake = await startFakeOllama();
    dir = await makeTempDir('engine-fit-cli');
  });
  after(async () => {
    await fake.stop();
    await removeTempDir(dir);
  });

  test('prints the quality figures in the summary and the JSON line', async () => {
    const r = await runQuantfit(['fit', STORIES, '--type', 'Q8_0', '--name', 'stories:q8', '--out', dir, '--host', fake.url, '--check-quality', '--no-verify']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^quality {3}KL divergence 0\.\d{4} \(99%: [\d.]+\), same top token [\d.]+%, perplexity [\d.]+ vs [\d.]+ \(\d+ tokens\)$/m);
    const j = await runQuantfit(['fit', STORIES, '--type', 'Q8_0', '--name', 'stories:q8b', '--out', dir, '--host', fake.url, '--check-quality', '--no-verify', '--force', '--json']);
    assert.equal(j.status, 0, j.stderr);
    const last = JSON.parse(j.stdout.trim().split('\n').at(-1)!) as { quality: { kld: { mean: number }; reference: { ppl: number } } };
    assert.ok(last.quality.kld.mean > 0 && last.quality.kld.mean < 0.01);
    assert.ok(last.quality.reference.ppl > 1);
  });
});

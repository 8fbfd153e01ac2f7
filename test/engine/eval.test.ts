// `evaluateQuant` against llama-perplexity --kl-divergence on the same files, text and context:
// perplexity to 1e-3 relative, KL divergence within a few percent (llama.cpp's build and ours use
// different CPU kernels; the reference log-probs are quantized to 16 bits in both).

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { evaluateQuant, referenceCachePath, type EvalResult } from '../../src-main/core/engine/eval.ts';
import { makeTempDir, removeTempDir, tinyLlama, writeSyntheticGguf } from '../support/synthetic-gguf.ts';
import { llamaToolMissing, perplexityKld, runLlamaTool, type PerplexityKldReport } from '../support/llama-tools.ts';
import { runQuantfit } from '../support/cli.ts';
import { engineSkip, quantized, STORIES, STORIES_TEXT, storiesText } from './support.ts';

const CTX = 128;
const CHUNKS = 20;
const TYPES = ['Q8_0', 'Q4_K_M', 'Q2_K'] as const;

function rel(a: number, b: number): number {
  return Math.abs(a - b) / Math.abs(b);
}

function assertAgrees(ours: EvalResult, theirs: PerplexityKldReport, what: string): void {
  assert.ok(rel(ours.reference.ppl, theirs.pplBase) < 1e-3, `${what}: reference PPL ${ours.reference.ppl} vs llama-perplexity ${theirs.pplBase}`);
  assert.ok(rel(ours.candidate.ppl, theirs.pplCandidate) < 1e-3, `${what}: candidate PPL ${ours.candidate.ppl} vs llama-perplexity ${theirs.pplCandidate}`);
  assert.ok(rel(ours.kld.mean, theirs.kldMean) < 0.03, `${what}: mean KLD ${ours.kld.mean} vs ${theirs.kldMean}`);
  assert.ok(rel(ours.kld.median, theirs.kldMedian) < 0.05, `${what}: median KLD ${ours.kld.median} vs ${theirs.kldMedian}`);
  assert.ok(rel(ours.kld.p99, theirs.kldP99) < 0.05, `${what}: p99 KLD ${ours.kld.p99} vs ${theirs.kldP99}`);
  assert.ok(rel(ours.kld.max, theirs.kldMax) < 0.05, `${what}: max KLD ${ours.kld.max} vs ${theirs.kldMax}`);
  assert.ok(rel(ours.rmsDeltaP, theirs.rmsDeltaP) < 0.03, `${what}: RMS Δp ${ours.rmsDeltaP} vs ${theirs.rmsDeltaP}`);
  assert.ok(Math.abs(ours.sameTopP - theirs.sameTopP) < 0.01, `${what}: same top ${ours.sameTopP} vs ${theirs.sameTopP}`);
}

describe('eval on stories260K', { skip: engineSkip() }, () => {
  let dir: string;
  const results = new Map<string, EvalResult>();
  const candidates = new Map<string, string>();

  before(async () => {
    dir = await makeTempDir('engine-eval');
    const text = storiesText();
    for (const type of TYPES) {
      const path = await quantized(STORIES, type, dir, 'stories');
      candidates.set(type, path);
      results.set(type, await evaluateQuant(STORIES, path, { text, textFile: STORIES_TEXT, ctx: CTX, chunks: CHUNKS, cacheDir: dir, threads: 2 }));
    }
  });
  after(() => removeTempDir(dir));

  test('KL divergence orders Q8_0 < Q4_K_M < Q2_K, and perplexity follows', () => {
    const [q8, q4, q2] = TYPES.map((t) => results.get(t)!);
    assert.ok(q8.kld.mean < q4.kld.mean && q4.kld.mean < q2.kld.mean, `KLD ${q8.kld.mean} ${q4.kld.mean} ${q2.kld.mean}`);
    assert.ok(q8.candidate.ppl < q4.candidate.ppl && q4.candidate.ppl < q2.candidate.ppl);
    assert.ok(q8.sameTopP > q2.sameTopP);
    for (const r of [q8, q4, q2]) {
      assert.equal(r.ctx, CTX);
      assert.equal(r.chunks, CHUNKS);
      assert.equal(r.tokens, CHUNKS * (CTX - 1 - CTX / 2));
      assert.equal(r.reference.ppl, q8.reference.ppl);
    }
  });

  test('the reference pass runs once: later candidates reuse its cached log-probs', async () => {
    assert.equal(results.get('Q8_0')!.referenceCache.reused, false);
    assert.equal(results.get('Q4_K_M')!.referenceCache.reused, true);
    assert.equal(results.get('Q2_K')!.referenceCache.path, results.get('Q8_0')!.referenceCache.path);
    // Another context or text is another cache entry.
    const text = storiesText();
    assert.notEqual(await referenceCachePath(STORIES, text, 64, dir), await referenceCachePath(STORIES, text, CTX, dir));
    assert.notEqual(await referenceCachePath(STORIES, `${text} `, CTX, dir), await referenceCachePath(STORIES, text, CTX, dir));
    assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.partial')), []);
  });

  test('matches llama-perplexity --kl-divergence on the same files, text and context', { skip: llamaToolMissing('llama-perplexity') }, () => {
    const base = join(dir, 'llama-base.logits');
    runLlamaTool('llama-perplexity', ['-m', STORIES, '-f', STORIES_TEXT, '-c', String(CTX), '--chunks', String(CHUNKS), '-t', '2', '--kl-divergence-base', base]);
    for (const type of TYPES) {
      const theirs = perplexityKld(['-m', candidates.get(type)!, '-c', String(CTX), '-t', '2', '--kl-divergence-base', base, '--kl-divergence']);
      assertAgrees(results.get(type)!, theirs, type);
    }
  });

  test('llama-perplexity reads our reference log-probs file (its format)', { skip: llamaToolMissing('llama-perplexity') }, () => {
    const ours = results.get('Q4_K_M')!;
    const theirs = perplexityKld(['-m', candidates.get('Q4_K_M')!, '-c', String(CTX), '-t', '2', '--kl-divergence-base', ours.referenceCache.path, '--kl-divergence']);
    assert.ok(rel(ours.reference.ppl, theirs.pplBase) < 1e-5, `base PPL from our file: ${theirs.pplBase} vs ${ours.reference.ppl}`);
    assertAgrees(ours, theirs, 'Q4_K_M on our reference file');
  });

  test('cancel stops the run and leaves no partial file', async () => {
    const cacheDir = await makeTempDir('engine-eval-cancel');
    try {
      const controller = new AbortController();
      const run = evaluateQuant(STORIES, candidates.get('Q8_0')!, {
        text: storiesText(), ctx: 64, chunks: 40, cacheDir, threads: 1, signal: controller.signal,
        onEvent: (e) => { if (e.type === 'progress') controller.abort(); },
      });
      await assert.rejects(run, { name: 'CancelledError' });
      assert.deepEqual(readdirSync(cacheDir), []);
    } finally {
      await removeTempDir(cacheDir);
    }
  });

  test('a text shorter than two contexts is refused, naming the sizes', async () => {
    await assert.rejects(
      evaluateQuant(STORIES, candidates.get('Q8_0')!, { text: 'Once upon a time.', textFile: 'short.txt', ctx: CTX, cacheDir: dir }),
      (err: Error & { code?: string; location?: { file?: string } }) =>
        err.name === 'QuantfitError' && err.code === 'engine.textTooShort' && /needs at least 256/.test(err.message) && err.location?.file === 'short.txt',
    );
  });
});

describe('eval on a synthetic llama', { skip: engineSkip() }, () => {
  let dir: string;
  let f32: string;
  let text: string;
  before(async () => {
    dir = await makeTempDir('engine-eval-synthetic');
    f32 = join(dir, 'tiny-f32.gguf');
    // 512 tokens: its byte tokens cover ASCII, so any English text tokenizes (as bytes).
    await writeSyntheticGguf(f32, tinyLlama({ nEmbd: 64, nLayer: 2, nVocab: 512, nFf: 128, nCtx: 256 }));
    text = storiesText().slice(0, 1500);
    writeFileSync(join(dir, 'text.txt'), text);
  });
  after(() => removeTempDir(dir));

  test('matches llama-perplexity on a Q4_0 candidate', { skip: llamaToolMissing('llama-perplexity') }, async () => {
    const q4 = await quantized(f32, 'Q4_0', dir, 'tiny');
    const ours = await evaluateQuant(f32, q4, { text, ctx: 64, chunks: 8, cacheDir: dir, threads: 2 });
    assert.ok(ours.kld.mean > 0);
    const base = join(dir, 'llama-base.logits');
    runLlamaTool('llama-perplexity', ['-m', f32, '-f', join(dir, 'text.txt'), '-c', '64', '--chunks', '8', '-t', '2', '--kl-divergence-base', base]);
    assertAgrees(ours, perplexityKld(['-m', q4, '-c', '64', '-t', '2', '--kl-divergence-base', base, '--kl-divergence']), 'synthetic Q4_0');
  });

  test('a candidate with another vocabulary is refused', async () => {
    const other = join(dir, 'other.gguf');
    await writeSyntheticGguf(other, tinyLlama({ nEmbd: 64, nLayer: 1, nVocab: 300, nFf: 128 }));
    await assert.rejects(evaluateQuant(f32, other, { text, ctx: 64, chunks: 2, cacheDir: dir }), { code: 'engine.vocabMismatch' });
  });
});

describe('quantfit eval', { skip: engineSkip() }, () => {
  let dir: string;
  before(async () => { dir = await makeTempDir('engine-eval-cli'); });
  after(() => removeTempDir(dir));

  test('--json prints one object with the llama-perplexity statistics (fractions)', async () => {
    const q8 = await quantized(STORIES, 'Q8_0', dir, 'stories');
    const r = await runQuantfit(['eval', STORIES, q8, '--text', STORIES_TEXT, '--ctx', '128', '--chunks', '4', '--threads', '2', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as Record<string, unknown> & { reference: { ppl: number }; candidate: { ppl: number }; kld: Record<string, number>; sameTopP: number; rmsDeltaP: number };
    assert.deepEqual(Object.keys(out), ['ctx', 'chunks', 'tokens', 'reference', 'candidate', 'kld', 'sameTopP', 'rmsDeltaP']);
    assert.deepEqual(Object.keys(out.kld), ['mean', 'median', 'p99', 'max']);
    assert.equal(out.ctx, 128);
    assert.equal(out.chunks, 4);
    assert.equal(out.tokens, 4 * 63);
    assert.ok(out.sameTopP > 0.9 && out.sameTopP <= 1);
    assert.ok(out.rmsDeltaP > 0 && out.rmsDeltaP < 0.1);
    assert.ok(out.kld.mean > 0 && out.kld.mean <= out.kld.max);
    assert.match(r.stderr, /evaluate: .*tokens/);
  });

  test('without --text it runs over the shipped calibration text', async () => {
    const q8 = await quantized(STORIES, 'Q8_0', dir, 'stories');
    const r = await runQuantfit(['eval', STORIES, q8, '--ctx', '256', '--chunks', '2', '--threads', '2']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /2 chunks of 256 tokens, 254 tokens scored/);
  });

  test('a missing text file is a one-line error naming it', async () => {
    const r = await runQuantfit(['eval', STORIES, STORIES, '--text', join(dir, 'nope.txt')]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^quantfit: error: .*nope\.txt: text file not found\n$/);
  });
});

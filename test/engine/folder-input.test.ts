// Hugging Face folders as inputs of the llama.cpp engine: converted once per job (--outtype auto)
// into a hidden temp file that is gone afterwards — also after a cancel — and giving exactly what
// the converted GGUF gives: the same perplexity and KL divergence as a reference, the same
// importance matrix. A reference whose log-probs are cached is not converted at all.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { evaluateQuant, referenceCachePath } from '../../src-main/core/engine/eval.ts';
import { collectImatrix } from '../../src-main/core/engine/imatrix.ts';
import { sweepStaleConversions } from '../../src-main/core/engine/model-input.ts';
import { measureTypes } from '../../src-main/core/engine/measure.ts';
import { convertFolder, quantizeFolder } from '../../src-main/core/convert/write.ts';
import { parseFtype } from '../../src-main/core/quant/ftypes.ts';
import { CancelledError } from '../../src-main/core/errors.ts';
import type { JobEvent } from '../../src-main/core/progress.ts';
import { writeLlamaFolder } from '../support/hf-folders.ts';
import { makeTempDir, removeTempDir } from '../support/synthetic-gguf.ts';
import { runQuantfit } from '../support/cli.ts';
import { collect, stageTrail } from '../jobs/support.ts';
import { runFitJob, FitCancelledError, FitError } from '../../src-main/core/jobs/fit.ts';
import { setCalibrationTextPath } from '../../src-main/core/engine/calibration.ts';
import { readGgufHeader } from '../../src-main/core/gguf/reader.ts';
import { kvNumber, kvString } from '../../src-main/core/gguf/metadata.ts';
import { GgmlType } from '../../src-main/core/gguf/ggml-types.ts';
import { measureQuality } from '../../src-main/electron/services.ts';
import { engineSkip, STORIES_TEXT, storiesText } from './support.ts';

const CTX = 128;
const CHUNKS = 6;

/** The conversion announcements among `events` (one per folder converted). */
function conversions(events: readonly JobEvent[]): JobEvent[] {
  return events.filter((e) => e.type === 'log' && e.text?.code === 'engine.input.converting');
}

/** Mounts a tmpfs of `size` at `at`; the reason when this machine does not allow it (not root, not Linux). */
function mountTmpfs(at: string, size: string): string | undefined {
  if (process.platform !== 'linux') return 'tmpfs mounts are a Linux test';
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', at], { stdio: 'pipe' });
    return undefined;
  } catch (err) {
    return `cannot mount a tmpfs here (${(err as Error).message.split('\n')[0]})`;
  }
}

/** Files a conversion may leave in `dir`: its temp GGUF or the writer's partial file. */
function temps(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.startsWith('.quantfit-') || f.endsWith('.partial')) : [];
}

describe('a Hugging Face folder in the engine', { skip: engineSkip() }, () => {
  let dir: string;
  let folder: string;
  let converted: string;
  let candidate: string;
  const text = storiesText();

  before(async () => {
    dir = await makeTempDir('engine-folder');
    folder = await writeLlamaFolder(join(dir, 'tiny'), {});
    converted = (await convertFolder(folder, join(dir, 'tiny-BF16.gguf'), { outtype: 'auto' })).out;
    candidate = (await quantizeFolder(folder, join(dir, 'tiny-Q4_K_M.gguf'), { ftype: parseFtype('Q4_K_M') }, { threads: 2 })).out;
  });
  after(() => removeTempDir(dir));

  test('eval: the folder as reference gives what its converted GGUF gives; converted once, then not again', async () => {
    const opts = { text, textFile: STORIES_TEXT, ctx: CTX, chunks: CHUNKS, threads: 2 };
    const fromGguf = await evaluateQuant(converted, candidate, { ...opts, cacheDir: join(dir, 'cache-gguf') });
    const cacheDir = join(dir, 'cache-folder');
    const { events, onEvent } = collect();
    const fromFolder = await evaluateQuant(folder, candidate, { ...opts, cacheDir, onEvent });
    assert.equal(fromFolder.reference.ppl, fromGguf.reference.ppl);
    assert.equal(fromFolder.candidate.ppl, fromGguf.candidate.ppl);
    assert.deepEqual(fromFolder.kld, fromGguf.kld);
    assert.equal(fromFolder.sameTopP, fromGguf.sameTopP);
    assert.equal(fromFolder.rmsDeltaP, fromGguf.rmsDeltaP);
    assert.ok(fromFolder.kld.mean > 0 && fromFolder.chunks === CHUNKS);

    assert.equal(conversions(events).length, 1);
    assert.ok(events.some((e) => e.type === 'progress' && e.stage === 'evaluate' && e.unit === 'bytes' && e.statusText?.code === 'engine.input.progress'));
    assert.ok(!events.some((e) => e.type === 'stage'), 'the conversion is a step of the caller\'s stage, not a stage of its own');
    assert.deepEqual(temps(cacheDir), []);
    assert.equal(fromFolder.referenceCache.path, await referenceCachePath(folder, text, CTX, cacheDir));

    // The folder's log-probs are cached now: the next candidate costs no conversion.
    const again = collect();
    const second = await evaluateQuant(folder, candidate, { ...opts, cacheDir, onEvent: again.onEvent });
    assert.equal(second.referenceCache.reused, true);
    assert.equal(conversions(again.events).length, 0);
    assert.deepEqual(second.kld, fromFolder.kld);
  });

  test('eval: a text shorter than the chunks asked is counted with the folder\'s vocabulary alone, not converted again', async () => {
    const cacheDir = join(dir, 'cache-short');
    const opts = { text, textFile: STORIES_TEXT, ctx: CTX, chunks: 1000, threads: 2, cacheDir };
    const first = collect();
    const all = await evaluateQuant(folder, candidate, { ...opts, onEvent: first.onEvent });
    assert.ok(all.chunks > 2 && all.chunks < 1000, `${all.chunks} chunks`);
    assert.equal(conversions(first.events).length, 1);
    const again = collect();
    const second = await evaluateQuant(folder, candidate, { ...opts, onEvent: again.onEvent });
    assert.equal(second.referenceCache.reused, true);
    assert.equal(second.chunks, all.chunks);
    assert.equal(conversions(again.events).length, 0);
    assert.deepEqual(second.kld, all.kld);
    assert.deepEqual(temps(cacheDir), []);
  });

  test('eval: the folder as candidate is its converted GGUF (no divergence)', async () => {
    const cacheDir = join(dir, 'cache-candidate');
    const r = await evaluateQuant(converted, folder, { text, textFile: STORIES_TEXT, ctx: CTX, chunks: 3, threads: 2, cacheDir });
    assert.ok(r.kld.mean < 1e-4, `KLD ${r.kld.mean}`);
    assert.ok(Math.abs(r.candidate.ppl / r.reference.ppl - 1) < 1e-3);
    assert.deepEqual(temps(cacheDir), []);
  });

  test('the reference cache key follows the folder\'s files', async () => {
    const cacheDir = join(dir, 'keys');
    const key = await referenceCachePath(folder, text, CTX, cacheDir);
    assert.equal(await referenceCachePath(folder, text, CTX, cacheDir), key);
    assert.notEqual(await referenceCachePath(folder, text, 2 * CTX, cacheDir), key);
    const config = join(folder, 'config.json');
    await utimes(config, new Date(), new Date(Date.now() + 5000));
    assert.notEqual(await referenceCachePath(folder, text, CTX, cacheDir), key, 'config.json touched: a new key');
  });

  test('imatrix: from the folder equals from its converted GGUF', async () => {
    const opts = { text, textFile: STORIES_TEXT, ctx: CTX, chunks: CHUNKS, threads: 2 };
    const workDir = join(dir, 'imatrix-work');
    const { events, onEvent } = collect();
    const ours = await collectImatrix(folder, { ...opts, workDir, onEvent });
    const theirs = await collectImatrix(converted, opts);
    assert.equal(ours.chunkCount, theirs.chunkCount);
    assert.deepEqual([...ours.entries.keys()], [...theirs.entries.keys()]);
    for (const [name, e] of theirs.entries) {
      assert.deepEqual(ours.entries.get(name)!.counts, e.counts, name);
      assert.deepEqual(ours.entries.get(name)!.sums, e.sums, name);
    }
    assert.equal(conversions(events).length, 1);
    assert.ok(events.some((e) => e.type === 'progress' && e.stage === 'imatrix' && e.unit === 'bytes'));
    // The work folder it made for the conversion is gone again.
    assert.equal(existsSync(workDir), false);
  });

  test('cancel during the conversion leaves no file behind', async () => {
    const cacheDir = join(dir, 'cancel');
    const controller = new AbortController();
    const seen: JobEvent[] = [];
    await assert.rejects(
      evaluateQuant(folder, candidate, {
        text, textFile: STORIES_TEXT, ctx: CTX, chunks: CHUNKS, threads: 2, cacheDir, signal: controller.signal,
        onEvent: (e) => {
          seen.push(e);
          if (e.type === 'progress' && e.unit === 'bytes') controller.abort();
        },
      }),
      (err: unknown) => err instanceof CancelledError,
    );
    assert.ok(seen.some((e) => e.type === 'progress' && e.unit === 'bytes'), 'cancelled while converting');
    assert.deepEqual(readdirSync(cacheDir), []);
  });

  test('no room for the conversion: a coded error before any work, nothing left', async (t) => {
    const at = join(dir, 'small-disk');
    await mkdir(at);
    const reason = mountTmpfs(at, '2m');
    if (reason) {
      t.skip(reason);
      return;
    }
    try {
      await assert.rejects(evaluateQuant(folder, candidate, { text, textFile: STORIES_TEXT, ctx: CTX, chunks: CHUNKS, threads: 2, cacheDir: at }), (err: unknown) => {
        assert.equal((err as { code?: string }).code, 'engine.input.noSpace');
        assert.match((err as Error).message, /no room to convert .*tiny for llama\.cpp: it needs 34 MiB in .*small-disk, \d+ (KiB|MiB) free/);
        return true;
      });
      assert.deepEqual(readdirSync(at), []);
    } finally {
      execFileSync('umount', [at]);
    }
  });

  test('recommend --measure on a folder: measured per type, the work folder gone', async () => {
    const workDir = join(dir, 'measure');
    await mkdir(workDir);
    const { events, onEvent } = collect();
    const m = await measureTypes(folder, ['Q8_0', 'Q2_K'], { text, textFile: STORIES_TEXT, ctx: CTX, chunks: 4, threads: 2, workDir, onEvent });
    const [q8, q2] = [m.get('Q8_0')!, m.get('Q2_K')!];
    assert.ok(q8.kld > 0 && q8.kld < q2.kld, `KLD Q8_0 ${q8.kld}, Q2_K ${q2.kld}`);
    assert.equal(q8.pplReference, q2.pplReference);
    // The original converted once: the second type scores against its cached log-probs.
    assert.equal(conversions(events).length, 1);
    assert.deepEqual(readdirSync(workDir), []);
  });

  test('quantfit eval and imatrix take a folder', async () => {
    const cacheDir = join(dir, 'cli');
    const r = await runQuantfit(['eval', folder, candidate, '--text', STORIES_TEXT, '--ctx', String(CTX), '--chunks', '3', '--cache-dir', cacheDir, '--threads', '2', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout) as { chunks: number; kld: { mean: number }; reference: { ppl: number } };
    assert.equal(j.chunks, 3);
    assert.ok(j.kld.mean > 0 && j.reference.ppl > 1);
    assert.match(r.stderr, /converting .*tiny/);
    assert.deepEqual(temps(cacheDir), []);

    const out = join(dir, 'cli', 'tiny.imatrix.gguf');
    const im = await runQuantfit(['imatrix', folder, '-o', out, '--text', STORIES_TEXT, '--ctx', String(CTX), '--chunks', '3', '--threads', '2', '--json']);
    assert.equal(im.status, 0, im.stderr);
    assert.equal((JSON.parse(im.stdout) as { entries: number }).entries, 14);
    assert.deepEqual(temps(cacheDir), []);
  });
});

describe('fit on a Hugging Face folder with llama.cpp stages', { skip: engineSkip() }, () => {
  let dir: string;
  let folder: string;
  before(async () => {
    // The fit runs over the calibration text: a short one keeps this quick (2 chunks of 512 tokens).
    setCalibrationTextPath(STORIES_TEXT);
    dir = await makeTempDir('engine-folder-fit');
    folder = await writeLlamaFolder(join(dir, 'tiny'), {});
  });
  after(async () => {
    setCalibrationTextPath(undefined);
    await removeTempDir(dir);
  });

  test('--type IQ2_XS --check-quality: the folder is converted once for both, the matrix recorded, nothing left', async () => {
    const out = join(dir, 'iq2');
    const { events, onEvent } = collect();
    const r = await runFitJob({ modelPath: folder, type: 'IQ2_XS', outputDir: out, register: false, checkQuality: true, threads: 2 }, { onEvent });
    const trail = stageTrail(events);
    for (const s of ['imatrix:start', 'imatrix:done', 'quantize:done', 'evaluate:start', 'evaluate:done']) assert.ok(trail.includes(s), `${s} in ${trail.join(' ')}`);
    const converting = conversions(events);
    assert.equal(converting.length, 1);
    assert.equal(converting[0]!.type === 'log' && converting[0]!.stage, 'imatrix');
    assert.equal(r.imatrixPath, join(out, 'tiny.imatrix.gguf'));
    const h = await readGgufHeader(r.outputPath);
    assert.equal(kvString(h, 'quantize.imatrix.file'), r.imatrixPath);
    assert.equal(kvNumber(h, 'quantize.imatrix.entries_count'), 14);
    assert.ok(h.tensors.some((t) => t.type === GgmlType.IQ2_XS));
    const q = r.quality!;
    assert.ok(q.kld.mean > 0 && q.candidate.ppl > 1 && q.reference.ppl > 1, JSON.stringify(q));
    assert.deepEqual(temps(out), []);
    assert.deepEqual(readdirSync(out).filter((f) => !f.endsWith('.logprobs')).sort(), ['tiny.IQ2_XS.gguf', 'tiny.imatrix.gguf']);

    // Another type into the same folder: the matrix and the folder's log-probs are reused, nothing converted.
    const again = collect();
    const r2 = await runFitJob({ modelPath: folder, type: 'IQ3_XXS', outputDir: out, register: false, checkQuality: true, threads: 2 }, { onEvent: again.onEvent });
    assert.ok(stageTrail(again.events).includes('imatrix:skipped'));
    assert.equal(conversions(again.events).length, 0);
    assert.ok(again.events.some((e) => e.type === 'log' && e.text?.code === 'engine.fit.cacheReused'));
    assert.equal(r2.quality!.reference.ppl, q.reference.ppl);
    assert.deepEqual(temps(out), []);
  });

  test('advise counts the conversion\'s room beside the output when the engine stages need it', async (t) => {
    const at = join(dir, 'small-disk');
    await mkdir(at);
    // Room for the ~12 MiB Q4_K_M output, not for it and the 34 MiB conversion.
    const reason = mountTmpfs(at, '20m');
    if (reason) {
      t.skip(reason);
      return;
    }
    try {
      await assert.rejects(
        runFitJob({ modelPath: folder, type: 'Q4_K_M', outputDir: at, register: false, checkQuality: true, threads: 2 }),
        (err: unknown) => err instanceof FitError && /not enough free space for the output and the folder's conversion for llama\.cpp beside it: it needs 1\d MiB \+ 34 MiB, \d+ MiB free/.test(err.message),
      );
      assert.deepEqual(readdirSync(at), []);
      const r = await runFitJob({ modelPath: folder, type: 'Q4_K_M', outputDir: at, register: false, threads: 2 });
      assert.ok(existsSync(r.outputPath));
    } finally {
      execFileSync('umount', [at]);
    }
  });

  test('cancel while converting for the importance matrix: nothing left, not even the output folder', async () => {
    const out = join(dir, 'cancel-imatrix');
    const controller = new AbortController();
    await assert.rejects(
      runFitJob({ modelPath: folder, type: 'IQ2_XS', outputDir: out, register: false, threads: 2 }, {
        signal: controller.signal,
        onEvent: (e) => { if (e.type === 'progress' && e.stage === 'imatrix' && e.unit === 'bytes') controller.abort(); },
      }),
      (err: unknown) => err instanceof FitCancelledError,
    );
    assert.equal(existsSync(out), false);
  });

  test('the app\'s measureQuality service measures a folder, its work folder gone', async () => {
    const work = join(dir, 'measure-service');
    await mkdir(work);
    const m = await measureQuality(folder, ['Q8_0'], { workDir: work, threads: 2 });
    assert.ok(m.Q8_0!.kld > 0 && m.Q8_0!.tokens > 0, JSON.stringify(m));
    assert.deepEqual(readdirSync(work), []);
  });

  test('cancel while evaluating: the quantized output is kept, the conversion removed', async () => {
    const out = join(dir, 'cancel-evaluate');
    const controller = new AbortController();
    await assert.rejects(
      runFitJob({ modelPath: folder, type: 'Q4_K_M', outputDir: out, register: false, checkQuality: true, threads: 2 }, {
        signal: controller.signal,
        onEvent: (e) => { if (e.type === 'progress' && e.stage === 'evaluate' && e.unit === 'tokens') controller.abort(); },
      }),
      (err: unknown) => err instanceof FitCancelledError,
    );
    assert.deepEqual(temps(out), []);
    assert.ok(existsSync(join(out, 'tiny.Q4_K_M.gguf')));
  });
});

test('a conversion a killed job left behind is swept before the next one; a running or recent one is not', async () => {
  const dir = await makeTempDir('engine-sweep');
  try {
    const old = new Date(Date.now() - 10 * 60_000);
    const names = {
      killed: '.quantfit-tiny.999999999.0123abcd.gguf',
      killedVocab: '.quantfit-tiny.999999999.0123abce.vocab.gguf',
      running: `.quantfit-tiny.${process.pid}.0123abcf.gguf`,
      recent: '.quantfit-tiny.999999998.0123abd0.gguf',
      other: 'tiny.Q4_K_M.gguf',
    };
    for (const [what, name] of Object.entries(names)) {
      await writeFile(join(dir, name), 'x');
      if (what !== 'recent') await utimes(join(dir, name), old, old);
    }
    const removed = await sweepStaleConversions(dir);
    assert.deepEqual(removed.sort(), [join(dir, names.killed), join(dir, names.killedVocab)].sort());
    assert.deepEqual(readdirSync(dir).sort(), [names.running, names.recent, names.other].sort());
  } finally {
    await removeTempDir(dir);
  }
});

// runFitJob end to end against the stand-in Ollama: one event stream through every stage, the
// requests a real Ollama 0.33 accepts, the advisor's choice, skipping quantize when there is nothing
// to do, requantize refusal, output and name refusals before any work, and the app's request shape.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FitRequest as AppFitRequest, FitResult as AppFitResult } from '../../src-shared/contract.ts';
import { QuantfitError } from '../../src-main/core/errors.ts';
import { readGgufHeader } from '../../src-main/core/gguf/reader.ts';
import { kvNumber, kvString } from '../../src-main/core/gguf/metadata.ts';
import { profileFromRaw } from '../../src-main/core/hardware/profile.ts';
import type { RawHardware } from '../../src-main/core/hardware/raw.ts';
import { FitError, defaultModelName, defaultOutputName, runFitJob } from '../../src-main/core/jobs/fit.ts';
import { loadImatrix } from '../../src-main/core/imatrix/index.ts';
import { recommendModel } from '../../src-main/core/advisor/service.ts';
import { startFakeOllama, type FakeOllama } from '../support/fake-ollama.ts';
import { loadQuantizeOracle, quantizeOracleUnavailableReason } from '../support/llama-quantize-oracle.ts';
import { writeLegacyImatrix } from '../support/imatrix-files.ts';
import { parseModelfile } from '../support/go-template.ts';
import { makeTempDir, removeTempDir, tinyLlama } from '../support/synthetic-gguf.ts';
import { REAL_OLLAMA_SEQUENCE, collect, listDir, stageTrail, workRequests, writeTinyLlama } from './support.ts';
import { formatMessage } from '../../src-shared/messages/index.ts';

const sha = async (path: string) => createHash('sha256').update(await readFile(path)).digest('hex');

function hardwareFixture(name: string) {
  const url = new URL(`../fixtures/hardware/${name}.json`, import.meta.url);
  return readFile(url, 'utf8').then((t) => profileFromRaw((JSON.parse(t) as { raw: RawHardware }).raw, 'fixture'));
}

let fake: FakeOllama;
let dir: string;
let input: string;
before(async () => {
  fake = await startFakeOllama();
  dir = await makeTempDir('fit-job');
  input = await writeTinyLlama(dir, 'Tiny Llama', { seed: 3, nVocab: 128 });
});
after(async () => {
  await fake.stop();
  await removeTempDir(dir);
});

test('a given type is predicted with the advisor\'s own figure for it on the same machine (recommend\'s row)', async () => {
  const out = await makeTempDir('fit-job-given');
  try {
    for (const name of ['nvidia-8gb', 'cpu-laptop-8gb']) {
      const hardware = await hardwareFixture(name);
      const r = await runFitJob({ modelPath: input, type: 'Q4_K_M', outputDir: out, host: fake.url, hardware, verify: false, modelName: `given-${name}`, force: true }, {});
      const row = (await recommendModel(input, { hardware, ctx: 256 })).options.find((o) => o.type === 'Q4_K_M');
      assert.ok(row, name);
      assert.equal(r.predictedBytes, row.totalBytes, name);
      await rm(r.outputPath!, { force: true });
    }
  } finally {
    await removeTempDir(out);
  }
});

test('default names: <stem>.<TYPE>.gguf and a valid lower-case Ollama name', () => {
  assert.equal(defaultOutputName('/m/stories260K.gguf', 'Q8_0'), 'stories260K.Q8_0.gguf');
  assert.equal(defaultModelName('/m/stories260K.gguf', 'Q8_0'), 'stories260k:q8_0');
  assert.equal(defaultModelName('/m/Tiny Llama (v2)!.GGUF', 'Q4_K_M'), 'tiny-llama-v2:q4_k_m');
  assert.equal(defaultModelName('/m/...gguf', 'F32'), 'model:f32');
  assert.equal(defaultModelName(`/m/${'x'.repeat(200)}.gguf`, 'Q8_0'), `${'x'.repeat(80)}:q8_0`);
});

test('Q8_0: one stream of stages, the requests Ollama 0.33 accepts, the writer\'s sha256 and the prediction', async () => {
  const out = await makeTempDir('fit-job-out');
  try {
    fake.requests.length = 0;
    const { events, onEvent } = collect();
    const r = await runFitJob({ modelPath: input, type: 'q8_0', outputDir: out, host: fake.url, contextLength: 256 }, { onEvent });
    assert.deepEqual(stageTrail(events), [
      'inspect:start', 'inspect:done', 'advise:skipped', 'quantize:start', 'quantize:done',
      'modelfile:start', 'modelfile:done', 'upload:start', 'upload:done', 'create:start', 'create:done', 'verify:start', 'verify:done',
    ]);
    assert.ok(events.some((e) => e.type === 'progress' && e.stage === 'quantize'));
    assert.ok(events.some((e) => e.type === 'progress' && e.stage === 'upload' && e.status === 'uploading'));
    // The writer's sha256 is used: the output is not read again to hash it.
    assert.ok(!events.some((e) => e.type === 'progress' && e.status === 'hashing'));
    const file = join(out, 'Tiny Llama.Q8_0.gguf');
    assert.equal(r.outputPath, file);
    assert.equal(r.model, 'tiny-llama:q8_0');
    assert.equal(r.type, 'Q8_0');
    assert.equal(r.quantized, true);
    assert.equal(r.sourceType, 'F32');
    assert.equal(r.sha256, await sha(file));
    assert.equal(r.fileBytes, (await readFile(file)).length);
    assert.equal(r.ctx, 256);
    assert.ok(r.predictedBytes !== null && r.predictedBytes > r.fileBytes);
    assert.equal(r.verify!.predictedBytes, r.predictedBytes);
    assert.equal(typeof r.verify!.tokensPerSecond, 'number');
    assert.equal(r.verifyError, null);
    assert.deepEqual(await listDir(out), ['Tiny Llama.Q8_0.Modelfile', 'Tiny Llama.Q8_0.gguf']);
    assert.deepEqual(parseModelfile(await readFile(join(out, 'Tiny Llama.Q8_0.Modelfile'), 'utf8')).from, ['./Tiny Llama.Q8_0.gguf']);

    assert.deepEqual(workRequests(fake.requests), REAL_OLLAMA_SEQUENCE);
    const create = fake.requests.find((q) => q.path === '/api/create')!.body as Record<string, unknown>;
    assert.deepEqual(create.files, { 'Tiny Llama.Q8_0.gguf': `sha256:${r.sha256}` });
    assert.equal(create.model, 'tiny-llama:q8_0');
    assert.equal(create.from, undefined);
    assert.equal((create.parameters as Record<string, unknown>).num_ctx, 256);
    assert.ok(fake.requests.some((q) => q.method === 'POST' && q.path === `/api/blobs/sha256:${r.sha256}`));
    assert.notEqual(await fake.manifest('tiny-llama:q8_0'), null);
    // The header of the output says what it is.
    assert.equal(kvNumber(await readGgufHeader(file), 'general.file_type'), 7);
  } finally {
    await removeTempDir(out);
  }
});

test("type 'auto' asks the advisor, reports the choice and why, and predicts with its numbers", async () => {
  const out = await makeTempDir('fit-job-auto');
  try {
    const hardware = await hardwareFixture('nvidia-8gb');
    const { events, onEvent } = collect();
    const r = await runFitJob({ modelPath: input, type: 'auto', outputDir: out, host: fake.url, hardware, verify: false, modelName: 'auto-pick' }, { onEvent });
    assert.ok(r.recommendation !== null && r.recommendation.type !== null);
    assert.equal(r.type, r.recommendation.type);
    const chose = events.find((e) => e.type === 'log' && e.stage === 'advise');
    assert.ok(chose && chose.type === 'log');
    assert.equal(chose.message, `chose ${r.type}: ${r.recommendation.reason}`);
    assert.ok(r.recommendation.reason.length > 20);
    assert.deepEqual(stageTrail(events).slice(0, 4), ['inspect:start', 'inspect:done', 'advise:start', 'advise:done']);
    assert.equal(r.outputPath, join(out, `Tiny Llama.${r.type}.gguf`));
    assert.equal(r.model, 'auto-pick:latest');
    // The training context of the tiny model (256) is shorter than the default 4096.
    assert.equal(r.ctx, 256);
    assert.ok(r.predictedBytes !== null && r.predictedBytes > r.fileBytes);
  } finally {
    await removeTempDir(out);
  }
});

test('the input already of the type is registered as it is (quantize skipped), F32 → F32', async () => {
  const out = await makeTempDir('fit-job-same');
  try {
    const { events, onEvent } = collect();
    const r = await runFitJob({ modelPath: input, type: 'F32', outputDir: out, host: fake.url, verify: false }, { onEvent });
    assert.equal(r.quantized, false);
    assert.equal(r.outputPath, input);
    assert.equal(r.sha256, await sha(input));
    assert.equal(r.model, 'tiny-llama:f32');
    // The input was never written by us, so it is hashed once for the upload.
    assert.ok(events.some((e) => e.type === 'progress' && e.stage === 'upload' && e.status === 'hashing'));
    const skipped = events.find((e) => e.type === 'stage' && e.stage === 'quantize');
    assert.deepEqual(skipped, {
      type: 'stage', stage: 'quantize', status: 'skipped', message: 'the input is already F32: registering it as it is',
      text: { code: 'fit.quantize.asIs', params: { type: 'F32' } },
    });
    // The Modelfile goes to the output folder; nothing else is written.
    assert.deepEqual(await listDir(out), ['Tiny Llama.Modelfile']);
    assert.deepEqual(parseModelfile(await readFile(join(out, 'Tiny Llama.Modelfile'), 'utf8')).from, [input]);
  } finally {
    await removeTempDir(out);
  }
});

describe('an already-quantized input', () => {
  let q8: string;
  before(async () => {
    const r = await runFitJob({ modelPath: input, type: 'Q8_0', outputDir: dir, register: false });
    q8 = r.outputPath;
  });

  test('asked for its own type: registered as it is', async () => {
    const { events, onEvent } = collect();
    const r = await runFitJob({ modelPath: q8, type: 'Q8_0', host: fake.url, verify: false, modelName: 'already-q8' }, { onEvent });
    assert.equal(r.quantized, false);
    assert.equal(r.outputPath, q8);
    assert.ok(stageTrail(events).includes('quantize:skipped'));
  });

  test('another type needs allowRequantize, and the error says so before anything is written', async () => {
    const out = await makeTempDir('fit-job-requant');
    try {
      await assert.rejects(runFitJob({ modelPath: q8, type: 'Q4_0', outputDir: out, host: fake.url }), (err: unknown) => {
        assert.ok(err instanceof FitError);
        assert.match(err.message, /the input is already quantized \(Q8_0\); quantizing it again to Q4_0 loses quality\. Pass --allow-requantize to do it anyway/);
        assert.match(err.message, /nothing was written$/);
        return true;
      });
      await assert.rejects(runFitJob({ modelPath: q8, type: 'auto', outputDir: out, host: fake.url }), /already quantized \(Q8_0\): the advisor plans from F32, F16 or BF16 models/);
      assert.deepEqual(await listDir(out), []);
      const r = await runFitJob({ modelPath: q8, type: 'Q4_0', outputDir: out, allowRequantize: true, register: false });
      assert.equal(r.quantized, true);
      assert.equal(kvNumber(await readGgufHeader(r.outputPath), 'general.file_type'), 2);
    } finally {
      await removeTempDir(out);
    }
  });
});

test('refusals before any work: existing output, the input as output, a taken name, a missing folder', async () => {
  const out = await makeTempDir('fit-job-refuse');
  try {
    const existing = join(out, 'Tiny Llama.Q4_0.gguf');
    await writeFile(existing, 'not mine');
    fake.requests.length = 0;
    await assert.rejects(runFitJob({ modelPath: input, type: 'Q4_0', outputDir: out, host: fake.url }), (err: unknown) => {
      assert.ok(err instanceof QuantfitError);
      assert.match(err.message, /the output file exists; pass --force to replace it, or register it as it is with: quantfit import ".*Tiny Llama\.Q4_0\.gguf" --name tiny-llama:q4_0; nothing was written/);
      return true;
    });
    assert.equal(await readFile(existing, 'utf8'), 'not mine');
    assert.deepEqual(workRequests(fake.requests), [], 'nothing reached Ollama but the checks');

    await assert.rejects(runFitJob({ modelPath: input, type: 'Q4_0', outputPath: input, register: false }), /the output would overwrite the input/);
    // A missing output folder is made (with its parents); a file in its way is refused before any work.
    const made = await runFitJob({ modelPath: input, type: 'Q4_0', outputDir: join(out, 'missing', 'deeper'), register: false });
    assert.equal(made.outputPath, join(out, 'missing', 'deeper', 'Tiny Llama.Q4_0.gguf'));
    assert.deepEqual(await listDir(join(out, 'missing', 'deeper')), ['Tiny Llama.Q4_0.gguf']);
    await rm(join(out, 'missing'), { recursive: true });
    await assert.rejects(runFitJob({ modelPath: input, type: 'Q4_0', outputDir: join(existing, 'sub'), register: false }), /the output folder cannot be made: .*Tiny Llama\.Q4_0\.gguf is not a folder/);
    // Cancelled while writing into a folder it made: the folder goes too.
    const ac = new AbortController();
    await assert.rejects(
      runFitJob({ modelPath: input, type: 'Q4_0', outputDir: join(out, 'made', 'here'), register: false }, { signal: ac.signal, onEvent: (e) => { if (e.type === 'progress' && e.stage === 'quantize') ac.abort(); } }),
      /cancelled during quantize/,
    );
    assert.equal((await listDir(out)).includes('made'), false);

    // The app's `force` is about the model only; replaceOutput says what to do with the file.
    await assert.rejects(runFitJob({ modelPath: input, type: 'Q4_0', outputDir: out, force: true, replaceOutput: false, register: false }), /the output file exists/);
    const first = await runFitJob({ modelPath: input, type: 'Q4_0', outputDir: out, host: fake.url, force: true, verify: false, modelName: 'Taken' });
    assert.equal(first.model, 'Taken:latest', 'a given name keeps its case');
    assert.notEqual(await readFile(existing, 'utf8'), 'not mine', '--force replaced the file');
    const firstWarnings = first.warnings.map((w) => formatMessage(w, 'en'));
    assert.ok(firstWarnings.includes(`replacing the existing ${existing} (once the new file is complete)`), firstWarnings.join('\n'));
    const out2 = await makeTempDir('fit-job-refuse2');
    try {
      await assert.rejects(runFitJob({ modelPath: input, type: 'Q4_0', outputDir: out2, host: fake.url, modelName: 'TAKEN:latest' }), /Ollama already has a model named 'Taken:latest' .*pass --force to replace it; nothing was written/);
      assert.deepEqual(await listDir(out2), [], 'the name is checked before quantizing');
    } finally {
      await removeTempDir(out2);
    }
  } finally {
    await removeTempDir(out);
  }
});

test('an importance matrix is used and recorded as llama-quantize records it', async () => {
  const out = await makeTempDir('fit-job-imatrix');
  try {
    const model = tinyLlama({ seed: 3, nVocab: 128 });
    const entries = model.tensors
      .filter((t) => t.shape.length === 2 && t.name !== 'token_embd.weight')
      .map((t) => ({ name: t.name, values: new Float32Array(t.shape[0]!).fill(2), counts: [10] }));
    const imatrix = join(out, 'tiny.imatrix');
    await writeLegacyImatrix(imatrix, entries, { chunkCount: 7, dataset: 'wiki.train.raw' });
    const r = await runFitJob({ modelPath: input, type: 'Q4_K_M', outputDir: out, imatrixPath: imatrix, register: false });
    const h = await readGgufHeader(r.outputPath);
    assert.equal(kvString(h, 'quantize.imatrix.file'), imatrix);
    assert.equal(kvString(h, 'quantize.imatrix.dataset'), 'wiki.train.raw');
    assert.equal(kvNumber(h, 'quantize.imatrix.entries_count'), entries.length);
    assert.equal(kvNumber(h, 'quantize.imatrix.chunks_count'), 7);
  } finally {
    await removeTempDir(out);
  }
});

test('with an importance matrix the file is byte-identical to llama-quantize --imatrix (library call with the tool\'s metadata)', async (t) => {
  const reason = quantizeOracleUnavailableReason();
  if (reason) {
    console.log(`# skipping imatrix file parity: ${reason}`);
    t.skip(reason);
    return;
  }
  const out = await makeTempDir('fit-job-imatrix-parity');
  try {
    const model = tinyLlama({ seed: 4, nVocab: 128 });
    const entries = model.tensors
      .filter((t) => t.shape.length === 2 && t.name !== 'token_embd.weight')
      .map((t, i) => ({ name: t.name, values: Float32Array.from({ length: t.shape[0]! }, (_, j) => 1 + ((i * 7 + j) % 5)), counts: [3] }));
    const imatrixPath = join(out, 'tiny.imatrix');
    await writeLegacyImatrix(imatrixPath, entries, { chunkCount: 5, dataset: 'calibration.txt' });
    const ours = await runFitJob({ modelPath: input, type: 'Q4_K_M', outputDir: out, imatrixPath, register: false });
    // What tools/quantize/quantize.cpp passes to llama_model_quantize for --imatrix.
    const theirs = join(out, 'theirs.gguf');
    const r = loadQuantizeOracle()!.quantize(input, theirs, {
      ftype: 15,
      imatrix: new Map((await loadImatrix(imatrixPath)).entries),
      kvOverrides: [
        { key: 'quantize.imatrix.file', type: 'str', value: imatrixPath },
        { key: 'quantize.imatrix.dataset', type: 'str', value: 'calibration.txt' },
        { key: 'quantize.imatrix.entries_count', type: 'int', value: BigInt(entries.length) },
        { key: 'quantize.imatrix.chunks_count', type: 'int', value: 5n },
      ],
    });
    assert.ok(r.ok, r.log);
    assert.equal(ours.sha256, await sha(theirs));
    // And the matrix mattered: without it the bytes differ.
    const plain = await runFitJob({ modelPath: input, type: 'Q4_K_M', outputPath: join(out, 'plain.gguf'), register: false });
    assert.notEqual(plain.sha256, ours.sha256);
  } finally {
    await removeTempDir(out);
  }
});

test("the app's FitRequest is accepted as is and the result is the app's FitResult", async () => {
  const out = await makeTempDir('fit-job-app');
  try {
    const request: AppFitRequest = {
      modelPath: input, type: 'Q4_0', contextLength: 128, outputDir: out, modelName: 'from-app',
      register: false, force: false, imatrixPath: null, predictedBytes: 12345,
    };
    const result: AppFitResult = await runFitJob(request);
    assert.equal(result.outputPath, join(out, 'Tiny Llama.Q4_0.gguf'));
    assert.equal(result.model, null);
    assert.equal(result.sha256, await sha(result.outputPath));
    assert.equal(result.type, 'Q4_0');
  } finally {
    await removeTempDir(out);
  }
});

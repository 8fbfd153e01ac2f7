// The app's job registry is a thin mapping onto the core fit job: these run the REAL registry (in
// process, and across the host protocol) on a tiny synthetic llama against the stand-in Ollama.
import { formatMessage } from '../../src-shared/messages/index.ts';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_SETTINGS, type FitRequest } from '../../src-shared/contract.ts';
import { CancelledError } from '../../src-main/core/errors.ts';
import { kvString } from '../../src-main/core/gguf/metadata.ts';
import { readGgufHeader } from '../../src-main/core/gguf/reader.ts';
import { serveJobs, type HostPort, type HostReply, type FitJobInput } from '../../src-main/electron/job-protocol.ts';
import { JOB_REGISTRY } from '../../src-main/electron/jobs.ts';
import { resolveJobInput } from '../../src-main/electron/services.ts';
import { startFakeOllama, type FakeOllama } from '../support/fake-ollama.ts';
import { writeGgufImatrix } from '../support/imatrix-files.ts';
import { makeTempDir, removeTempDir, tinyLlama } from '../support/synthetic-gguf.ts';
import { collect, listDir, stageTrail, writeTinyLlama } from '../jobs/support.ts';

let fake: FakeOllama;
let dir: string;
let model: string;
before(async () => {
  fake = await startFakeOllama();
  dir = await makeTempDir('electron-jobs');
  model = await writeTinyLlama(dir, 'Tiny Story', { seed: 5, nVocab: 128 });
});
after(async () => {
  await fake.stop();
  await removeTempDir(dir);
});

/** What the renderer sends (every FIT_REQUEST_FIELDS field), resolved the way main resolves it. */
function jobInput(outDir: string, over: Partial<FitRequest> = {}, ollamaHost = fake.url): FitJobInput {
  const request: FitRequest = {
    modelPath: model, type: 'Q4_0', contextLength: 256, outputDir: outDir, modelName: 'tiny-story:q4_0',
    register: true, force: false, imatrixPath: null, predictedBytes: null, allowRequantize: false, ...over,
  };
  return resolveJobInput(request, { ...DEFAULT_SETTINGS, ollamaHost, threads: 2 });
}

const noSignal = () => new AbortController().signal;

test("quantize: the core job writes main's output path, replaces an older file there, and never asks Ollama", async () => {
  const out = await makeTempDir('electron-jobs-q');
  try {
    // Port 9 (discard): any attempt to reach Ollama would fail the job.
    const input = jobInput(out, { register: false }, 'http://127.0.0.1:9');
    assert.equal(input.outputPath, join(out, 'Tiny Story.Q4_0.gguf'));
    await writeFile(input.outputPath, 'an older output');
    const c = collect();
    const r = await JOB_REGISTRY.quantize(input, { signal: noSignal(), onEvent: c.onEvent });
    assert.equal(r.outputPath, input.outputPath);
    assert.equal(r.model, null);
    assert.equal(r.quantized, true);
    assert.equal(r.type, 'Q4_0');
    assert.equal(r.inputPath, model);
    assert.equal(r.ctx, 256);
    assert.ok(r.tensorTypes && r.tensorTypes.Q4_0! > 0, JSON.stringify(r.tensorTypes));
    assert.equal((await readGgufHeader(r.outputPath)).fileSize, r.fileBytes);
    assert.deepEqual(await listDir(out), ['Tiny Story.Q4_0.gguf']);
    assert.deepEqual(stageTrail(c.events).slice(-4), ['modelfile:skipped', 'upload:skipped', 'create:skipped', 'verify:skipped']);
  } finally {
    await removeTempDir(out);
  }
});

test('quantize: a GGUF-form importance matrix (which the app used to refuse) is loaded and recorded', async () => {
  const out = await makeTempDir('electron-jobs-imatrix');
  try {
    const entries = tinyLlama({ seed: 5, nVocab: 128 }).tensors
      .filter((t) => t.shape.length === 2 && t.name !== 'token_embd.weight')
      .map((t) => ({ name: t.name, values: new Float32Array(t.shape[0]!).fill(3), counts: [1] }));
    const imatrixPath = join(out, 'tiny.imatrix.gguf');
    await writeGgufImatrix(imatrixPath, entries, { datasets: ['calibration.txt'] });
    const r = await JOB_REGISTRY.quantize(jobInput(out, { register: false, type: 'Q4_K_M', imatrixPath }), { signal: noSignal(), onEvent: () => {} });
    const h = await readGgufHeader(r.outputPath);
    assert.equal(kvString(h, 'quantize.imatrix.file'), imatrixPath);
    assert.equal(kvString(h, 'quantize.imatrix.dataset'), 'calibration.txt');
  } finally {
    await removeTempDir(out);
  }
});

test('fit: quantize, upload, create and verify; an existing model is refused unless "force" (the app\'s replace checkbox)', async () => {
  const out = await makeTempDir('electron-jobs-fit');
  try {
    const c = collect();
    const r = await JOB_REGISTRY.fit(jobInput(out, { predictedBytes: 4321 }), { signal: noSignal(), onEvent: c.onEvent });
    assert.equal(r.model, 'tiny-story:q4_0');
    assert.equal(r.uploaded, true);
    assert.ok(r.verify, r.verifyError ? formatMessage(r.verifyError, 'en') : 'verify ran');
    assert.equal(r.verify.predictedBytes, 4321);
    assert.ok(await fake.manifest('tiny-story:q4_0'));
    assert.deepEqual(stageTrail(c.events).filter((s) => s.endsWith(':done')), [
      'inspect:done', 'quantize:done', 'modelfile:done', 'upload:done', 'create:done', 'verify:done',
    ]);
    const before = await readFile(r.outputPath);

    await assert.rejects(
      JOB_REGISTRY.fit(jobInput(out), { signal: noSignal(), onEvent: () => {} }),
      /Ollama already has a model named 'tiny-story:q4_0'/,
    );
    // Refused before quantizing: the file from the first run is untouched.
    assert.deepEqual(await readFile(r.outputPath), before);

    const again = await JOB_REGISTRY.fit(jobInput(out, { force: true }), { signal: noSignal(), onEvent: () => {} });
    assert.equal(again.model, 'tiny-story:q4_0');
    assert.equal(again.uploaded, false, 'Ollama already had the same blob');
  } finally {
    await removeTempDir(out);
  }
});

test('fit over the host protocol: a cancel after quantizing reports cancelled and says the finished file is kept', async () => {
  const out = await makeTempDir('electron-jobs-cancel');
  const replies: HostReply[] = [];
  let listener: ((m: { data: unknown }) => void) | null = null;
  let wake: (() => void) | null = null;
  const port: HostPort = {
    on: (_e, l) => (listener = l),
    postMessage: (m) => {
      replies.push(m);
      wake?.();
    },
  };
  const until = async (pred: () => boolean) => {
    while (!pred()) await new Promise<void>((r) => (wake = r));
  };
  fake.faults.delayMs = 300;
  try {
    serveJobs(port, JOB_REGISTRY, { throttleMs: 0 });
    const input = jobInput(out, { modelName: 'tiny-story:cancel' });
    listener!({ data: { type: 'start', jobId: 'job-c', kind: 'fit', input } });
    await until(() => replies.some((r) => r.type === 'event' && r.event.type === 'stage' && r.event.stage === 'quantize' && r.event.status === 'done'));
    listener!({ data: { type: 'cancel', jobId: 'job-c' } });
    await until(() => replies.some((r) => r.type !== 'event'));
    const end = replies.find((r) => r.type !== 'event')!;
    assert.equal(end.type, 'error');
    assert.ok(end.type === 'error' && end.cancelled);
    assert.match(end.type === 'error' ? formatMessage(end.error, 'en') : '', /^cancelled during \w+.*the quantized file .*Tiny Story\.Q4_0\.gguf is complete and kept/);
    assert.deepEqual(await listDir(out), ['Tiny Story.Q4_0.gguf'], 'the finished file, nothing partial');
    // The app is told which file it can register without quantizing again.
    assert.deepEqual(end.type === 'error' ? end.kept : null, { outputPath: join(out, 'Tiny Story.Q4_0.gguf'), modelName: 'tiny-story:cancel' });
    assert.equal(await fake.manifest('tiny-story:cancel'), null);
  } finally {
    fake.faults.delayMs = 0;
    await removeTempDir(out);
  }
});

test('a cancelled job rejects with a CancelledError (what the host turns into cancelled=true)', async () => {
  const out = await makeTempDir('electron-jobs-abort');
  try {
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(JOB_REGISTRY.quantize(jobInput(out, { register: false }), { signal: controller.signal, onEvent: () => {} }), CancelledError);
    assert.deepEqual(await listDir(out), []);
  } finally {
    await removeTempDir(out);
  }
});

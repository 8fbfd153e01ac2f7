import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MeasuredQuality } from '../../src-shared/types/advisor.ts';
import { MEASURED_FILE, MEASURED_MODELS_MAX, MeasuredStore, measuredKey, parseMeasuredStore } from '../../src-main/electron/measured-store.ts';

const Q4: MeasuredQuality = { kld: 0.0123, kldP99: 0.2, ppl: 10.5, pplReference: 10.1, sameTopP: 0.95, tokens: 2048, imatrix: false };
const Q3: MeasuredQuality = { ...Q4, kld: 0.05, ppl: 12 };

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'qf-measured-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A store over calibration text `text` (in `dir`/text.txt), its data in `dir`/data; a model file too. */
async function setup(dir: string, text = 'calibration text'): Promise<{ store: MeasuredStore; model: string; textFile: string; data: string }> {
  const textFile = join(dir, 'text.txt');
  await writeFile(textFile, text);
  const model = join(dir, 'model.gguf');
  await writeFile(model, 'GGUF model bytes');
  const data = join(dir, 'data');
  return { store: await MeasuredStore.open(data, () => textFile), model, textFile, data };
}

test('measured store: figures survive a reopen, keyed by the model, merged per type', () =>
  withDir(async (dir) => {
    const { store, model, textFile, data } = await setup(dir);
    assert.deepEqual(await store.lookup(model), {});
    await store.record(await store.keyFor(model), { Q4_K_M: Q4 });
    await store.record(await store.keyFor(model), { Q3_K_M: Q3 });
    const again = await MeasuredStore.open(data, () => textFile);
    assert.deepEqual(await again.lookup(model), { Q4_K_M: Q4, Q3_K_M: Q3 });
    // Another model has none of them.
    const other = join(dir, 'other.gguf');
    await writeFile(other, 'GGUF model bytes');
    assert.deepEqual(await again.lookup(other), {});
    // Only the store file remains: the temp file was renamed over it.
    assert.deepEqual(await readdir(data), [MEASURED_FILE]);
  }));

test('measured store: a changed file (size or mtime) or another calibration text shows no stale figures', () =>
  withDir(async (dir) => {
    const { store, model, textFile } = await setup(dir);
    await store.record(await store.keyFor(model), { Q4_K_M: Q4 });
    await utimes(model, new Date(), new Date(Date.now() + 5000));
    assert.deepEqual(await store.lookup(model), {}, 'touched');
    await store.record(await store.keyFor(model), { Q3_K_M: Q3 });
    await writeFile(model, 'GGUF model bytes, longer now');
    assert.deepEqual(await store.lookup(model), {}, 'rewritten');
    await store.record(await store.keyFor(model), { Q4_K_M: Q4 });
    assert.deepEqual(await store.lookup(model), { Q4_K_M: Q4 });
    // The stale entries of the same file were dropped, not kept forever.
    assert.equal(Object.keys(JSON.parse(await readFile(store.path, 'utf8')).entries).length, 1);
    await writeFile(textFile, 'another calibration text');
    assert.deepEqual(await store.lookup(model), {}, 'another text');
  }));

test('measured store: a folder is keyed by its model files, as the reference cache is', () =>
  withDir(async (dir) => {
    const { store } = await setup(dir);
    const folder = join(dir, 'hf');
    await mkdir(folder);
    await writeFile(join(folder, 'config.json'), '{}');
    await writeFile(join(folder, 'model.safetensors'), 'weights');
    await store.record(await store.keyFor(folder), { Q8_0: Q4 });
    // An output kept beside the model is not the model.
    await writeFile(join(folder, 'out.Q8_0.gguf'), 'x');
    assert.deepEqual(await store.lookup(folder), { Q8_0: Q4 });
    await writeFile(join(folder, 'model.safetensors'), 'other weights');
    assert.deepEqual(await store.lookup(folder), {});
  }));

test('measured store: the key is the identity and the text', () =>
  withDir(async (dir) => {
    const model = join(dir, 'm.gguf');
    await writeFile(model, 'x');
    const a = await measuredKey(model, 'one');
    assert.equal((await measuredKey(model, 'one')).key, a.key);
    assert.notEqual((await measuredKey(model, 'two')).key, a.key);
    assert.equal(a.model, model);
  }));

test('measured store: a corrupt file or bad entries are ignored, good entries kept', () =>
  withDir(async (dir) => {
    const { model, textFile, data } = await setup(dir);
    await mkdir(data, { recursive: true });
    await writeFile(join(data, MEASURED_FILE), '{ not json');
    const store = await MeasuredStore.open(data, () => textFile);
    assert.deepEqual(await store.lookup(model), {});
    const { key } = await store.keyFor(model);
    const text = JSON.stringify({
      version: 1,
      entries: {
        [key]: { model, savedAt: 1, measured: { Q4_K_M: Q4, Q3_K_M: { ...Q3, ppl: 'high' }, NOT_A_TYPE: Q4 } },
        'not-a-key': { model, savedAt: 1, measured: { Q4_K_M: Q4 } },
        ['0'.repeat(64)]: { model: 3, savedAt: 1, measured: { Q4_K_M: Q4 } },
      },
    });
    const parsed = parseMeasuredStore(text);
    assert.deepEqual([...parsed.keys()], [key]);
    assert.deepEqual(parsed.get(key)?.measured, { Q4_K_M: Q4 });
    for (const bad of ['null', '[]', '{"entries": 5}', '']) assert.equal(parseMeasuredStore(bad).size, 0);
    // A store that read a corrupt file writes a good one over it.
    await store.record({ key, model }, { Q4_K_M: Q4 });
    assert.deepEqual(await (await MeasuredStore.open(data, () => textFile)).lookup(model), { Q4_K_M: Q4 });
  }));

test('measured store: a measure job\'s result is kept under the key taken at its start; others are not', () =>
  withDir(async (dir) => {
    const { store, model } = await setup(dir);
    store.expect('job-a', await store.keyFor(model));
    store.note({ jobId: 'job-a', kind: 'event', event: { type: 'log', level: 'info', message: 'x' } });
    store.note({ jobId: 'job-b', kind: 'measured', measured: { Q3_K_M: Q3 } });
    store.note({ jobId: 'job-a', kind: 'measured', measured: { Q4_K_M: Q4 } });
    await store.flush();
    assert.deepEqual(await store.lookup(model), { Q4_K_M: Q4 });
    // A cancelled job keeps nothing, and its key is forgotten.
    store.expect('job-c', await store.keyFor(model));
    store.note({ jobId: 'job-c', kind: 'error', error: { code: 'app.cancelled' }, cancelled: true, kept: null });
    store.note({ jobId: 'job-c', kind: 'measured', measured: { Q3_K_M: Q3 } });
    await store.flush();
    assert.deepEqual(await store.lookup(model), { Q4_K_M: Q4 });
  }));

test('measured store: writes land in order, and a failed write leaves the old file whole', () =>
  withDir(async (dir) => {
    const { store, model, textFile, data } = await setup(dir);
    const key = await store.keyFor(model);
    await Promise.all([Q4, Q3, { ...Q4, kld: 0.5 }].map((q) => store.record(key, { Q4_K_M: q })));
    const again = await MeasuredStore.open(data, () => textFile);
    assert.equal((await again.lookup(model)).Q4_K_M?.kld, 0.5);
    const before = await readFile(store.path, 'utf8');
    // A directory where the temp file would go makes the write fail before the rename.
    await mkdir(`${store.path}.${process.pid}.1.tmp`, { recursive: true });
    await assert.rejects(again.record(key, { Q3_K_M: Q3 }));
    assert.equal(await readFile(store.path, 'utf8'), before);
  }));

test('measured store: at most MEASURED_MODELS_MAX models are kept, the oldest saved go first', () =>
  withDir(async (dir) => {
    const { store, data } = await setup(dir);
    const keyOf = (i: number) => ({ key: i.toString(16).padStart(64, '0'), model: `/models/${i}.gguf` });
    const writes: Array<Promise<void>> = [];
    for (let i = 0; i <= MEASURED_MODELS_MAX; i++) writes.push(store.record(keyOf(i), { Q4_K_M: Q4 }));
    await Promise.all(writes);
    const kept = parseMeasuredStore(await readFile(join(data, MEASURED_FILE), 'utf8'));
    assert.equal(kept.size, MEASURED_MODELS_MAX);
    assert.equal(kept.has(keyOf(0).key), false, 'the first saved went');
    assert.equal(kept.has(keyOf(MEASURED_MODELS_MAX).key), true);
  }));

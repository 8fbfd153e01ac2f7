// The 'measure' job kind ("Measure quality" in the app): dispatched by the host protocol, relayed by
// the JobManager as a 'measured' message, cancelled without leaving its work folder; and the real
// registry's measure runner (measureQuality) in a child process on stories260K.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_SETTINGS } from '../../src-shared/contract.ts';
import { CancelledError } from '../../src-main/core/errors.ts';
import { JobManager } from '../../src-main/electron/job-manager.ts';
import { serveJobs, type JobRegistry, type MeasureJobInput } from '../../src-main/electron/job-protocol.ts';
import { measureUnavailableReason, resolveMeasureInput } from '../../src-main/electron/services.ts';
import { findLlamaLibraries } from '../../src-main/core/engine/llama.ts';
import { engineSkip, STORIES } from '../engine/support.ts';
import { collectMessages, fakePort, forkHost } from './support/host.ts';

const measured = { kld: 0.01, kldP99: 0.1, ppl: 11, pplReference: 10, sameTopP: 0.95, tokens: 256, imatrix: false };

const FIXTURE_HOST = forkHost(join(import.meta.dirname, 'fixtures/fork-host.ts'));
// The real registry (jobs.ts), as the app's utility process and the e2e run it.
const REAL_HOST = forkHost(join(import.meta.dirname, '../e2e/support/job-host-node.ts'));

const measureInput = (workDir: string, over: Partial<MeasureJobInput> = {}): MeasureJobInput => ({ modelPath: '/m.gguf', types: ['Q8_0', 'Q2_K'], workDir, threads: 0, ...over });

test('host: a measure job runs the registry\'s measure runner and replies with the measured types', async () => {
  const seen: MeasureJobInput[] = [];
  const registry: JobRegistry = {
    quantize: async () => assert.fail('wrong kind'),
    fit: async () => assert.fail('wrong kind'),
    measure: async (input, { onEvent }) => {
      seen.push(input);
      onEvent({ type: 'progress', stage: 'evaluate', unit: 'tokens', done: 1, total: 2, rate: 10, etaSeconds: 0.1 });
      return { Q8_0: measured };
    },
  };
  const { port, replies, send, until } = fakePort();
  serveJobs(port, registry, { throttleMs: 0 });
  send({ type: 'start', jobId: 'job-m1', kind: 'measure', input: measureInput('/tmp', { types: ['Q8_0'] }) });
  await until(() => replies.some((r) => r.type !== 'event'));
  assert.deepEqual(replies.map((r) => r.type), ['event', 'measured']);
  assert.deepEqual(replies.at(-1), { type: 'measured', jobId: 'job-m1', measured: { Q8_0: measured } });
  assert.deepEqual(seen[0]!.types, ['Q8_0']);
});

test('host: a cancelled measure job reports cancelled', async () => {
  const registry: JobRegistry = {
    quantize: async () => assert.fail('wrong kind'),
    fit: async () => assert.fail('wrong kind'),
    measure: (_i, { signal }) => new Promise((_res, rej) => signal.addEventListener('abort', () => rej(new CancelledError()))),
  };
  const { port, replies, send, until } = fakePort();
  serveJobs(port, registry);
  send({ type: 'start', jobId: 'job-m2', kind: 'measure', input: measureInput('/tmp') });
  send({ type: 'cancel', jobId: 'job-m2' });
  await until(() => replies.length > 0);
  assert.deepEqual(replies, [{ type: 'error', jobId: 'job-m2', error: { code: 'common.cancelled' }, cancelled: true, kept: null }]);
});

test('manager: a measure job in a child process streams progress and ends with a measured message', async () => {
  const work = await mkdtemp(join(tmpdir(), 'qf-measure-job-'));
  try {
    const c = collectMessages();
    const m = new JobManager(FIXTURE_HOST, c.deliver);
    const id = m.start('measure', measureInput(work));
    await c.until(() => c.messages.some((x) => x.kind !== 'event'));
    const last = c.messages.at(-1)!;
    assert.equal(last.kind, 'measured');
    assert.deepEqual(last.kind === 'measured' ? Object.entries(last.measured).map(([t, q]) => [t, q.kld]) : null, [['Q8_0', 1], ['Q2_K', 2]]);
    assert.ok(c.messages.filter((x) => x.kind === 'event' && x.event.type === 'progress').length >= 2);
    assert.ok(c.messages.every((x) => x.jobId === id));
    assert.deepEqual(await readdir(work), []);
    assert.deepEqual(m.runningJobs(), []);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});

test('manager: a cancelled measure job ends cancelled and leaves no work folder; measurements claim no output file', async () => {
  const work = await mkdtemp(join(tmpdir(), 'qf-measure-job-'));
  try {
    const c = collectMessages();
    const m = new JobManager(FIXTURE_HOST, c.deliver);
    // threads 99: the fixture's slow pace. Two measurements of the same model at once are no clash.
    const a = m.start('measure', measureInput(work, { threads: 99 }));
    const b = m.start('measure', measureInput(work, { threads: 99 }));
    await c.until(() => new Set(c.messages.filter((x) => x.kind === 'event').map((x) => x.jobId)).size === 2);
    assert.equal((await readdir(work)).length, 2, 'each job has its work folder while it runs');
    assert.equal(m.cancel(a), true);
    assert.equal(m.cancel(b), true);
    await c.until(() => c.messages.filter((x) => x.kind === 'error').length === 2);
    for (const id of [a, b]) assert.deepEqual(c.messages.find((x) => x.jobId === id && x.kind === 'error'), { jobId: id, kind: 'error', error: { code: 'common.cancelled' }, cancelled: true, kept: null });
    assert.deepEqual(await readdir(work), []);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});

test('resolveMeasureInput: the work folder is the settings\' output folder, else the fallback; threads from the settings', () => {
  assert.deepEqual(resolveMeasureInput('/m/a.gguf', ['Q8_0'], { ...DEFAULT_SETTINGS, threads: 3 }, '/tmp/x'), { modelPath: '/m/a.gguf', types: ['Q8_0'], workDir: '/tmp/x', threads: 3 });
  assert.equal(resolveMeasureInput('/m/a.gguf', ['Q8_0'], { ...DEFAULT_SETTINGS, outputDir: '/out' }, '/tmp/x').workDir, '/out');
});

test('measureUnavailableReason: a GGUF or a model folder can be measured where llama.cpp is installed', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'qf-measure-why-'));
  try {
    const llama = findLlamaLibraries();
    const expected = 'unavailable' in llama ? { code: 'measure.noEngine', params: { reason: llama.unavailable } } : null;
    assert.deepEqual(await measureUnavailableReason(dir), expected);
    assert.deepEqual(await measureUnavailableReason(join(import.meta.dirname, 'measure-job.test.ts')), expected);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('real registry: measure Q8_0 of stories260K in the job process, with progress, rate and ETA', { skip: engineSkip(), timeout: 300_000 }, async () => {
  const work = await mkdtemp(join(tmpdir(), 'qf-measure-job-'));
  try {
    const c = collectMessages();
    const m = new JobManager(REAL_HOST, c.deliver);
    const id = m.start('measure', measureInput(work, { modelPath: STORIES, types: ['Q8_0'], threads: 2 }));
    await c.until(() => c.messages.some((x) => x.kind !== 'event'));
    const last = c.messages.at(-1)!;
    assert.equal(last.kind, 'measured', JSON.stringify(last));
    const q8 = last.kind === 'measured' ? last.measured.Q8_0 : undefined;
    assert.ok(q8 && q8.kld > 0 && q8.kld < 0.1 && q8.tokens > 0, JSON.stringify(q8));
    const events = c.messages.flatMap((x) => (x.kind === 'event' ? [x.event] : []));
    assert.ok(events.some((e) => e.type === 'log' && e.text?.code === 'measure.typeStart' && e.text.params?.type === 'Q8_0'), 'says which type it measures');
    const evaluate = events.filter((e) => e.type === 'progress' && e.stage === 'evaluate');
    assert.ok(evaluate.length > 0 && evaluate.every((e) => e.type === 'progress' && e.unit === 'tokens'), 'evaluation progress in tokens');
    assert.ok(evaluate.some((e) => e.type === 'progress' && e.rate > 0 && e.etaSeconds !== null), 'with a rate and an ETA');
    assert.ok(events.some((e) => e.type === 'progress' && e.stage === 'quantize'), 'quantize progress');
    assert.ok(c.messages.every((x) => x.jobId === id));
    assert.deepEqual(await readdir(work), [], 'the work folder is removed');
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});

test('real registry: a measurement cancelled mid-way ends cancelled and leaves no work folder', { skip: engineSkip(), timeout: 120_000 }, async () => {
  const work = await mkdtemp(join(tmpdir(), 'qf-measure-job-'));
  try {
    const c = collectMessages();
    const m = new JobManager(REAL_HOST, c.deliver);
    const id = m.start('measure', measureInput(work, { modelPath: STORIES, types: ['Q8_0', 'Q4_K_M'], threads: 2 }));
    await c.until(() => c.messages.some((x) => x.kind === 'event' && x.event.type === 'progress' && x.event.stage === 'evaluate'));
    assert.equal((await readdir(work)).length, 1, 'its work folder exists while it runs');
    m.cancel(id);
    await c.until(() => c.messages.some((x) => x.kind !== 'event'));
    assert.deepEqual(c.messages.at(-1), { jobId: id, kind: 'error', error: { code: 'common.cancelled' }, cancelled: true, kept: null });
    assert.deepEqual(await readdir(work), []);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});

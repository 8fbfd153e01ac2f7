import { test } from 'node:test';
import { formatMessage } from '../../src-shared/messages/index.ts';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FitRequest, FitResult } from '../../src-shared/contract.ts';
import type { JobEvent } from '../../src-main/core/progress.ts';
import { CancelledError } from '../../src-main/core/errors.ts';
import { JobManager, type HostProcess } from '../../src-main/electron/job-manager.ts';
import { ProgressThrottle, serveJobs, type FitJobInput, type JobRegistry } from '../../src-main/electron/job-protocol.ts';
import { collectMessages, fakePort, forkHost } from './support/host.ts';

const request: FitRequest = {
  modelPath: '/m.gguf', type: 'Q4_K_M', contextLength: 4096, outputDir: null, modelName: 'm', register: false,
  force: false, imatrixPath: null, predictedBytes: null,
};
const input = (over: Partial<FitRequest> = {}, outputPath = '/tmp/out.gguf'): FitJobInput => ({ request: { ...request, ...over }, outputPath, ollamaHost: 'http://127.0.0.1:11434', threads: 0 });

const result: FitResult = {
  outputPath: '/tmp/out.gguf', fileBytes: 1, sha256: 'ab', type: 'Q4_K_M', elapsedMs: 1, model: null, modelfilePath: null, verify: null,
  warnings: [], inputPath: '/m.gguf', quantized: true, sourceType: 'F32', ctx: 4096, predictedBytes: null, recommendation: null,
  tensorTypes: { Q4_K: 1 }, uploaded: false, verifyError: null, imatrixPath: null, quality: null,
};

test('host: start streams the runner events and ends with done', async () => {
  const seen: FitJobInput[] = [];
  const registry: JobRegistry = {
    quantize: async (inp, { onEvent }) => {
      seen.push(inp);
      onEvent({ type: 'stage', stage: 'quantize', status: 'start' });
      onEvent({ type: 'log', level: 'info', message: 'hello' });
      return result;
    },
    fit: async () => assert.fail('wrong kind dispatched'),
    measure: async () => assert.fail('wrong kind dispatched'),
  };
  const { port, replies, send, until } = fakePort();
  const host = serveJobs(port, registry, { throttleMs: 0 });
  send({ type: 'start', jobId: 'job-1', kind: 'quantize', input: input() });
  await until(() => replies.some((r) => r.type === 'done'));
  assert.deepEqual(replies.map((r) => r.type), ['event', 'event', 'done']);
  assert.equal(seen[0]!.outputPath, '/tmp/out.gguf');
  assert.deepEqual(host.runningJobs(), []);
});

test('host: cancel aborts the runner and reports cancelled', async () => {
  let sawAbort = false;
  const registry: JobRegistry = {
    quantize: async () => assert.fail('wrong kind'),
    measure: async () => assert.fail('wrong kind'),
    fit: (_i, { signal }) =>
      new Promise((_res, rej) => {
        signal.addEventListener('abort', () => {
          sawAbort = true;
          rej(new CancelledError());
        });
      }),
  };
  const { port, replies, send, until } = fakePort();
  const host = serveJobs(port, registry);
  send({ type: 'start', jobId: 'job-2', kind: 'fit', input: input() });
  assert.deepEqual(host.runningJobs(), ['job-2']);
  send({ type: 'cancel', jobId: 'job-2' });
  await until(() => replies.length > 0);
  assert.equal(sawAbort, true);
  assert.deepEqual(replies, [{ type: 'error', jobId: 'job-2', error: { code: 'common.cancelled' }, cancelled: true, kept: null }]);
});

test('host: a cancelled runner that says what it kept passes that on', async () => {
  const registry: JobRegistry = {
    quantize: async () => assert.fail('wrong kind'),
    measure: async () => assert.fail('wrong kind'),
    fit: (_i, { signal }) =>
      new Promise((_res, rej) => {
        signal.addEventListener('abort', () => rej(new CancelledError('cancelled during upload; the quantized file /o.gguf is complete and kept')));
      }),
  };
  const { port, replies, send, until } = fakePort();
  serveJobs(port, registry);
  send({ type: 'start', jobId: 'job-4', kind: 'fit', input: input() });
  send({ type: 'cancel', jobId: 'job-4' });
  await until(() => replies.length > 0);
  assert.deepEqual(replies, [{ type: 'error', jobId: 'job-4', error: { code: 'common.text', params: { text: 'cancelled during upload; the quantized file /o.gguf is complete and kept' } }, cancelled: true, kept: null }]);
});

test('host: a cancelled fit that kept its finished file names it, so the app can register it', async () => {
  const registry: JobRegistry = {
    quantize: async () => assert.fail('wrong kind'),
    measure: async () => assert.fail('wrong kind'),
    fit: (_i, { signal }) =>
      new Promise((_res, rej) => {
        signal.addEventListener('abort', () =>
          rej(Object.assign(new CancelledError(), { outcome: { stage: 'create', keptOutput: '/o/m.Q4_0.gguf', modelName: 'm:q4_0' } })));
      }),
  };
  const { port, replies, send, until } = fakePort();
  serveJobs(port, registry);
  send({ type: 'start', jobId: 'job-5', kind: 'fit', input: input() });
  send({ type: 'cancel', jobId: 'job-5' });
  await until(() => replies.length > 0);
  assert.deepEqual(replies, [{ type: 'error', jobId: 'job-5', error: { code: 'common.cancelled' }, cancelled: true, kept: { outputPath: '/o/m.Q4_0.gguf', modelName: 'm:q4_0' } }]);
});

test('host: a failing runner reports its described error; a duplicate id and bad messages are refused', async () => {
  const registry: JobRegistry = {
    quantize: async () => {
      await new Promise((r) => setTimeout(r, 20));
      throw new Error('disk full');
    },
    fit: async () => result,
    measure: async () => assert.fail('wrong kind'),
  };
  const { port, replies, send, until } = fakePort();
  serveJobs(port, registry);
  send({ type: 'bogus', jobId: 'job-3' });
  send({ type: 'start', jobId: 'job-3', kind: 'shell', input: input() });
  send(null);
  send({ type: 'start', jobId: 'job-3', kind: 'quantize', input: input() });
  send({ type: 'start', jobId: 'job-3', kind: 'quantize', input: input() });
  await until(() => replies.length >= 2);
  assert.deepEqual(replies, [
    { type: 'error', jobId: 'job-3', error: { code: 'app.jobAlreadyRunning', params: { jobId: 'job-3' } }, cancelled: false, kept: null },
    { type: 'error', jobId: 'job-3', error: { code: 'common.text', params: { text: 'disk full' } }, cancelled: false, kept: null },
  ]);
});

test('throttle: at most one progress event per interval per stage, the latest one kept and flushed', () => {
  let t = 0;
  const out: JobEvent[] = [];
  const th = new ProgressThrottle((e) => out.push(e), 100, () => t);
  const p = (done: number): JobEvent => ({ type: 'progress', stage: 'quantize', unit: 'bytes', done, total: 100, rate: 0, etaSeconds: null });
  th.push(p(1));
  t = 10; th.push(p(2));
  t = 20; th.push(p(3));
  assert.deepEqual(out.map((e) => (e.type === 'progress' ? e.done : -1)), [1]);
  th.push({ type: 'log', level: 'info', message: 'x' }); // flushes the held-back 3 first
  assert.deepEqual(out.map((e) => (e.type === 'progress' ? e.done : e.type)), [1, 3, 'log']);
  t = 40; th.push(p(100)); // completion always goes out
  t = 200; th.push(p(50));
  assert.deepEqual(out.map((e) => (e.type === 'progress' ? e.done : e.type)), [1, 3, 'log', 100, 50]);
});

// The JobManager against a real child process running the host protocol.
const FIXTURE_HOST = join(import.meta.dirname, 'fixtures/fork-host.ts');

test('manager: a job in a child process streams progress and finishes with its result', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'qf-jobs-'));
  try {
    const c = collectMessages();
    const m = new JobManager(forkHost(FIXTURE_HOST), c.deliver);
    const id = m.start('quantize', input({}, join(dir, 'out.gguf')));
    assert.match(id, /^job-[0-9a-z]+$/);
    await c.until(() => c.messages.some((x) => x.kind === 'done' || x.kind === 'error'));
    const last = c.messages.at(-1)!;
    assert.equal(last.kind, 'done');
    const progress = c.messages.filter((x) => x.kind === 'event' && x.event.type === 'progress');
    assert.ok(progress.length >= 2, 'progress events arrive');
    assert.ok(c.messages.every((x) => x.jobId === id));
    assert.equal((await stat(join(dir, 'out.gguf'))).size, 320);
    assert.deepEqual(m.runningJobs(), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('manager: cancel stops the job and its partial file is gone', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'qf-jobs-'));
  try {
    const c = collectMessages();
    const m = new JobManager(forkHost(FIXTURE_HOST), c.deliver);
    const id = m.start('quantize', input({ contextLength: 999 }, join(dir, 'out.gguf')));
    await c.until(() => c.messages.some((x) => x.kind === 'event' && x.event.type === 'progress'));
    assert.equal(m.cancel(id), true);
    await c.until(() => c.messages.some((x) => x.kind === 'error'));
    assert.deepEqual(c.messages.at(-1), { jobId: id, kind: 'error', error: { code: 'common.cancelled' }, cancelled: true, kept: null });
    assert.deepEqual(await readdir(dir), []);
    assert.equal(m.cancel(id), false);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('manager: shutdown cancels every running job and waits for its cleanup', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'qf-jobs-'));
  try {
    const c = collectMessages();
    const m = new JobManager(forkHost(FIXTURE_HOST), c.deliver);
    m.start('quantize', input({ contextLength: 999 }, join(dir, 'a.gguf')));
    m.start('quantize', input({ contextLength: 999 }, join(dir, 'b.gguf')));
    await c.until(() => new Set(c.messages.filter((x) => x.kind === 'event').map((x) => x.jobId)).size === 2);
    await m.shutdown(10_000);
    assert.deepEqual(m.runningJobs(), []);
    assert.equal(c.messages.filter((x) => x.kind === 'error' && x.cancelled).length, 2);
    assert.deepEqual(await readdir(dir), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('manager: job errors and a crashed host process are reported, not lost', async () => {
  const c = collectMessages();
  const m = new JobManager(forkHost(FIXTURE_HOST), c.deliver);
  const failing = m.start('fit', input({ modelName: 'ok' }, '/tmp/ok.gguf'));
  const crashing = m.start('fit', input({ modelName: 'crash' }, '/tmp/crash.gguf'));
  await c.until(() => c.messages.filter((x) => x.kind === 'error').length === 2);
  const byId = new Map(c.messages.map((x) => [x.jobId, x.kind === 'error' ? { ...x, error: formatMessage(x.error, 'en') } : x]));
  assert.deepEqual(byId.get(failing), { jobId: failing, kind: 'error', error: '/m.gguf: no Ollama here', cancelled: false, kept: null });
  assert.deepEqual(byId.get(crashing), { jobId: crashing, kind: 'error', error: 'the job process stopped unexpectedly (exit code 3)', cancelled: false, kept: null });
});

test('manager: a second job writing the same file or creating the same model is refused; at most MAX_RUNNING_JOBS run', async () => {
  const { MAX_RUNNING_JOBS } = await import('../../src-main/electron/job-manager.ts');
  // Hosts that never answer: the jobs stay running until shutdown kills them.
  const spawned: string[] = [];
  const idleHost = (): HostProcess => {
    let exit: ((code: number | null) => void) | null = null;
    return {
      postMessage: (m) => {
        if (m.type === 'start' && m.kind !== 'measure') spawned.push(m.input.outputPath);
      },
      onMessage: () => undefined,
      onExit: (l) => (exit = l),
      kill: () => exit?.(null),
    };
  };
  const m = new JobManager(idleHost, () => undefined);
  m.start('fit', input({ modelName: 'Tiny:q4' }, '/tmp/qf-a/one.gguf'));
  assert.throws(() => m.start('quantize', input({}, '/tmp/qf-a/x/../one.gguf')), /a running job is already writing \/tmp\/qf-a\/one\.gguf/);
  assert.throws(() => m.start('fit', input({ modelName: 'tiny:Q4' }, '/tmp/qf-a/two.gguf')), /already creating the Ollama model tiny:Q4/);
  // The same name without registering is no clash.
  m.start('quantize', input({ modelName: 'tiny:q4' }, '/tmp/qf-a/two.gguf'));
  for (let i = m.runningJobs().length; i < MAX_RUNNING_JOBS; i++) m.start('quantize', input({}, `/tmp/qf-a/more-${i}.gguf`));
  assert.throws(() => m.start('quantize', input({}, '/tmp/qf-a/one-too-many.gguf')), new RegExp(`${MAX_RUNNING_JOBS} jobs are already running`));
  assert.equal(spawned.length, MAX_RUNNING_JOBS, 'a refused job starts no process');
  await m.shutdown(10);
  // Once they ended, the same file can be written again.
  m.start('quantize', input({}, '/tmp/qf-a/one.gguf'));
  await m.shutdown(10);
});

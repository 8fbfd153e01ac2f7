// The stage list and the runner that keeps a job to it: order, undo on stop (last stage first), and
// a quantize-only fit that walks the same list (Ollama stages skipped, in order).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { APP_STAGE_IDS, JOB_STAGES, STAGE_IDS } from '../../src-shared/stages.ts';
import { StageRunner } from '../../src-main/core/jobs/runner.ts';
import { runFitJob } from '../../src-main/core/jobs/fit.ts';
import { CancelledError } from '../../src-main/core/errors.ts';
import { makeTempDir, removeTempDir } from '../support/synthetic-gguf.ts';
import { collect, stageTrail, writeTinyLlama } from './support.ts';

test('the stage list: unique ids in order; the app draws a subset in the same order', () => {
  assert.equal(new Set(STAGE_IDS).size, JOB_STAGES.length);
  assert.deepEqual(STAGE_IDS, ['source', 'inspect', 'advise', 'imatrix', 'quantize', 'evaluate', 'modelfile', 'upload', 'create', 'verify']);
  assert.deepEqual(APP_STAGE_IDS, STAGE_IDS.filter((s) => APP_STAGE_IDS.includes(s)));
  for (const s of JOB_STAGES) assert.ok(s.does.length > 10, s.id);
});

test('the runner keeps stages in list order and unwinds undos last stage first', async () => {
  const runner = new StageRunner(undefined, undefined);
  const undone: string[] = [];
  await runner.run('inspect', async () => runner.onStop(async () => void undone.push('inspect')));
  await runner.run('quantize', async () => {
    runner.onStop(async (cancelled) => void undone.push(`quantize-1:${cancelled}`));
    runner.onStop(async () => void undone.push('quantize-2'));
  });
  await assert.rejects(runner.run('advise', async () => 1), /stage 'advise' cannot run after 'quantize'/);
  await runner.unwind(true);
  assert.deepEqual(undone, ['quantize-2', 'quantize-1:true', 'inspect']);
});

test('a cancel is noticed at the next stage and named by the stage it came in', async () => {
  const ac = new AbortController();
  const runner = new StageRunner(ac.signal, undefined);
  await runner.run('inspect', async () => ac.abort());
  await assert.rejects(runner.run('advise', async () => 1), CancelledError);
  assert.equal(runner.abortedIn, 'inspect');
  runner.dispose();
});

test('quantize only: every stage of the list reported in order, the Ollama ones skipped', async () => {
  const dir = await makeTempDir('stages');
  try {
    const input = await writeTinyLlama(dir, 'tiny', { seed: 3 });
    const { events, onEvent } = collect();
    const r = await runFitJob({ modelPath: input, type: 'Q8_0', register: false }, { onEvent });
    assert.equal(r.model, null);
    const trail = stageTrail(events);
    const order = trail.map((t) => STAGE_IDS.indexOf(t.split(':')[0] as (typeof STAGE_IDS)[number]));
    assert.deepEqual(order, [...order].sort((a, b) => a - b));
    assert.deepEqual(trail.slice(-4), JOB_STAGES.filter((s) => s.ollama).map((s) => `${s.id}:skipped`));
  } finally {
    await removeTempDir(dir);
  }
});

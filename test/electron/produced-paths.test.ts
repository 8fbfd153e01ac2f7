import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { FitResult } from '../../src-shared/contract.ts';
import { ProducedPaths } from '../../src-main/electron/produced-paths.ts';

const root = join('/', 'tmp', 'qf-produced');
const result = (over: Partial<FitResult> = {}): FitResult => ({
  outputPath: join(root, 'm.Q8_0.gguf'), fileBytes: 1, sha256: '0'.repeat(64), type: 'Q8_0', elapsedMs: 1,
  model: 'm:q8_0', modelfilePath: join(root, 'm.Q8_0.Modelfile'), verify: null, warnings: [], inputPath: join(root, 'm.gguf'),
  quantized: true, sourceType: 'F32', ctx: 256, predictedBytes: null, recommendation: null, tensorTypes: null, uploaded: true,
  verifyError: null, imatrixPath: null, quality: null, ...over,
});

test('openPath allow-list: only the GGUF and Modelfile of a finished job', () => {
  const p = new ProducedPaths();
  // Nothing has been produced yet: everything is refused, even a real folder.
  assert.throws(() => p.assertProduced(root), /not a file this app produced/);
  assert.throws(() => p.assertProduced('/Applications/Calculator.app'), /not a file this app produced/);

  // Progress and failures add nothing.
  p.note({ jobId: 'job-1', kind: 'event', event: { type: 'log', level: 'info', message: join(root, 'x.gguf') } });
  p.note({ jobId: 'job-1', kind: 'error', error: { code: 'common.text', params: { text: join(root, 'x.gguf') } }, cancelled: false, kept: null });
  assert.equal(p.has(join(root, 'x.gguf')), false);

  p.note({ jobId: 'job-2', kind: 'done', result: result() });
  assert.equal(p.assertProduced(join(root, 'm.Q8_0.gguf')), join(root, 'm.Q8_0.gguf'));
  assert.equal(p.has(join(root, 'm.Q8_0.Modelfile')), true);
  // The same file spelled with `..` is the same file; its folder and its input are not.
  assert.equal(p.has(join(root, 'sub', '..', 'm.Q8_0.gguf')), true);
  assert.equal(p.has(root), false);
  assert.equal(p.has(join(root, 'm.gguf')), false);

  // A quantize-only job has no Modelfile.
  p.note({ jobId: 'job-3', kind: 'done', result: result({ outputPath: join(root, 'n.Q4_0.gguf'), modelfilePath: null }) });
  assert.equal(p.has(join(root, 'n.Q4_0.gguf')), true);
});

// `recommend --measure`: this model's own KL divergence and perplexity per type, measured with
// llama.cpp, in the quality column (marked measured) and the JSON.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { runQuantfit } from '../support/cli.ts';
import { engineSkip, STORIES, STORIES_TEXT } from './support.ts';

test('recommend --measure fills the quality column with measured figures', { skip: engineSkip() }, async () => {
  const before = readdirSync(tmpdir()).filter((f) => f.startsWith('.quantfit-measure-'));
  const r = await runQuantfit(['recommend', STORIES, '--measure', 'Q8_0,Q2_K,IQ2_XS', '--text', STORIES_TEXT, '--json']);
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { options: Array<{ type: string; measured?: { kld: number; ppl: number; pplReference: number; sameTopP: number; tokens: number; imatrix: boolean } }> };
  const m = (t: string) => report.options.find((o) => o.type === t)?.measured;
  const [q8, q2, iq2] = [m('Q8_0')!, m('Q2_K')!, m('IQ2_XS')!];
  assert.ok(q8.kld > 0 && q8.kld < q2.kld, `KLD Q8_0 ${q8.kld}, Q2_K ${q2.kld}`);
  assert.ok(q8.ppl < q2.ppl && q8.pplReference === q2.pplReference);
  assert.equal(iq2.imatrix, true);
  assert.ok(iq2.tokens > 1000);
  assert.equal(report.options.filter((o) => o.measured).length, 3);
  // The work folder (quantized copies, reference log-probs, importance matrix) is gone.
  assert.deepEqual(readdirSync(tmpdir()).filter((f) => f.startsWith('.quantfit-measure-')), before);

  const table = await runQuantfit(['recommend', STORIES, '--measure', 'Q8_0', '--text', STORIES_TEXT]);
  assert.equal(table.status, 0, table.stderr);
  assert.match(table.stdout, /Q8_0 .* KLD 0\.\d{4}, PPL -?\d+\.\d\d% \(measured\)/);
  assert.match(table.stdout, /^measured: this model's KL divergence/m);
});

test('recommend --measure with an unknown type is a usage error', async () => {
  const r = await runQuantfit(['recommend', STORIES, '--measure', 'Q9_X']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /Q9_X/);
});

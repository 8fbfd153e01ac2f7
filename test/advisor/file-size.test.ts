// The advisor's fileBytes is the size of the file the quantizer really writes.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { readGgufHeader } from '../../src-main/core/gguf/reader.ts';
import type { GgufHeader } from '../../src-main/core/gguf/types.ts';
import { quantizeFile } from '../../src-main/core/quant/pipeline.ts';
import { planModel, type PlannedModel } from '../../src-main/core/advisor/estimate.ts';
import { quantizerPlanner } from '../../src-main/core/advisor/planner.ts';
import { ESTIMATED_FTYPES, REQUIRES_IMATRIX } from '../../src-main/core/advisor/quality.ts';
import { advise } from '../../src-main/core/advisor/recommend.ts';
import { profileFromRaw } from '../../src-main/core/hardware/profile.ts';
import type { RecommendReport } from '../../src-main/core/advisor/types.ts';
import { spawnSync } from 'node:child_process';
import { makeTempDir, removeTempDir, tinyLlama, writeSyntheticGguf } from '../support/synthetic-gguf.ts';

let dir = '';
let src = '';
let header: GgufHeader;
let model: PlannedModel;
const imatrix = new Map<string, Float32Array>();

before(async () => {
  dir = await makeTempDir('advisor-size');
  src = join(dir, 'tiny.gguf');
  // Rows of 256 so that every k-quant and i-quant applies (narrower rows fall back to other types).
  await writeSyntheticGguf(src, tinyLlama({ nEmbd: 256, nLayer: 1, nHead: 4, nHeadKv: 2, nFf: 256, nVocab: 32, type: 'F16' }));
  header = await readGgufHeader(src);
  model = planModel(header, quantizerPlanner, { hasImatrix: false });
  for (const t of header.tensors) if (t.shape.length >= 2) imatrix.set(t.name, new Float32Array(t.shape[0]!).fill(1));
});

after(async () => {
  await removeTempDir(dir);
});

test('every ftype is planned on a small model (none refused)', () => {
  assert.deepEqual(model.skipped, []);
  assert.deepEqual(model.plans.map((p) => p.type), ESTIMATED_FTYPES);
  const sizes = new Set(model.plans.map((p) => p.fileBytes));
  assert.ok(sizes.size > 20, 'types differ in size');
});

// One type per family and mixture kind keeps this test quick; all 29 were checked the same way
// when the advisor was written (see the hardware/advisor report).
const CHECKED = ['F16', 'Q8_0', 'Q4_K_M', 'Q3_K_S', 'IQ4_XS', 'Q2_K', 'IQ2_XS'];

for (const type of CHECKED) {
  test(`${type}: fileBytes equals the size of the file quantizeFile writes`, async () => {
    const plan = model.plans.find((p) => p.type === type);
    assert.ok(plan, type);
    const out = join(dir, `${type}.gguf`);
    const result = await quantizeFile(src, out, { ftype: type, ...(REQUIRES_IMATRIX.has(type) ? { imatrix } : {}) }, { threads: 1 });
    assert.equal((await stat(out)).size, plan.fileBytes);
    assert.equal(result.bytes, plan.fileBytes);
  });
}

test('advise(): the default context is 4096 or the model\'s own when shorter; the report survives JSON', () => {
  const hw = profileFromRaw({ platform: 'linux', arch: 'x64', mem: { total: 8 * 1024 ** 3 }, cpu: null, gpus: [], disk: null }, 'fixture');
  const report = advise(header, hw, { planner: quantizerPlanner, hasImatrix: false });
  assert.equal(report.ctx, 256, 'tiny model trained on 256 tokens');
  const round = JSON.parse(JSON.stringify(report)) as RecommendReport;
  assert.equal(round.options.length, ESTIMATED_FTYPES.length);
  assert.deepEqual([round.recommended.type, round.recommended.fit], ['Q5_K_M', 'cpu']);
  assert.equal(advise(header, hw, { planner: quantizerPlanner, hasImatrix: false, ctx: 8192 }).ctx, 8192);
});

test('quantfit recommend: table, nothing-fits exits 0 with fit none, bad sizes exit 2', () => {
  const cli = (args: string[]) => spawnSync(process.execPath, ['bin/quantfit.mjs', 'recommend', src, ...args], { encoding: 'utf8' });
  const table = cli(['--ram', '8G', '--vram', '0', '--ctx', '2048']);
  assert.equal(table.status, 0, table.stderr);
  assert.match(table.stdout, /^\*\s+Q5_K_M\s/m);
  assert.match(table.stdout, /Recommended: Q5_K_M \(CPU\)\./);
  assert.match(table.stdout, /^\s+TYPE\s+FILE\s+KV\s+COMPUTE\s+TOTAL\s+FIT\s+GPU LAYERS\s+PPL \+$/m);
  const none = cli(['--ram', '1K', '--vram', '0', '--json']);
  assert.equal(none.status, 0, none.stderr);
  const n = JSON.parse(none.stdout) as RecommendReport;
  assert.deepEqual([n.recommended.type, n.recommended.fit], [null, 'none']);
  assert.equal(n.recommended.reasons[0]!.code, 'nothing_fits');
  const bad = cli(['--ram', 'lots']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--ram: 'lots' is not a size/);
  const badCtx = cli(['--ctx', '0']);
  assert.equal(badCtx.status, 2);
});

test('an already-quantized input: only the types the quantizer would make are offered, and one is picked', async () => {
  const q8 = await readGgufHeader(join(dir, 'Q8_0.gguf'));
  const hw = profileFromRaw({ platform: 'linux', arch: 'x64', mem: { total: 8 * 1024 ** 3 }, cpu: null, gpus: [], disk: null }, 'fixture');
  const report = advise(q8, hw, { planner: quantizerPlanner, hasImatrix: false });
  assert.ok(report.skipped.some((s) => /already quantized/.test(s.reason)), 'requantizing is refused as llama-quantize does');
  assert.ok(report.options.length > 0 && report.options.length < ESTIMATED_FTYPES.length);
  assert.ok(report.recommended.type !== null, 'something that can be made and fits is recommended');
  assert.ok(report.options.some((o) => o.type === report.recommended.type));
});

test('a model no type can be planned for is a clear error, not an empty recommendation', () => {
  const hw = profileFromRaw({ platform: 'linux', arch: 'x64', mem: { total: 8 * 1024 ** 3 }, cpu: null, gpus: [], disk: null }, 'fixture');
  const refuse = () => { throw new Error('unsupported tensor layout'); };
  assert.throws(() => advise(header, hw, { planner: refuse, hasImatrix: false }), /no quant type can be made from this model: unsupported tensor layout/);
});

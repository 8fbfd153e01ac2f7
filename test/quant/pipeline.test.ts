import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { quantizeFile } from '../../src-main/core/quant/pipeline.ts';
import { CancelledError, QuantfitError } from '../../src-main/core/errors.ts';
import type { JobEvent } from '../../src-main/core/progress.ts';
import { formatMessage } from '../../src-shared/messages/index.ts';
import { readGgufHeader } from '../../src-main/core/gguf/reader.ts';
import { makeTempDir, removeTempDir, writeSyntheticGguf, type SyntheticModel } from '../support/synthetic-gguf.ts';
import { quantModel } from '../support/quant-models.ts';
import { oracleParams, syntheticImatrix } from '../support/quant-parity.ts';
import { loadQuantizeOracle, quantizeOracleUnavailableReason } from '../support/llama-quantize-oracle.ts';

/** The model with one value of one tensor replaced. */
function withValue(model: SyntheticModel, tensor: string, index: number, value: number): SyntheticModel {
  return {
    ...model,
    tensors: model.tensors.map((t) => {
      if (t.name !== tensor) return t;
      const n = t.shape.reduce((a, b) => a * b, 1);
      const data = new Float32Array(n).map((_, i) => Math.sin(i) * 0.3);
      data[index] = value;
      return { ...t, data };
    }),
  };
}

describe('quantizeFile', () => {
  let dir: string;
  let moe: string;
  let dense: string;
  before(async () => {
    dir = await makeTempDir('pipeline');
    moe = join(dir, 'moe.gguf');
    dense = join(dir, 'dense.gguf');
    await writeSyntheticGguf(moe, quantModel({ nExpert: 4, nLayer: 8, rows: 24, type: 'F16' }));
    await writeSyntheticGguf(dense, quantModel({ nLayer: 8, rows: 64 }));
  });
  after(() => removeTempDir(dir));

  const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
  const leftovers = (sub: string) => readdirSync(sub);

  test('the output is the same for 1 and 3 threads and any job size (experts and imatrix slices included)', async () => {
    const imatrix = syntheticImatrix(await readGgufHeader(moe));
    for (const ftype of ['Q4_K_M', 'IQ4_XS', 'Q8_0']) {
      const options = { ftype, imatrix };
      const a = await quantizeFile(moe, join(dir, `t1-${ftype}.gguf`), options, { threads: 1 });
      // 5 rows of 256 floats per job: jobs stop at every expert boundary (24 rows per expert) too.
      const b = await quantizeFile(moe, join(dir, `t3-${ftype}.gguf`), options, { threads: 3, jobBytes: 5 * 256 * 4 });
      assert.equal(a.sha256, b.sha256, ftype);
      assert.equal(sha(a.out), a.sha256, 'the reported sha256 is the file’s');
      assert.equal(a.bytes, a.plan.fileBytes, 'the plan predicted the exact size');
      assert.deepEqual(readFileSync(a.out), readFileSync(b.out));
    }
  });

  const oracleReason = quantizeOracleUnavailableReason();
  test('split jobs still give llama.cpp’s bytes', { skip: oracleReason }, async () => {
    const imatrix = syntheticImatrix(await readGgufHeader(moe));
    const options = { ftype: 'Q5_K_M', imatrix };
    const ours = await quantizeFile(moe, join(dir, 'split.gguf'), options, { threads: 3, jobBytes: 7 * 256 * 4 });
    const theirs = join(dir, 'split-theirs.gguf');
    assert.ok(loadQuantizeOracle()!.quantize(moe, theirs, oracleParams(options)).ok);
    assert.equal(ours.sha256, sha(theirs));
  });

  test('progress: stage start/done, monotonic bytes up to the total, tensor names, a sane number of events', async () => {
    const events: JobEvent[] = [];
    const r = await quantizeFile(dense, join(dir, 'progress.gguf'), { ftype: 'Q4_K_S' }, { threads: 2, onEvent: (e) => events.push(e) });
    const start = events[0];
    assert.ok(start?.type === 'stage' && start.stage === 'quantize' && start.status === 'start', 'the first event starts the stage');
    assert.equal(start.text?.code, 'jobProgress.quantize.start');
    assert.deepEqual(start.text?.params, { type: 'Q4_K_S', tensors: r.plan.tensors.length, bytes: start.text?.params?.bytes });
    assert.ok(Number(start.text?.params?.bytes) > 0);
    assert.equal(start.message, formatMessage(start.text, 'en'), 'the English line is the catalogue text');
    assert.deepEqual(events.at(-1), { type: 'stage', stage: 'quantize', status: 'done', message: r.out });
    const progress = events.filter((e) => e.type === 'progress');
    assert.ok(progress.length >= 1 && progress.length < 200, `${progress.length} progress events`);
    let last = 0;
    for (const p of progress) {
      assert.ok(p.done >= last && p.done <= p.total);
      assert.ok(p.rate >= 0);
      assert.ok(p.tensor && p.tensor.index < p.tensor.count && r.plan.tensors[p.tensor.index]!.name === p.tensor.name);
      last = p.done;
    }
    const final = progress.at(-1)!;
    assert.equal(final.done, final.total);
    assert.equal(final.total, r.plan.inputDataBytes);
    assert.ok(final.bytesOut! > 0 && final.bytesOut! <= r.bytes);
  });

  test('cancellation stops the workers and leaves no file behind', async () => {
    const sub = await makeTempDir('pipeline-cancel');
    try {
      const controller = new AbortController();
      let progressSeen = 0;
      const run = quantizeFile(moe, join(sub, 'cancelled.gguf'), { ftype: 'Q4_K_M' }, {
        threads: 2, signal: controller.signal, jobBytes: 256 * 4,
        onEvent: (e) => { if (e.type === 'progress' && ++progressSeen === 1) controller.abort(); },
      });
      await assert.rejects(run, CancelledError);
      assert.deepEqual(leftovers(sub), []);
      const pre = new AbortController();
      pre.abort();
      await assert.rejects(quantizeFile(moe, join(sub, 'never.gguf'), { ftype: 'Q8_0' }, { signal: pre.signal }), CancelledError);
      assert.deepEqual(leftovers(sub), []);
      // The next run (fresh workers) is unaffected.
      const ok = await quantizeFile(moe, join(sub, 'after.gguf'), { ftype: 'Q8_0' }, { threads: 2 });
      assert.equal(ok.bytes, ok.plan.fileBytes);
    } finally {
      await removeTempDir(sub);
    }
  });

  test('NaN/Inf in the input is refused with the tensor named, converted or copied, and no file is left', async () => {
    const sub = await makeTempDir('pipeline-nan');
    try {
      const nan = join(sub, 'nan.gguf');
      await writeSyntheticGguf(nan, withValue(quantModel({ nLayer: 8 }), 'blk.3.ffn_up.weight', 300, NaN));
      for (const ftype of ['Q4_K_M', 'F32']) {
        await assert.rejects(quantizeFile(nan, join(sub, `out-${ftype}.gguf`), { ftype }, { threads: 2 }),
          (e: unknown) => e instanceof QuantfitError && e.location.tensor === 'blk.3.ffn_up.weight' && /NaN/.test(e.message));
      }
      const inf = join(sub, 'inf.gguf');
      await writeSyntheticGguf(inf, withValue(quantModel({ nLayer: 8, type: 'F16' }), 'blk.6.attn_k.weight', 5, -Infinity));
      await assert.rejects(quantizeFile(inf, join(sub, 'out-inf.gguf'), { ftype: 'Q8_0' }, { threads: 1 }),
        (e: unknown) => e instanceof QuantfitError && e.location.tensor === 'blk.6.attn_k.weight' && /infinite/.test(e.message));
      assert.deepEqual(leftovers(sub).sort(), ['inf.gguf', 'nan.gguf']);
      if (!oracleReason) {
        assert.equal(loadQuantizeOracle()!.quantize(nan, join(sub, 'oracle.gguf'), { ftype: 15 }).ok, false, 'llama.cpp refuses it too');
      }
    } finally {
      await removeTempDir(sub);
    }
  });

  test('an F32 value too large for F16 is refused as llama.cpp refuses it', async () => {
    const sub = await makeTempDir('pipeline-f16');
    try {
      const big = join(sub, 'big.gguf');
      await writeSyntheticGguf(big, withValue(quantModel({ nLayer: 8 }), 'blk.2.attn_q.weight', 7, 1e6));
      await assert.rejects(quantizeFile(big, join(sub, 'out.gguf'), { ftype: 'F16' }, { threads: 1 }),
        (e: unknown) => e instanceof QuantfitError && e.location.tensor === 'blk.2.attn_q.weight' && /validation failed/.test(e.message));
      if (!oracleReason) assert.equal(loadQuantizeOracle()!.quantize(big, join(sub, 'oracle.gguf'), { ftype: 1 }).ok, false);
    } finally {
      await removeTempDir(sub);
    }
  });

  test('general.alignment other than 32 is honoured in the output (llama.cpp pads with 32 regardless)', async () => {
    const input = join(dir, 'a64.gguf');
    await writeSyntheticGguf(input, { ...quantModel({ nLayer: 8 }), alignment: 64 });
    const r = await quantizeFile(input, join(dir, 'a64-q4km.gguf'), { ftype: 'Q4_K_M' }, { threads: 2 });
    const h = await readGgufHeader(r.out);
    assert.equal(h.alignment, 64);
    assert.equal(h.dataOffset % 64, 0);
    for (const t of h.tensors) assert.equal(t.offset % 64, 0, t.name);
    assert.equal(r.bytes, r.plan.fileBytes);
  });

  test('never writes over its input, even through a symlink', async () => {
    const link = join(dir, 'link.gguf');
    symlinkSync(dense, link);
    const before = sha(dense);
    await assert.rejects(quantizeFile(dense, link, { ftype: 'Q8_0' }), /same file/);
    await assert.rejects(quantizeFile(dense, join(dir, '.', 'dense.gguf'), { ftype: 'Q8_0' }), /same file/);
    assert.equal(sha(dense), before);
  });
});

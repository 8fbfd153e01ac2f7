import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { makeTempDir, removeTempDir, writeSyntheticGguf } from '../support/synthetic-gguf.ts';
import { quantModel } from '../support/quant-models.ts';
import { readGgufHeader } from '../../src-main/core/gguf/reader.ts';
import { GgmlType } from '../../src-main/core/gguf/ggml-types.ts';
import { runQuantfit } from '../support/cli.ts';

const cli = (args: string[]) => runQuantfit(['quantize', ...args]);


describe('quantfit quantize', () => {
  let dir: string;
  let input: string;
  before(async () => {
    dir = await makeTempDir('cli-quantize');
    input = join(dir, 'in.gguf');
    await writeSyntheticGguf(input, quantModel({ nLayer: 8, nEmbd: 96, nFf: 176 }));
  });
  after(() => removeTempDir(dir));

  test('--json prints {out, bytes, sha256, seconds, tensorTypes}; progress goes to stderr', async () => {
    const out = join(dir, 'q.gguf');
    const r = await cli([input, out, 'q4_k_m', '--threads', '2', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const summary = JSON.parse(r.stdout) as { out: string; bytes: number; sha256: string; seconds: number; tensorTypes: Record<string, number> };
    assert.equal(summary.out, out);
    const bytes = readFileSync(out);
    assert.equal(summary.bytes, bytes.length);
    assert.equal(summary.sha256, createHash('sha256').update(bytes).digest('hex'));
    assert.ok(summary.seconds > 0);
    const h = await readGgufHeader(out);
    assert.equal(Object.values(summary.tensorTypes).reduce((a, b) => a + b, 0), h.tensors.length);
    assert.equal(summary.tensorTypes.F32, h.tensors.filter((t) => t.type === GgmlType.F32).length);
    assert.match(r.stderr, /quantize: 100\.0%/);
  });

  test('options reach the quantizer (--tensor-type, --output-tensor-type, --override-kv, --pure, --leave-output-tensor)', async () => {
    const out = join(dir, 'opts.gguf');
    const r = await cli([input, out, 'Q8_0', '--tensor-type', 'ATTN_V=f16', '--output-tensor-type', 'q4_0', '--override-kv', 'general.name=str:cli', '--override-kv', 'x.n=int:-3', '--pure', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const h = await readGgufHeader(out);
    const type = (n: string) => h.tensors.find((t) => t.name === n)!.type;
    assert.equal(type('blk.0.attn_v.weight'), GgmlType.F16);
    assert.equal(type('output.weight'), GgmlType.Q4_0);
    assert.equal(type('blk.0.attn_q.weight'), GgmlType.Q8_0);
    assert.equal(h.kv.find((k) => k.key === 'general.name')!.value, 'cli');
    assert.equal(h.kv.find((k) => k.key === 'x.n')!.value, 3);
    const out2 = join(dir, 'leave.gguf');
    assert.equal((await cli([input, out2, '7', '--leave-output-tensor'])).status, 0);
    assert.equal((await readGgufHeader(out2)).tensors.find((t) => t.name === 'output.weight')!.type, GgmlType.F32);
  });

  test('refuses an existing output unless --force, and never its input', async () => {
    const out = join(dir, 'exists.gguf');
    writeFileSync(out, 'keep me');
    const r = await cli([input, out, 'Q8_0']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^quantfit: error: .*output file exists \(use --force/m);
    assert.equal(readFileSync(out, 'utf8'), 'keep me');
    assert.equal((await cli([input, out, 'Q8_0', '--force'])).status, 0);
    assert.notEqual(readFileSync(out, 'utf8'), 'keep me');
    const before = readFileSync(input);
    const same = await cli([input, join(dir, '..', dir.split('/').pop()!, 'in.gguf'), 'Q8_0', '--force']);
    assert.equal(same.status, 1);
    assert.match(same.stderr, /input and output are the same file/);
    assert.deepEqual(readFileSync(input), before);
  });

  test('usage errors exit 2; quantization errors exit 1 with one line', async () => {
    const out = join(dir, 'never.gguf');
    for (const args of [[input, out, 'Q9_K'], [input, out], [input, out, 'Q8_0', '--tensor-type', 'attn'], [input, out, 'Q8_0', '--output-tensor-type', 'q9'], [input, out, 'Q8_0', '--override-kv', 'a=int'], [input, out, 'Q8_0', '--threads', '0']]) {
      const r = await cli(args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /^quantfit: error: /);
    }
    const missing = await cli([join(dir, 'missing.gguf'), out, 'Q8_0']);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /^quantfit: error: .*missing\.gguf/m);
    // A quantized input needs --allow-requantize.
    const q8 = join(dir, 'q8.gguf');
    assert.equal((await cli([input, q8, 'Q8_0'])).status, 0);
    const r = await cli([q8, out, 'Q4_K_M']);
    assert.equal(r.status, 1);
    assert.equal(r.stderr.trim().split('\n').filter((l) => l.startsWith('quantfit: error:')).length, 1);
    assert.match(r.stderr, /allow-requantize/);
    assert.equal(existsSync(out), false);
    assert.equal((await cli([q8, out, 'Q4_K_M', '--allow-requantize'])).status, 0);
  });

  test('a missing output folder is made (as fit --out does), and removed again when quantizing fails', async () => {
    const out = join(dir, 'made', 'deeper', 'q.gguf');
    const r = await cli([input, out, 'Q8_0']);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(existsSync(out));
    assert.match(r.stderr, /made the output folder .*made[\\/]deeper/);
    // A failed run (a quantized input without --allow-requantize) leaves no new folder behind.
    const failed = await cli([out, join(dir, 'gone', 'deeper', 'q4.gguf'), 'Q4_K_M']);
    assert.equal(failed.status, 1);
    assert.match(failed.stderr, /allow-requantize/);
    assert.match(failed.stderr, /made the output folder .*gone[\\/]deeper/, 'the folder was made before the quantizer refused');
    assert.equal(existsSync(join(dir, 'gone')), false);
    // A file where a folder should be: one clear line, nothing made.
    writeFileSync(join(dir, 'plain'), 'x');
    const blocked = await cli([input, join(dir, 'plain', 'sub', 'q.gguf'), 'Q8_0']);
    assert.equal(blocked.status, 1);
    assert.match(blocked.stderr, /^quantfit: error: .*plain[\\/]sub: cannot make the output folder: /m);
  });
});

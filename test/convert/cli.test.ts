// `quantfit inspect|recommend|quantize DIR` on a Hugging Face folder, through the real command line:
// inspect shows the GGUF the conversion writes; recommend's file sizes are the exact sizes quantize
// then writes; quantize writes what the core's one-pass conversion writes; bad folders are one line.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, removeTempDir } from '../support/synthetic-gguf.ts';
import { writeQwenFolder } from '../support/hf-folders.ts';
import { runQuantfit } from '../support/cli.ts';
import { readGgufHeader } from '../../src-main/core/gguf/reader.ts';
import { planConversion } from '../../src-main/core/convert/plan.ts';

let dir = '';
let model = '';
before(async () => {
  dir = await makeTempDir('convert-cli');
  model = await writeQwenFolder(join(dir, 'Qwen2.5-0.5B-Instruct'), { qwen: 'Qwen2ForCausalLM', dtype: 'BF16', tied: true });
});
after(async () => { await removeTempDir(dir); });

test('inspect DIR --json shows the header the conversion writes', async () => {
  const r = await runQuantfit(['inspect', model, '--json']);
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { fileSize: number; kv: Record<string, unknown>; tensors: Array<{ name: string; type: string }> };
  const conv = await planConversion(model);
  await conv.source.close();
  assert.equal(j.fileSize, conv.header.fileSize);
  assert.equal(j.kv['general.architecture'], 'qwen2');
  assert.equal(j.kv['general.file_type'], 32);
  assert.deepEqual(j.tensors.map((t) => t.name), conv.header.tensors.map((t) => t.name));
  assert.equal(j.tensors.find((t) => t.name === 'blk.0.attn_q.weight')?.type, 'BF16');
});

test('recommend DIR gives the exact sizes quantize DIR then writes; F16 equals the converter path', async () => {
  const r = await runQuantfit(['recommend', model, '--json']);
  assert.equal(r.status, 0, r.stderr);
  const options = (JSON.parse(r.stdout) as { options: Array<{ type: string; fileBytes: number }> }).options;
  for (const type of ['Q8_0', 'Q4_K_M', 'F16']) {
    const out = join(dir, `${type}.gguf`);
    const q = await runQuantfit(['quantize', model, out, type, '--json', '--threads', '2']);
    assert.equal(q.status, 0, q.stderr);
    const summary = JSON.parse(q.stdout) as { bytes: number; tensorTypes: Record<string, number> };
    assert.equal(summary.bytes, options.find((o) => o.type === type)?.fileBytes, `${type}: predicted size`);
    assert.equal(summary.bytes, (await readFile(out)).length);
    const h = await readGgufHeader(out);
    assert.equal(h.kv.find((k) => k.key === 'general.architecture')?.value, 'qwen2');
  }
});

test('quantize DIR with a bad folder: one line, exit 1, nothing written', async () => {
  await rm(join(model, 'tokenizer.model'));
  const out = join(dir, 'bad');
  const r = await runQuantfit(['quantize', model, join(dir, 'bad.gguf'), 'Q8_0']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^quantfit: error: .*no tokenizer in the folder/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.ok(!(await readdir(dir)).some((f) => f.startsWith('bad') || f.includes('.partial')), out);
});

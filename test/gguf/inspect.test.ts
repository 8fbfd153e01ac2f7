// `quantfit inspect`: JSON and table views, through the real CLI and in-process.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readGgufHeader } from '../../src-main/core/gguf/reader.ts';
import { GgufValueType as T } from '../../src-main/core/gguf/types.ts';
import { kv } from '../../src-main/core/gguf/metadata.ts';
import { toJson, toTable } from '../../src-main/cli/commands/inspect.ts';
import { makeTempDir, removeTempDir, tinyLlama, writeSyntheticGguf } from '../support/synthetic-gguf.ts';
import { runQuantfit } from '../support/cli.ts';

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const STORIES = resolve(root, '../shared/fixtures/stories260K.gguf');
const storiesSkip = existsSync(STORIES) ? false : `fixture ${STORIES} is absent`;
if (storiesSkip) console.log(`# skipping stories260K inspect: ${storiesSkip}`);


test('inspect --json on stories260K lists 48 tensors and 19 keys, architecture llama', { skip: storiesSkip }, async () => {
  const [short, full] = await Promise.all([
    runQuantfit(['inspect', '../shared/fixtures/stories260K.gguf', '--json']),
    runQuantfit(['inspect', STORIES, '--json', '--full']),
  ]);
  assert.equal(short.status, 0, short.stderr);
  const j = JSON.parse(short.stdout);
  assert.equal(j.version, 3);
  assert.equal(j.alignment, 32);
  assert.equal(Object.keys(j.kv).length, 19);
  assert.equal(j.kv['general.architecture'], 'llama');
  assert.equal(j.kv['llama.block_count'], 5);
  assert.equal(j.kv['llama.attention.layer_norm_rms_epsilon'], 0.00001);
  assert.equal(j.tensors.length, 48);
  assert.deepEqual(j.tensors[0], { name: 'token_embd.weight', type: 'F32', shape: [64, 512], offset: 0, bytes: 131072 });
  const tokens = j.kv['tokenizer.ggml.tokens'];
  assert.equal(tokens.abbreviated, true);
  assert.equal(tokens.length, 512);
  assert.equal(tokens.items.length, 64);
  assert.deepEqual(tokens.items.slice(0, 3), ['<unk>', '<s>', '</s>']);

  assert.equal(full.status, 0, full.stderr);
  const f = JSON.parse(full.stdout);
  assert.equal(f.kv['tokenizer.ggml.tokens'].length, 512);
  assert.ok(Array.isArray(f.kv['tokenizer.ggml.tokens']));
  assert.equal(f.file, STORIES);
});

test('inspect prints a table with keys and tensors; usage errors exit 2', async () => {
  const dir = await makeTempDir('gguf-inspect');
  try {
    const path = join(dir, 'tiny.gguf');
    await writeSyntheticGguf(path, tinyLlama({ nLayer: 1, type: 'F16' }));
    const [table, noFile, twoFiles] = await Promise.all([
      runQuantfit(['inspect', path]),
      runQuantfit(['inspect']),
      runQuantfit(['inspect', path, path]),
    ]);
    assert.equal(table.status, 0, table.stderr);
    assert.match(table.stdout, /GGUF v3, alignment 32, 20 keys, 12 tensors/);
    assert.match(table.stdout, /general\.architecture\s+string\s+"llama"/);
    assert.match(table.stdout, /tokenizer\.ggml\.tokens\s+string\[64\]\s+\["<unk>", "<s>", "<\/s>", .*… 56 more\]/);
    assert.match(table.stdout, /token_embd\.weight\s+F16\s+\[64, 64\]\s+8192/);
    assert.match(table.stdout, /output_norm\.weight\s+F32\s+\[64\]\s+256/);
    for (const r of [noFile, twoFiles]) {
      assert.equal(r.status, 2);
      assert.match(r.stderr, /^quantfit: error: wrong number of arguments; usage: quantfit inspect <file\.gguf>/);
    }
  } finally {
    await removeTempDir(dir);
  }
});

test('JSON values: 64-bit integers as numbers when safe, else strings; floats shortest; arrays abbreviated past 64', async () => {
  const dir = await makeTempDir('gguf-inspect');
  try {
    const path = join(dir, 'values.gguf');
    const many = Array.from({ length: 65 }, (_, i) => i);
    await writeSyntheticGguf(path, {
      tensors: [{ name: 'w', shape: [2] }],
      kv: [
        kv.u64('u64.small', 42n), kv.u64('u64.max', (1n << 64n) - 1n), kv.i64('i64.min', -(1n << 63n)),
        kv.f32('f32', 0.1), kv.f32('nan', NaN), kv.f64('f64', 0.1), kv.bool('b', true),
        kv.array('a64', T.INT32, many.slice(0, 64)), kv.array('a65', T.INT32, many),
        kv.array('nested', T.ARRAY, [{ elementType: T.UINT64, items: [1n, 1n << 60n] }]),
      ],
    });
    const h = await readGgufHeader(path);
    const j = toJson(h, false);
    assert.equal(j.kv['u64.small'], 42);
    assert.equal(j.kv['u64.max'], '18446744073709551615');
    assert.equal(j.kv['i64.min'], '-9223372036854775808');
    assert.equal(j.kv.f32, 0.1);
    assert.equal(j.kv.nan, 'NaN');
    assert.equal(j.kv.f64, 0.1);
    assert.equal(j.kv.b, true);
    assert.deepEqual(j.kv.a64, many.slice(0, 64));
    assert.deepEqual(j.kv.a65, { abbreviated: true, length: 65, items: many.slice(0, 64) });
    assert.deepEqual(j.kv.nested, [[1, '1152921504606846976']]);
    assert.deepEqual(toJson(h, true).kv.a65, many);
    assert.deepEqual(j.tensors, [{ name: 'w', type: 'F32', shape: [2], offset: 0, bytes: 8 }]);
    // The JSON text round-trips through JSON.parse (no bigint left in it).
    assert.deepEqual(JSON.parse(JSON.stringify(j)).kv['u64.max'], '18446744073709551615');

    const text = toTable(h, false);
    assert.match(text, /a65\s+i32\[65\]\s+\[0, 1, 2, 3, 4, 5, 6, 7, … 57 more\]/);
    assert.match(text, /nested\s+u64\[2\]\[1\]\s+\[\[1, 1152921504606846976\]\]/);
    assert.match(toTable(h, true), /a65\s+i32\[65\]\s+\[0, 1, .*, 64\]/);
  } finally {
    await removeTempDir(dir);
  }
});

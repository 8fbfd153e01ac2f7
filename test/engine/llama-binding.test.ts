// The koffi bindings of llama.cpp are written for one build (node-llama-cpp 3.22.1, llama.cpp
// v0.5.0). These tests fail loudly when the installed build is another one or its structs moved.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatMessage } from '../../src-shared/messages/index.ts';
import { assertPinnedLayout, findLlamaLibraries, findPrebuiltLlama, LLAMA_LIB_DIR_ENV, LlamaContext, LlamaModel, llamaUnavailableReason, loadLlama, PINNED_LLAMA_RELEASE } from '../../src-main/core/engine/llama.ts';
import { repoRoot } from '../support/cli.ts';
import { engineSkip, STORIES } from './support.ts';

const onLinuxX64 = process.platform === 'linux' && process.arch === 'x64';

test('node-llama-cpp is pinned to the version the bindings were written for', () => {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  assert.equal(pkg.dependencies['node-llama-cpp'], '3.22.1', 'update src-main/core/engine/llama.ts (struct layouts) together with node-llama-cpp');
  const info = JSON.parse(readFileSync(join(repoRoot, 'node_modules/node-llama-cpp/llama/llama.cpp.info.json'), 'utf8')) as { tag: string };
  assert.equal(info.tag, PINNED_LLAMA_RELEASE);
});

test('the prebuilt llama.cpp loads on linux-x64 and matches the pinned struct layouts', { skip: onLinuxX64 ? false : `prebuilt checked on linux-x64 only (this is ${process.platform}-${process.arch})` }, () => {
  assert.equal(llamaUnavailableReason(), undefined);
  const found = findPrebuiltLlama();
  assert.ok(!('unavailable' in found));
  assert.equal(found.release, PINNED_LLAMA_RELEASE);
  const b = loadLlama();
  assertPinnedLayout(b);
  assert.ok(b.ops.get('MUL_MAT')! > 0 && b.ops.get('MUL_MAT_ID') === b.ops.get('MUL_MAT')! + 1);
});

test(`${LLAMA_LIB_DIR_ENV} chooses the llama.cpp to load; unset, it is node-llama-cpp's prebuilt one`, () => {
  assert.deepEqual(findLlamaLibraries({}), findPrebuiltLlama());
  const none = findLlamaLibraries({ [LLAMA_LIB_DIR_ENV]: '/nonexistent/llama' });
  assert.ok('unavailable' in none);
  assert.equal(formatMessage(none.unavailable, 'en'), `${LLAMA_LIB_DIR_ENV}=/nonexistent/llama holds no llama library`);
  assert.equal(formatMessage(none.unavailable, 'zh-CN'), `${LLAMA_LIB_DIR_ENV}=/nonexistent/llama 中没有 llama 库`);
  const prebuilt = findPrebuiltLlama();
  if (!('unavailable' in prebuilt)) assert.deepEqual(findLlamaLibraries({ [LLAMA_LIB_DIR_ENV]: prebuilt.libDir }), { libDir: prebuilt.libDir, release: 'unknown' });
});

test('a model loads, tokenizes with BOS first, and a cancelled decode stops', { skip: engineSkip() }, async () => {
  const model = await LlamaModel.load(STORIES);
  try {
    assert.equal(model.nVocab, 512);
    assert.equal(model.addBos, true);
    const tokens = model.tokenize('Once upon a time, there was a little girl.');
    assert.equal(tokens[0], model.bos);
    assert.ok(tokens.length > 5);
    const ctx = LlamaContext.create(model, { nCtx: 64, threads: 1 });
    try {
      const n = tokens.length;
      const batch = { tokens, pos: Int32Array.from({ length: n }, (_, i) => i), seq: new Int32Array(n), output: new Int8Array(n).fill(1) };
      assert.equal(await ctx.decode(batch), n);
      const logits = ctx.logits(n);
      assert.equal(logits.length, n * model.nVocab);
      assert.ok(logits.every(Number.isFinite));
      const aborted = new AbortController();
      aborted.abort();
      ctx.clear();
      await assert.rejects(ctx.decode(batch, aborted.signal), { name: 'CancelledError' });
    } finally {
      ctx.free();
    }
  } finally {
    model.free();
  }
});

test('a file llama.cpp cannot load is a one-line QuantfitError naming it', { skip: engineSkip() }, async () => {
  const path = join(repoRoot, 'package.json');
  await assert.rejects(LlamaModel.load(path), (err: Error) => err.name === 'QuantfitError' && /could not load/.test(err.message));
});

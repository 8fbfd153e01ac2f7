// modelscope: references against the ModelScope test server: its cache layout ({cache}/models/
// OWNER/NAME with '.' → '___', the pickled `.msc` index), resume after a dropped connection, sha256
// checks, reuse of what the modelscope package cached, and its refusals.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startFakeModelScope, type FakeModelScope } from '../support/fake-modelscope.ts';
import { makeTempDir, removeTempDir } from '../support/synthetic-gguf.ts';
import { resolveModelReference } from '../../src-main/core/sources/resolve.ts';
import { pickle, unpickle } from '../../src-main/core/sources/pickle.ts';
import { runQuantfit } from '../support/cli.ts';

let ms: FakeModelScope;
const gguf = randomBytes(200_000);
let commits: Record<string, string>;
before(async () => {
  ms = await startFakeModelScope();
  commits = ms.addRepo('qwen/Qwen2-0.5B-Instruct-GGUF', {
    files: [
      { path: 'qwen2-0_5b-instruct-fp16.gguf', data: gguf },
      { path: 'qwen2-0_5b-instruct-q4_k_m.gguf', data: randomBytes(5000) },
      { path: 'configuration.json', data: Buffer.from('{}') },
    ],
  });
  ms.addRepo('org/private', { files: [{ path: 'm-f16.gguf', data: randomBytes(3000) }], private: true, allowedTokens: ['ms-token'] });
});
after(async () => {
  await ms.stop();
});

const settings = (cache: string, extra: Record<string, unknown> = {}) => ({ modelscopeEndpoint: ms.url, modelscopeCache: cache, modelscopeToken: null, ...extra });

test('a GGUF from ModelScope lands in its cache with the .msc index, resumes after a drop, and is reused', async () => {
  const cache = await makeTempDir('ms-cache');
  try {
    ms.requests.length = 0;
    ms.faults.dropAfterBytes = 70_000;
    const m = await resolveModelReference('modelscope:qwen/Qwen2-0.5B-Instruct-GGUF', { hub: settings(cache) });
    const folder = join(cache, 'models', 'qwen', 'Qwen2-0___5B-Instruct-GGUF');
    assert.equal(m.path, join(folder, 'qwen2-0_5b-instruct-fp16.gguf'));
    assert.ok((await readFile(m.path)).equals(gguf));
    assert.deepEqual(unpickle(await readFile(join(folder, '.msc'))), [{ Path: 'qwen2-0_5b-instruct-fp16.gguf', Revision: commits.master }]);
    assert.deepEqual(await readdir(join(cache, '._____temp', 'qwen', 'Qwen2-0.5B-Instruct-GGUF')), [], 'no partial file left');
    const gets = ms.fileGets();
    assert.equal(gets.length, 2);
    assert.match(gets[1]!.range ?? '', /^bytes=\d+-$/);
    ms.requests.length = 0;
    await resolveModelReference('modelscope:qwen/Qwen2-0.5B-Instruct-GGUF', { hub: settings(cache) });
    assert.equal(ms.fileGets().length, 0, 'the second run downloads nothing');
  } finally {
    await removeTempDir(cache);
  }
});

test('a file the modelscope package cached (its .msc at the same commit, sha256 matching) is reused', async () => {
  const cache = await makeTempDir('ms-cache-py');
  try {
    const folder = join(cache, 'models', 'qwen', 'Qwen2-0___5B-Instruct-GGUF');
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, 'qwen2-0_5b-instruct-fp16.gguf'), gguf);
    await writeFile(join(folder, '.msc'), pickle([{ Path: 'qwen2-0_5b-instruct-fp16.gguf', Revision: commits.master! }]));
    ms.requests.length = 0;
    const m = await resolveModelReference('https://modelscope.cn/models/qwen/Qwen2-0.5B-Instruct-GGUF/files', { hub: settings(cache) });
    assert.equal(m.path, join(folder, 'qwen2-0_5b-instruct-fp16.gguf'));
    assert.equal(ms.fileGets().length, 0);
    // A corrupted copy is not trusted: fetched again and verified.
    await writeFile(join(folder, 'qwen2-0_5b-instruct-fp16.gguf'), randomBytes(gguf.length));
    await resolveModelReference('modelscope:qwen/Qwen2-0.5B-Instruct-GGUF', { hub: settings(cache) });
    assert.equal(ms.fileGets().length, 1);
    assert.equal(createHash('sha256').update(await readFile(m.path)).digest('hex'), createHash('sha256').update(gguf).digest('hex'));
  } finally {
    await removeTempDir(cache);
  }
});

test('refusals: unknown model or revision, a private model without a token, a wrong checksum', async () => {
  const cache = await makeTempDir('ms-cache-bad');
  try {
    const code = (c: string) => (e: Error & { code?: string }) => (assert.equal(e.code, c, e.message), true);
    await assert.rejects(resolveModelReference('modelscope:org/missing', { hub: settings(cache) }), code('sources.modelscope.noRepo'));
    await assert.rejects(resolveModelReference('modelscope:qwen/Qwen2-0.5B-Instruct-GGUF@v9', { hub: settings(cache) }), code('sources.modelscope.noRevision'));
    await assert.rejects(resolveModelReference('modelscope:org/private', { hub: settings(cache) }), code('sources.modelscope.needsToken'));
    const ok = await resolveModelReference('modelscope:org/private', { hub: settings(cache, { modelscopeToken: 'ms-token' }) });
    assert.ok(existsSync(ok.path));
    ms.faults.corruptNext = true;
    await assert.rejects(resolveModelReference('modelscope:qwen/Qwen2-0.5B-Instruct-GGUF', { hub: settings(cache) }), code('sources.download.checksum'));
    assert.ok(!existsSync(join(cache, 'models', 'qwen', 'Qwen2-0___5B-Instruct-GGUF', 'qwen2-0_5b-instruct-fp16.gguf')));
  } finally {
    await removeTempDir(cache);
  }
});

test('quantfit inspect modelscope:… follows MODELSCOPE_ENDPOINT and MODELSCOPE_CACHE; a missing model is one line', async () => {
  const cache = await makeTempDir('ms-cache-cli');
  try {
    const env = { MODELSCOPE_ENDPOINT: ms.url, MODELSCOPE_CACHE: cache };
    // The stand-in's repo holds random bytes: the download lands in ModelScope's cache, and the reader refuses it.
    const run = await runQuantfit(['inspect', 'modelscope:qwen/Qwen2-0.5B-Instruct-GGUF', '--json'], env);
    assert.equal(run.status, 1);
    assert.ok(existsSync(join(cache, 'models', 'qwen', 'Qwen2-0___5B-Instruct-GGUF', 'qwen2-0_5b-instruct-fp16.gguf')), 'downloaded into ModelScope\'s cache');
    const missing = await runQuantfit(['inspect', 'modelscope:org/missing'], env);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /^quantfit: error: org\/missing: no such model on http:\/\/127\.0\.0\.1:\d+\.\n$/);
  } finally {
    await removeTempDir(cache);
  }
});

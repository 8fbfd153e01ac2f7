// The fit starts anywhere: `quantfit fit hf:ORG/REPO` downloads into the hub cache, quantizes,
// registers and verifies, all in one NDJSON stream that starts with the 'source' stage; the re-run
// finds the download in the cache. Outputs never go into the cache.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startFakeHfHub, type FakeHfHub } from '../support/fake-hf-hub.ts';
import { startFakeOllama, type FakeOllama } from '../support/fake-ollama.ts';
import { makeTempDir, removeTempDir } from '../support/synthetic-gguf.ts';
import { writeTinyLlama } from '../jobs/support.ts';
import { runQuantfit } from '../support/cli.ts';

let hub: FakeHfHub;
let fake: FakeOllama;
let dir: string;
before(async () => {
  hub = await startFakeHfHub();
  fake = await startFakeOllama();
  dir = await makeTempDir('fit-from-hub');
  const gguf = await readFile(await writeTinyLlama(dir, 'tiny-f16', { type: 'F16', seed: 11 }));
  hub.addRepo('org/Tiny-Chat-GGUF', { files: [{ path: 'tiny-chat-f16.gguf', data: gguf }, { path: 'README.md', data: Buffer.from('x') }] });
});
after(async () => {
  await hub.stop();
  await fake.stop();
  await removeTempDir(dir);
});

test('quantfit fit hf:ORG/REPO: download, quantize, register, verify in one stream; the re-run uses the cache', async () => {
  const cache = join(dir, 'cache');
  const out = join(dir, 'out');
  const env = { HF_ENDPOINT: hub.url, HF_HUB_CACHE: cache, HF_TOKEN: '' };
  const { mkdir } = await import('node:fs/promises');
  await mkdir(out);
  const run = await runQuantfit(['fit', 'hf:org/Tiny-Chat-GGUF', '--type', 'Q8_0', '--host', fake.url, '--out', out, '--json'], env);
  assert.equal(run.status, 0, run.stderr);
  const lines = run.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const final = lines.at(-1)!;
  const stages = lines.slice(0, -1).filter((e) => e.type === 'stage').map((e) => `${e.stage as string}:${e.status as string}`);
  assert.deepEqual(stages.slice(0, 3), ['source:start', 'source:done', 'inspect:start']);
  assert.ok(lines.some((e) => e.type === 'progress' && e.stage === 'source'), 'download progress in the same stream');
  assert.equal(final.model, 'tiny-chat-f16:q8_0');
  assert.equal(final.file, join(out, 'tiny-chat-f16.Q8_0.gguf'));
  assert.deepEqual((await readdir(join(cache, 'models--org--Tiny-Chat-GGUF', 'blobs'))).length, 1, 'nothing but the blob in the cache');

  hub.requests.length = 0;
  const again = await runQuantfit(['fit', 'hf:org/Tiny-Chat-GGUF', '--type', 'Q8_0', '--host', fake.url, '--out', out, '--force', '--json'], env);
  assert.equal(again.status, 0, again.stderr);
  assert.equal(hub.fileGets().length, 0, 'the re-run downloads nothing');
});

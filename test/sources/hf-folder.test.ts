// A safetensors repo from the hub test server is a Hugging Face model folder (conv's converter reads
// it): `quantfit quantize hf:ORG/REPO out.gguf Q4_K_M` writes what quantizing the same folder locally
// writes, after a dropped connection resumes with Range; a second run downloads nothing.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startFakeHfHub, type FakeHfHub } from '../support/fake-hf-hub.ts';
import { makeTempDir, removeTempDir } from '../support/synthetic-gguf.ts';
import { writeLlamaFolder } from '../support/hf-folders.ts';
import { runQuantfit } from '../support/cli.ts';

let hub: FakeHfHub;
let dir: string;
let folder: string;
before(async () => {
  hub = await startFakeHfHub();
  dir = await makeTempDir('hf-folder');
  folder = await writeLlamaFolder(join(dir, 'Tiny-Llama'));
  const files = [];
  for (const name of await readdir(folder)) files.push({ path: name, data: await readFile(join(folder, name)) });
  files.push({ path: 'README.md', data: Buffer.from('# tiny llama\n') });
  hub.addRepo('org/Tiny-Llama', { files });
});
after(async () => {
  await hub.stop();
  await removeTempDir(dir);
});

test('quantfit quantize hf:ORG/REPO (safetensors) out.gguf Q4_K_M: the local folder\'s bytes, resumed after a drop, then nothing downloaded', async () => {
  const cache = join(dir, 'cache');
  const env = { HF_ENDPOINT: hub.url, HF_HUB_CACHE: cache, HF_TOKEN: '' };
  const local = await runQuantfit(['quantize', folder, join(dir, 'local.gguf'), 'Q4_K_M', '--json'], env);
  assert.equal(local.status, 0, local.stderr);
  hub.requests.length = 0;
  hub.faults.dropAfterBytes = 20_000;
  const first = await runQuantfit(['quantize', 'hf:org/Tiny-Llama', join(dir, 'hub.gguf'), 'Q4_K_M', '--json'], env);
  assert.equal(first.status, 0, first.stderr);
  const sha = (r: { stdout: string }) => (JSON.parse(r.stdout) as { sha256: string }).sha256;
  assert.equal(sha(first), sha(local));
  assert.ok(hub.fileGets().some((g) => /^bytes=\d+-$/.test(g.range ?? '')), 'resumed with a Range request');
  assert.ok(!hub.fileGets().some((g) => g.path.endsWith('README.md')), 'only the model folder\'s files');
  hub.requests.length = 0;
  const second = await runQuantfit(['quantize', 'hf:org/Tiny-Llama', join(dir, 'again.gguf'), 'Q4_K_M', '--json'], env);
  assert.equal(second.status, 0, second.stderr);
  assert.equal(hub.fileGets().length, 0);
  assert.equal(sha(second), sha(local));
});

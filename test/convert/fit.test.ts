// `quantfit fit DIR` on a Hugging Face folder against the stand-in Ollama: one command converts and
// quantizes in one pass, registers and verifies; the registered file is the one-pass output, byte for
// byte; F16 is what the converter writes; the folder is left as it was.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startFakeOllama, type FakeOllama } from '../support/fake-ollama.ts';
import { makeTempDir, removeTempDir } from '../support/synthetic-gguf.ts';
import { writeQwenFolder } from '../support/hf-folders.ts';
import { repoRoot } from '../support/cli.ts';
import { convertFolder, quantizeFolder } from '../../src-main/core/convert/write.ts';

let fake: FakeOllama;
let dir = '';
let model = '';
before(async () => {
  fake = await startFakeOllama();
  dir = await makeTempDir('convert-fit');
  model = await writeQwenFolder(join(dir, 'Qwen2.5-0.5B-Instruct'), { qwen: 'Qwen2ForCausalLM', dtype: 'BF16', tied: true });
});
after(async () => {
  await fake.stop();
  await removeTempDir(dir);
});

function fit(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ['bin/quantfit.mjs', 'fit', ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (status) => done({ status, stdout, stderr }));
  });
}

const sha = async (path: string) => createHash('sha256').update(await readFile(path)).digest('hex');

async function folderDigest(): Promise<string[]> {
  const names = (await readdir(model)).sort();
  return Promise.all(names.map(async (n) => `${n} ${await sha(join(model, n))}`));
}

for (const [type, name] of [['Q4_K_M', 'qwen-tiny:q4'], ['F16', 'qwen-tiny:f16'], ['auto', 'qwen-tiny:auto']] as const) {
  test(`quantfit fit DIR --type ${type} registers a working model; the file is the ${type === 'F16' ? 'converter' : type === 'auto' ? 'advised type\'s one-pass' : 'one-pass'} output`, async () => {
    const out = await makeTempDir(`convert-fit-${type}`);
    try {
      const before = await folderDigest();
      fake.requests.length = 0;
      const r = await fit([model, '--type', type, '--name', name, '--host', fake.url, '--out', out, '--json', '--threads', '2']);
      assert.equal(r.status, 0, r.stderr);
      const lines = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      const final = lines.at(-1)!;
      // auto: the advisor's pick for this machine, named in the file.
      const chosen = type === 'auto' ? /\.([A-Z0-9_]+)\.gguf$/.exec(String(final.file))![1]! : type;
      const file = join(out, `Qwen2.5-0.5B-Instruct.${chosen}.gguf`);
      assert.equal(final.model, name);
      assert.equal(final.file, file);
      assert.equal(final.sha256, await sha(file));
      const stages = lines.slice(0, -1).filter((e) => e.type === 'stage').map((e) => `${e.stage as string}:${e.status as string}`);
      for (const s of ['inspect:done', 'quantize:start', 'quantize:done', 'upload:done', 'create:done', 'verify:done']) assert.ok(stages.includes(s), `${s} in ${stages.join(' ')}`);
      assert.ok(lines.some((e) => e.type === 'progress' && e.stage === 'quantize'), 'progress for the conversion pass');
      assert.notEqual(await fake.manifest(name), null);
      const expected = join(dir, `expected-${type}.gguf`);
      if (chosen === 'F16' || chosen === 'BF16') await convertFolder(model, expected, { outtype: chosen === 'F16' ? 'f16' : 'bf16' });
      else await quantizeFolder(model, expected, { ftype: chosen }, { threads: 2 });
      assert.equal(await sha(expected), final.sha256);
      assert.deepEqual(await folderDigest(), before, 'the folder is unchanged');
    } finally {
      await removeTempDir(out);
    }
  });
}

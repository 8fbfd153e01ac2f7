// `quantfit import`, `models` and `rm` as a user runs them, against the stand-in server.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { startFakeOllama, type FakeOllama } from '../support/fake-ollama.ts';
import { parseModelfile } from '../support/go-template.ts';
import { makeTempDir, removeTempDir, tinyLlama, writeSyntheticGguf } from '../support/synthetic-gguf.ts';
import { runQuantfit } from '../support/cli.ts';

const FIXTURE = resolve('..', 'shared', 'fixtures', 'stories260K.gguf');
const fixtureReason = existsSync(FIXTURE) ? undefined : `${FIXTURE} is absent`;
if (fixtureReason) console.log(`# skipping stories260K import: ${fixtureReason}`);

let fake: FakeOllama;
let dir: string;
before(async () => {
  fake = await startFakeOllama();
  dir = await makeTempDir('ollama-cli');
});
after(async () => {
  await fake.stop();
  await removeTempDir(dir);
});


test('quantfit import ../shared/fixtures/stories260K.gguf --name stories:f32 --json, then models and rm', { skip: fixtureReason }, async () => {
  const modelfile = join(dir, 'stories.Modelfile');
  const r = await runQuantfit(['import', '../shared/fixtures/stories260K.gguf', '--name', 'stories:f32', '--host', fake.url, '--modelfile', modelfile, '--ctx', '256', '--predicted-bytes', '2000000', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const final = lines.at(-1)!;
  const events = lines.slice(0, -1);
  assert.ok(events.every((e) => e.type === 'stage' || e.type === 'progress' || e.type === 'log'));
  assert.ok(events.some((e) => e.type === 'progress' && e.stage === 'upload'));
  assert.equal(final.model, 'stories:f32');
  assert.equal(final.file, FIXTURE);
  assert.equal(final.sha256, createHash('sha256').update(await readFile(FIXTURE)).digest('hex'));
  const verify = final.verify as Record<string, number>;
  for (const k of ['tokensPerSecond', 'loadMs', 'sizeBytes', 'sizeVramBytes']) assert.equal(typeof verify[k], 'number', k);
  assert.equal(verify.predictedBytes, 2_000_000);
  // stories260K has no chat template: registered as a completion model, with the warning.
  assert.match(JSON.stringify(final.warnings), /no tokenizer\.chat_template/);
  const template = final.template as { kind: string; reason: string; reasonMessage: { code: string } };
  assert.deepEqual([template.kind, template.reasonMessage.code], ['none', 'ollama.template.noChatTemplate']);
  assert.match(template.reason, /no tokenizer\.chat_template/);

  const mf = parseModelfile(await readFile(modelfile, 'utf8'));
  assert.deepEqual(mf.from, [FIXTURE]);
  // No template of ours, so no stop list either (it would override one Ollama picks itself).
  assert.deepEqual(mf.parameters, [['num_ctx', '256']]);
  assert.deepEqual((await readdir(resolve('..', 'shared', 'fixtures'))).filter((f) => f.includes('Modelfile')), []);

  const again = await runQuantfit(['import', '../shared/fixtures/stories260K.gguf', '--name', 'Stories:F32', '--host', fake.url, '--modelfile', modelfile]);
  assert.equal(again.status, 1);
  assert.match(again.stderr, /^quantfit: error: Ollama already has a model named 'stories:f32' .*--force/m);

  const models = await runQuantfit(['models', '--host', fake.url]);
  assert.equal(models.status, 0, models.stderr);
  assert.match(models.stdout, /^NAME\s+SIZE\s+FAMILY\s+PARAMS\s+QUANT\s+MODIFIED\s+LOADED$/m);
  assert.match(models.stdout, /^stories:f32\s+1\.1 MB\s+llama\s+\S+\s+unknown\s+\S+ \S+\s+100% GPU$/m);
  const json = JSON.parse((await runQuantfit(['models', '--host', fake.url, '--json'])).stdout) as { models: Array<{ name: string; family: string }>; running: Array<{ name: string }> };
  assert.deepEqual(json.models.map((m) => [m.name, m.family]), [['stories:f32', 'llama']]);
  assert.deepEqual(json.running.map((m) => m.name), ['stories:f32']);

  const rm = await runQuantfit(['rm', 'STORIES:f32', '--host', fake.url]);
  assert.deepEqual([rm.status, rm.stdout], [0, 'deleted stories:f32\n']);
  const rm2 = await runQuantfit(['rm', 'stories:f32', '--host', fake.url]);
  assert.equal(rm2.status, 1);
  assert.match(rm2.stderr, /no model named 'stories:f32'/);
});

test('quantfit import prints a human summary and writes the Modelfile next to the GGUF', async () => {
  const path = join(dir, 'tiny.gguf');
  await writeSyntheticGguf(path, tinyLlama({ seed: 5 }));
  const r = await runQuantfit(['import', path, '--name', 'tiny', '--host', fake.url, '--no-verify', '--system', 'Be brief.']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^tiny:latest: registered from .*tiny\.gguf$/m);
  assert.match(r.stdout, /^Modelfile .*tiny\.Modelfile$/m);
  assert.match(r.stderr, /^verify skipped: verification not requested$/m);
  assert.match(r.stderr, /^warning: the GGUF has no tokenizer\.chat_template/m);
  const mf = parseModelfile(await readFile(join(dir, 'tiny.Modelfile'), 'utf8'));
  assert.deepEqual([mf.from, mf.system], [['./tiny.gguf'], 'Be brief.']);
});

test('usage errors exit 2; an unreachable or refused host exits 1 with a clear message', async () => {
  const noName = await runQuantfit(['import', 'x.gguf']);
  assert.equal(noName.status, 2);
  assert.match(noName.stderr, /--name is required/);
  const badCtx = await runQuantfit(['import', 'x.gguf', '--name', 'x', '--ctx', 'lots']);
  assert.equal(badCtx.status, 2);

  const down = await startFakeOllama();
  const url = down.url;
  await down.stop();
  const path = join(dir, 'tiny.gguf');
  const r = await runQuantfit(['import', path, '--name', 'down', '--host', url]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, new RegExp(`quantfit: error: (Ollama is not running at ${url}|nothing answers at ${url})`));
  assert.equal(existsSync(join(dir, 'down.Modelfile')), false);

  const far = await runQuantfit(['models'], { OLLAMA_HOST: 'far-away.example' });
  assert.equal(far.status, 1);
  assert.match(far.stderr, /OLLAMA_HOST points at another machine .*--host/);
});

// `quantfit fit` as a user runs it, against the stand-in Ollama: the stories260K fixture and a
// synthetic tiny llama, --json NDJSON, --type auto, the human summary, usage and error exit codes,
// a full disk, and Ctrl-C.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { startFakeOllama, type FakeOllama } from '../support/fake-ollama.ts';
import { makeTempDir, removeTempDir } from '../support/synthetic-gguf.ts';
import { REAL_OLLAMA_SEQUENCE, listDir, partialBlobs, workRequests, writeTinyLlama } from './support.ts';

const FIXTURE = resolve('..', 'shared', 'fixtures', 'stories260K.gguf');
const fixtureReason = existsSync(FIXTURE) ? undefined : `${FIXTURE} is absent`;
if (fixtureReason) console.log(`# skipping quantfit fit on stories260K: ${fixtureReason}`);

let fake: FakeOllama;
let dir: string;
let tiny: string;
before(async () => {
  fake = await startFakeOllama();
  dir = await makeTempDir('fit-cli');
  tiny = await writeTinyLlama(dir, 'tiny', { seed: 21, nVocab: 256 });
});
after(async () => {
  await fake.stop();
  await removeTempDir(dir);
});

interface Run { status: number | null; stdout: string; stderr: string }

/** Runs the CLI in a child (the fake server lives in this process); `onStderr` may interrupt it. */
function quantfit(args: string[], onStderr?: (text: string, child: ReturnType<typeof spawn>) => void): Promise<Run> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ['bin/quantfit.mjs', 'fit', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
      onStderr?.(stderr, child);
    });
    child.on('close', (status) => done({ status, stdout, stderr }));
  });
}

const sha = async (path: string) => createHash('sha256').update(await readFile(path)).digest('hex');

/** Parses --json output: every line a JSON object, events first, the summary last. */
function ndjson(stdout: string): { events: Array<Record<string, unknown>>; final: Record<string, unknown> } {
  const lines = stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const final = lines.at(-1)!;
  const events = lines.slice(0, -1);
  for (const e of events) assert.ok(e.type === 'stage' || e.type === 'progress' || e.type === 'log', JSON.stringify(e));
  return { events, final };
}

async function checkRegistered(run: Run, name: string, file: string): Promise<void> {
  assert.equal(run.status, 0, run.stderr);
  const { events, final } = ndjson(run.stdout);
  assert.deepEqual(Object.keys(final).slice(0, 4), ['model', 'file', 'sha256', 'verify']);
  assert.equal(final.model, name);
  assert.equal(final.file, file);
  assert.equal(final.sha256, await sha(file));
  const verify = final.verify as Record<string, unknown>;
  for (const k of ['tokensPerSecond', 'loadMs', 'sizeBytes', 'sizeVramBytes']) assert.equal(typeof verify[k], 'number', k);
  const stages = events.filter((e) => e.type === 'stage').map((e) => `${e.stage as string}:${e.status as string}`);
  assert.deepEqual(stages, [
    'inspect:start', 'inspect:done', 'advise:skipped', 'quantize:start', 'quantize:done',
    'modelfile:start', 'modelfile:done', 'upload:start', 'upload:done', 'create:start', 'create:done', 'verify:start', 'verify:done',
  ]);
  // The test prompt ran against the new model.
  const gen = fake.requests.find((r) => r.path === '/api/generate');
  assert.equal((gen?.body as { model?: string } | undefined)?.model, name);
  assert.deepEqual(workRequests(fake.requests), REAL_OLLAMA_SEQUENCE);
  const create = fake.requests.find((r) => r.path === '/api/create')!.body as { files: Record<string, string> };
  assert.deepEqual(Object.values(create.files), [`sha256:${final.sha256 as string}`]);
  assert.notEqual(await fake.manifest(name), null);
}

test('quantfit fit ../shared/fixtures/stories260K.gguf --type Q8_0 --name stories:q8 --json', { skip: fixtureReason }, async () => {
  const out = await makeTempDir('fit-cli-stories');
  try {
    fake.requests.length = 0;
    const r = await quantfit(['../shared/fixtures/stories260K.gguf', '--type', 'Q8_0', '--name', 'stories:q8', '--host', fake.url, '--out', out, '--json']);
    await checkRegistered(r, 'stories:q8', join(out, 'stories260K.Q8_0.gguf'));
    assert.deepEqual(await listDir(out), ['stories260K.Q8_0.Modelfile', 'stories260K.Q8_0.gguf']);
  } finally {
    await removeTempDir(out);
  }
});

test('quantfit fit --out DIR makes the folder when it is missing', async () => {
  const out = await makeTempDir('fit-cli-out');
  try {
    const target = join(out, 'new', 'folder');
    const r = await quantfit([tiny, '--type', 'Q5_1', '--name', 'tiny:out', '--host', fake.url, '--out', target, '--json', '--no-verify']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(await listDir(target), ['tiny.Q5_1.Modelfile', 'tiny.Q5_1.gguf']);
  } finally {
    await removeTempDir(out);
  }
});

test('quantfit fit <synthetic tiny llama> --type Q8_0 --name tiny:q8 --json', async () => {
  const out = await makeTempDir('fit-cli-tiny');
  try {
    fake.requests.length = 0;
    const r = await quantfit([tiny, '--type', 'Q8_0', '--name', 'tiny:q8', '--host', fake.url, '--out', out, '--json', '--threads', '2', '--ctx', '128', '--system', 'Be brief.']);
    await checkRegistered(r, 'tiny:q8', join(out, 'tiny.Q8_0.gguf'));
    const create = fake.requests.find((q) => q.path === '/api/create')!.body as { system?: string; parameters?: { num_ctx?: number } };
    assert.deepEqual([create.system, create.parameters?.num_ctx], ['Be brief.', 128]);
    const { final } = ndjson(r.stdout);
    assert.equal(final.ctx, 128);
    assert.equal((final.verify as { predictedBytes: number }).predictedBytes, final.predictedBytes);
  } finally {
    await removeTempDir(out);
  }
});

test('the human summary: model, file, sha256, speed, load time, predicted vs measured memory, ollama run', async () => {
  const out = await makeTempDir('fit-cli-human');
  try {
    const r = await quantfit([tiny, '--type', 'q4_0', '--host', fake.url, '--out', out]);
    assert.equal(r.status, 0, r.stderr);
    const file = join(out, 'tiny.Q4_0.gguf');
    assert.match(r.stdout, /^tiny:q4_0: quantized to Q4_0 in \d+\.\d s$/m);
    assert.match(r.stdout, new RegExp(`^file      ${file.replace(/[.]/g, '\\.')} \\(\\d+ KiB\\)$`, 'm'));
    assert.match(r.stdout, new RegExp(`^sha256    ${await sha(file)}$`, 'm'));
    assert.match(r.stdout, /^speed     \d+\.\d tokens\/s, load \d+ ms$/m);
    assert.match(r.stdout, /^memory    measured \d+(\.\d)? [KM]iB \(.* on the GPU\), predicted \d+ MiB at 256 tokens \([+-]\d+\.\d%\)$/m);
    assert.match(r.stdout, /^run it:   ollama run tiny:q4_0$/m);
    // Progress on stderr: a line per stage (no TTY here, so no redrawn bar).
    for (const line of [/^inspect… /m, /^advise skipped: type Q4_0 given/m, /^quantize… Q4_0: /m, /^quantize done: /m, /^upload done: /m, /^create done: tiny:q4_0 created$/m, /^verify done: /m]) {
      assert.match(r.stderr, line);
    }
    assert.doesNotMatch(r.stderr, /quantfit: error/);
  } finally {
    await removeTempDir(out);
  }
});

test('--type auto picks a type and says why; --no-verify gives verify null', async () => {
  const out = await makeTempDir('fit-cli-auto');
  try {
    const r = await quantfit([tiny, '--host', fake.url, '--out', out, '--json', '--no-verify', '--name', 'tiny-auto']);
    assert.equal(r.status, 0, r.stderr);
    const { events, final } = ndjson(r.stdout);
    const rec = final.recommendation as { type: string; reason: string };
    assert.equal(final.type, rec.type);
    const chose = events.find((e) => e.type === 'log' && e.stage === 'advise');
    // The same reasons as `quantfit recommend` phrases them (in the CLI's language; English here).
    assert.match(String(chose?.message), new RegExp(`^chose ${rec.type}: ${rec.type} needs \\d`));
    assert.equal(final.verify, null);
    assert.equal(final.file, join(out, `tiny.${rec.type}.gguf`));

    const human = await quantfit([tiny, '--host', fake.url, '--out', out, '--no-verify', '--name', 'tiny-auto', '--force']);
    assert.equal(human.status, 0, human.stderr);
    assert.match(human.stderr, new RegExp(`^  chose ${rec.type}: `, 'm'));
    assert.match(human.stderr, /^warning: replacing the existing model 'tiny-auto:latest' \(--force\)$/m);
  } finally {
    await removeTempDir(out);
  }
});

/** Three or more English words in a row, outside paths, names and flags (`/tmp/a b`, `tiny:latest`, `--force`). */
const ENGLISH_RUN = /(?<![\w./:'-])[A-Za-z]+(?:[ ,]+[A-Za-z]+){2,}(?![\w./:'-])/;

test('--lang zh-CN: progress, the advisor\'s reasons, warnings and the summary are Chinese; no run of English words', async () => {
  const out = await makeTempDir('fit-cli-zh');
  try {
    const en = await quantfit([tiny, '--host', fake.url, '--out', out, '--no-verify', '--name', 'tiny-zh', '--lang', 'en']);
    assert.equal(en.status, 0, en.stderr);
    // The check can fail: the same run in English has such runs (the reasons, the stage notes).
    assert.match(en.stderr, ENGLISH_RUN);
    const zh = await quantfit([tiny, '--host', fake.url, '--out', out, '--name', 'tiny-zh', '--force', '--lang', 'zh-CN']);
    assert.equal(zh.status, 0, zh.stderr);
    for (const line of `${zh.stderr}\n${zh.stdout}`.split('\n')) assert.doesNotMatch(line, ENGLISH_RUN);
    assert.match(zh.stderr, /^警告：正在替换现有模型 'tiny-zh:latest'/m);
    assert.match(zh.stderr, /^量化…… Q\w+：\d+ 个张量，\d+ 字节$/m);
    assert.match(zh.stderr, /剩余 \d+s/);
    const json = await quantfit([tiny, '--host', fake.url, '--out', out, '--name', 'tiny-zh', '--force', '--no-verify', '--json', '--lang', 'zh-CN']);
    assert.equal(json.status, 0, json.stderr);
    const { events, final } = ndjson(json.stdout);
    const warnings = final.warnings as string[];
    assert.ok(warnings.length > 0 && warnings.every((w) => /[\u4e00-\u9fff]/.test(w)), warnings.join('\n'));
    assert.deepEqual((final.warningMessages as Array<{ code: string }>).map((w) => w.code), ['fit.warn.replacingOutput', 'ollama.template.bareWarning', 'ollama.create.replacing']);
    // The advisor's reason: Chinese text, with the message and the structured reasons beside it.
    const rec = final.recommendation as { reason: string; reasonMessage: { code: string }; reasons: Array<{ code: string }> };
    assert.match(rec.reason, /[\u4e00-\u9fff]/);
    assert.doesNotMatch(rec.reason, ENGLISH_RUN);
    assert.match(rec.reasonMessage.code, /^reason\./);
    assert.equal(rec.reasons[0]!.code, 'fits');
    const notes = events.filter((e) => e.type !== 'progress' && e.message !== undefined).map((e) => String(e.message));
    assert.ok(notes.length > 3);
    for (const note of notes) assert.doesNotMatch(note, ENGLISH_RUN);
  } finally {
    await removeTempDir(out);
  }
});

test('usage errors exit 2; failures exit 1 with one quantfit: error: line', async () => {
  for (const args of [[], [tiny, '--type', 'Q9_9'], [tiny, '--ctx', 'lots'], [tiny, '--threads', '0'], [tiny, '--bogus'], [tiny, '--name', ' ']]) {
    const r = await quantfit(args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^quantfit: error: /);
  }

  const down = await startFakeOllama();
  const url = down.url;
  await down.stop();
  const out = await makeTempDir('fit-cli-down');
  try {
    const r = await quantfit([tiny, '--type', 'Q8_0', '--host', url, '--out', out]);
    assert.equal(r.status, 1);
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('quantfit: error: '));
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, new RegExp(`^quantfit: error: (Ollama is not running at ${url}|nothing answers at ${url}).*; nothing was written$`));
    assert.deepEqual(await listDir(out), []);

    const missing = await quantfit([join(dir, 'nope.gguf'), '--host', fake.url]);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /^quantfit: error: .*nope\.gguf: /m);
  } finally {
    await removeTempDir(out);
  }
});

test('a full disk is refused before quantizing, with the sizes (1 MiB tmpfs)', async (t) => {
  const at = join(dir, 'tmpfs-cli');
  mkdirSync(at);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', at], { stdio: 'pipe' });
  } catch (err) {
    const reason = `cannot mount a tmpfs here (${(err as Error).message.split('\n')[0]})`;
    console.log(`# skipping the CLI disk-full test: ${reason}`);
    rmSync(at, { recursive: true, force: true });
    t.skip(reason);
    return;
  }
  try {
    const s = statfsSync(at);
    writeFileSync(join(at, 'filler'), Buffer.alloc(s.bavail * s.bsize - 16 * 1024));
    const r = await quantfit([tiny, '--type', 'Q8_0', '--host', fake.url, '--out', at]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`^quantfit: error: ${at}: not enough free space for the output: it needs \\d+ KiB, \\d+ KiB free; nothing was written$`, 'm'));
    assert.deepEqual(await listDir(at), ['filler']);
  } finally {
    execFileSync('umount', [at]);
    rmSync(at, { recursive: true, force: true });
  }
});

test('Ctrl-C during create: exit 130, says what was kept, leaves no temp file; the retry with --force works', async () => {
  const out = await makeTempDir('fit-cli-sigint');
  try {
    const input = await writeTinyLlama(dir, 'interrupted', { seed: 22, nVocab: 256 });
    fake.faults.delayMs = 300;
    let r: Run;
    try {
      let sent = false;
      r = await quantfit([input, '--type', 'Q8_0', '--host', fake.url, '--out', out], (text, child) => {
        if (!sent && text.includes('create… ')) {
          sent = true;
          child.kill('SIGINT');
        }
      });
    } finally {
      delete fake.faults.delayMs;
    }
    assert.equal(r.status, 130, r.stderr);
    const kept = join(out, 'interrupted.Q8_0.gguf');
    assert.match(r.stderr, new RegExp(`^quantfit: error: cancelled during create; the quantized file ${kept.replace(/[.]/g, '\\.')} is complete and kept: register it later with: quantfit import ${kept.replace(/[.]/g, '\\.')} --name interrupted:q8_0; uploaded blob sha256:[0-9a-f]{64} but no model uses it`, 'm'));
    assert.deepEqual(await listDir(out), ['interrupted.Q8_0.gguf']);
    assert.deepEqual(await partialBlobs(fake), []);
    await new Promise((res) => setTimeout(res, 400)); // the dropped create finishes server-side
    const retry = await quantfit([input, '--type', 'Q8_0', '--host', fake.url, '--out', out, '--force', '--no-verify']);
    assert.equal(retry.status, 0, retry.stderr);
    assert.match(retry.stdout, /^run it:   ollama run interrupted:q8_0$/m);
  } finally {
    await removeTempDir(out);
  }
});

// `--json` output in both languages: every text a person reads is in the CLI's language and travels
// with its message code and params, which are the same in every language.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { runQuantfit } from './support/cli.ts';
import { makeTempDir, removeTempDir } from './support/synthetic-gguf.ts';
import { writeTinyLlama } from './jobs/support.ts';
import { englishRuns } from './support/english.ts';
import { profileFromRaw } from '../src-main/core/hardware/profile.ts';
import type { RawHardware } from '../src-main/core/hardware/raw.ts';
import { hardwareJson, jsonEventLine, templateJson } from '../src-main/cli/json-output.ts';
import { setCliLocale } from '../src-main/cli/locale.ts';
import { planTemplate } from '../src-main/core/ollama/templates.ts';
import type { Message } from '../src-shared/message.ts';
import { msg } from '../src-shared/messages/index.ts';

let dir = '';
let tiny = '';
before(async () => {
  dir = await makeTempDir('cli-json');
  tiny = await writeTinyLlama(dir, 'tiny', { seed: 5, nVocab: 256 });
});
after(async () => {
  setCliLocale('en');
  await removeTempDir(dir);
});

const CHINESE = /[\u4e00-\u9fff]/;

interface RecommendedJson { type: string | null; reason: string; reasonMessage: Message; reasons: Array<{ code: string }> }

async function recommended(args: string[], env: Record<string, string> = {}): Promise<RecommendedJson> {
  const r = await runQuantfit(['recommend', tiny, '--json', ...args], { LC_ALL: '', LC_MESSAGES: '', LANG: '', ...env });
  assert.equal(r.status, 0, r.stderr);
  return (JSON.parse(r.stdout) as { recommended: RecommendedJson }).recommended;
}

for (const [what, args] of [['a pick', ['--ram', '8G']], ['nothing fits', ['--ram', '1M']]] as const) {
  test(`recommend --json (${what}): reason in the CLI's language, the same message code and reasons in both`, async () => {
    const en = await recommended([...args]);
    const zhFlag = await recommended([...args, '--lang', 'zh-CN']);
    const zhEnv = await recommended([...args], { LANG: 'zh_CN.UTF-8' });
    assert.ok(englishRuns(en.reason).length > 0, en.reason);
    assert.doesNotMatch(en.reason, CHINESE);
    for (const zh of [zhFlag, zhEnv]) {
      assert.match(zh.reason, CHINESE);
      assert.deepEqual(englishRuns(zh.reason), [], zh.reason);
      assert.notEqual(zh.reason, en.reason);
      // What a program reads does not change with the language.
      assert.deepEqual(zh.reasonMessage, en.reasonMessage);
      assert.deepEqual(zh.reasons, en.reasons);
      assert.equal(zh.type, en.type);
    }
    assert.match(en.reasonMessage.code, /^reason\./);
    assert.equal(en.reasons[0]!.code, what === 'a pick' ? 'fits' : 'nothing_fits');
  });
}

test('LC_ALL wins over LANG for the JSON texts too', async () => {
  const r = await recommended(['--ram', '8G'], { LC_ALL: 'en_US.UTF-8', LANG: 'zh_CN.UTF-8' });
  assert.doesNotMatch(r.reason, CHINESE);
});

test('hardware JSON: each unknown keeps its code and params and gains its text', () => {
  const url = new URL('./fixtures/hardware/no-answers.json', import.meta.url);
  const profile = profileFromRaw((JSON.parse(readFileSync(url, 'utf8')) as { raw: RawHardware }).raw, 'fixture');
  assert.ok(profile.unknowns.length > 3);
  setCliLocale('en');
  const en = hardwareJson(profile);
  setCliLocale('zh-CN');
  const zh = hardwareJson(profile);
  assert.match(zh.unknowns.map((u) => u.text).join('\n'), CHINESE);
  setCliLocale('en');
  for (const [i, u] of profile.unknowns.entries()) {
    assert.deepEqual({ code: zh.unknowns[i]!.code, params: zh.unknowns[i]!.params }, { code: u.code, params: u.params });
    assert.doesNotMatch(en.unknowns[i]!.text, CHINESE);
    assert.notEqual(zh.unknowns[i]!.text, en.unknowns[i]!.text);
  }
  assert.deepEqual({ ...zh, unknowns: [] }, { ...profile, unknowns: [] });
});

test('template choice JSON: reason in the CLI\'s language with its message; event notes likewise', () => {
  const { choice } = planTemplate([]);
  assert.equal(choice.kind, 'none');
  setCliLocale('zh-CN');
  const zh = templateJson(choice);
  const event = JSON.parse(jsonEventLine({ type: 'log', level: 'warn', stage: 'modelfile', message: 'in English', text: msg('ollama.create.recognised') })) as { message: string; text: Message };
  const progress = JSON.parse(jsonEventLine({ type: 'progress', stage: 'upload', unit: 'bytes', done: 1, total: 2, rate: 0, etaSeconds: null, status: 'uploading' })) as { status: string };
  setCliLocale('en');
  const en = templateJson(choice);
  assert.equal(en.reason, choice.reason);
  assert.match(zh.reason, CHINESE);
  assert.deepEqual(zh.reasonMessage, choice.reasonText);
  assert.equal('reasonText' in zh, false);
  assert.match(event.message, CHINESE);
  assert.deepEqual(event.text, msg('ollama.create.recognised'));
  assert.equal(progress.status, 'uploading');
});

// Every command's --help, and the top-level usage, read in Simplified Chinese with --lang zh-CN:
// option names, placeholders, file names and JSON fields stay as typed, but no English prose.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runQuantfit } from './support/cli.ts';
import { englishRuns } from './support/english.ts';

async function commandNames(): Promise<string[]> {
  const usage = await runQuantfit(['--help', '--lang', 'en']);
  assert.equal(usage.status, 0, usage.stderr);
  const names = [...usage.stdout.matchAll(/^ {2}([a-z]+) {2,}/gm)].map((m) => m[1]!);
  assert.ok(names.length >= 10, `commands listed: ${names.join(', ')}`);
  return names;
}

test('the check finds English prose (and so can fail)', async () => {
  const en = await runQuantfit(['inspect', '--help', '--lang', 'en']);
  assert.ok(englishRuns(en.stdout).length > 5, en.stdout);
  assert.deepEqual(englishRuns('  --json   打印 JSON：{file, version, kv: {...}}；Q4_K_M、hf:ORG/REPO'), []);
});

test('quantfit <command> --help --lang zh-CN is Chinese for every command, and English without it', async () => {
  const names = await commandNames();
  const top = await runQuantfit(['--help', '--lang', 'zh-CN']);
  assert.deepEqual(englishRuns(top.stdout), [], top.stdout);
  for (const name of names) {
    const zh = await runQuantfit([name, '--help', '--lang', 'zh-CN']);
    assert.equal(zh.status, 0, `${name}: ${zh.stderr}`);
    assert.match(zh.stdout, /^用法：quantfit /, `${name} --help`);
    assert.deepEqual(englishRuns(zh.stdout), [], `${name} --help --lang zh-CN:\n${zh.stdout}`);
    // The environment decides the same way as --lang.
    const env = await runQuantfit([name, '--help'], { LANG: 'zh_CN.UTF-8', LC_ALL: '', LC_MESSAGES: '' });
    assert.equal(env.stdout, zh.stdout);
    const en = await runQuantfit([name, '--help', '--lang', 'en']);
    assert.match(en.stdout, /^Usage: quantfit /, `${name} --help --lang en`);
  }
});

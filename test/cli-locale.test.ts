// The CLI's language: English by default, Simplified Chinese when LC_ALL, LC_MESSAGES or LANG (the
// first one set) starts with zh, and --lang over both.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { localeFromEnv } from '../src-main/cli/locale.ts';
import { runQuantfit } from './support/cli.ts';

test('LC_ALL, then LC_MESSAGES, then LANG decide; anything else is English', () => {
  assert.equal(localeFromEnv({ LANG: 'zh_CN.UTF-8' }), 'zh-CN');
  assert.equal(localeFromEnv({ LC_ALL: 'en_US.UTF-8', LANG: 'zh_CN.UTF-8' }), 'en');
  assert.equal(localeFromEnv({ LC_ALL: '', LC_MESSAGES: 'zh_TW', LANG: 'en_US' }), 'zh-CN');
  assert.equal(localeFromEnv({ LANG: 'de_DE.UTF-8' }), 'en');
  assert.equal(localeFromEnv({}), 'en');
});

test('errors and usage in the chosen language; --lang wins over the environment', async () => {
  const zh = await runQuantfit(['inspect', '/nonexistent/model.gguf'], { LANG: 'zh_CN.UTF-8', LC_ALL: '' });
  assert.equal(zh.status, 1);
  assert.equal(zh.stderr, 'quantfit：错误：/nonexistent/model.gguf：无法打开：文件或目录不存在\n');
  const en = await runQuantfit(['--lang', 'en', 'inspect', '/nonexistent/model.gguf'], { LANG: 'zh_CN.UTF-8', LC_ALL: '' });
  assert.equal(en.stderr, 'quantfit: error: /nonexistent/model.gguf: cannot open: no such file or directory\n');
  const usage = await runQuantfit(['rm', '--lang=zh-CN']);
  assert.equal(usage.status, 2);
  assert.match(usage.stderr, /^quantfit：错误：参数个数不对；用法：quantfit rm NAME\n$/);
  const bad = await runQuantfit(['--lang', 'fr', 'hardware']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--lang must be one of en, zh-CN, got 'fr'/);
});

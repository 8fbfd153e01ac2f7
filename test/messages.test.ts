// Every message code exists in English and Simplified Chinese with the same parameters, and the
// Chinese text is actually Chinese.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LOCALES, localeOf } from '../src-shared/message.ts';
import { MESSAGES, formatMessage, msg } from '../src-shared/messages/index.ts';
import { QuantfitError, describeError, errorMessage, quantfitError } from '../src-main/core/errors.ts';

/** Names that read the same in both languages. */
const NAMES = /\b(Quantfit|English|GPU|CPU|Ollama|Modelfile|GGUF)\b/g;

const paramsOf = (text: string): string[] => [...new Set([...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!))].sort();

test('every code has both languages with the same {params}', () => {
  const codes = new Set(LOCALES.flatMap((l) => Object.keys(MESSAGES[l])));
  assert.ok(codes.size > 10, `only ${codes.size} codes`);
  const problems: string[] = [];
  for (const code of codes) {
    for (const locale of LOCALES) if (MESSAGES[locale][code] === undefined) problems.push(`${code}: no ${locale} text`);
    const en = MESSAGES.en[code];
    const zh = MESSAGES['zh-CN'][code];
    if (en === undefined || zh === undefined) continue;
    if (paramsOf(en).join() !== paramsOf(zh).join()) problems.push(`${code}: params {${paramsOf(en)}} in en but {${paramsOf(zh)}} in zh-CN`);
    const words = zh.replace(/\{\w+\}/g, '').replace(NAMES, '');
    if (!/[\u4e00-\u9fff]/.test(words) && /[a-z]{3,}/i.test(words)) problems.push(`${code}: zh-CN text is not Chinese: ${zh}`);
    // Sentences in Chinese use full-width punctuation.
    if (/[\u4e00-\u9fff][,.;:?!](\s|$)/.test(zh)) problems.push(`${code}: half-width punctuation after Chinese: ${zh}`);
  }
  assert.deepEqual(problems, []);
});

test('a message renders its params, nested messages in the same language', () => {
  const m = msg('common.error.inFile', { file: '/m.gguf', error: msg('common.fs.ENOENT') });
  assert.equal(formatMessage(m, 'en'), '/m.gguf: no such file or directory');
  assert.equal(formatMessage(m, 'zh-CN'), '/m.gguf：文件或目录不存在');
  assert.equal(formatMessage({ code: 'no.such.code' }, 'zh-CN'), 'no.such.code');
});

test("errors: English text from the catalogue, location and OS errors in the reader's language", () => {
  const err = quantfitError('common.fs.EISDIR', {}, { file: '/a.gguf', offset: 8n, tensor: 'blk.0' });
  assert.ok(err instanceof QuantfitError);
  assert.equal(err.message, 'is a directory');
  assert.equal(describeError(err), "/a.gguf: is a directory (at offset 8, tensor 'blk.0')");
  assert.equal(describeError(err, 'zh-CN'), '/a.gguf：是一个目录（位于偏移 8，张量 “blk.0”）');
  const enoent = Object.assign(new Error("ENOENT: no such file or directory, open '/x'"), { code: 'ENOENT', path: '/x' });
  assert.equal(describeError(enoent, 'zh-CN'), '文件或目录不存在：“/x”');
  assert.deepEqual(errorMessage(new Error('boom')), { code: 'common.text', params: { text: 'boom' } });
  // Structured clone and JSON keep a Message whole (it crosses IPC and NDJSON).
  assert.deepEqual(JSON.parse(JSON.stringify(errorMessage(err))), errorMessage(err));
});

test('language tags and POSIX locales map to a locale', () => {
  assert.equal(localeOf('zh_CN.UTF-8'), 'zh-CN');
  assert.equal(localeOf('zh-TW'), 'zh-CN');
  assert.equal(localeOf('en_US.UTF-8'), 'en');
  assert.equal(localeOf('de_DE.UTF-8'), null);
});

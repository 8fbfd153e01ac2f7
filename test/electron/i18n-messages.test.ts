import { test } from 'node:test';
import assert from 'node:assert/strict';
import { en } from '../../src-renderer/src/lib/messages-en.ts';
import { zhCN } from '../../src-renderer/src/lib/messages-zh-CN.ts';

const params = (s: string): string[] => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!).sort();

test('zh-CN has every English key, with the same placeholders, and is actually translated', () => {
  assert.deepEqual(Object.keys(zhCN).sort(), Object.keys(en).sort());
  const same: string[] = [];
  for (const [k, v] of Object.entries(en)) {
    const zh = zhCN[k as keyof typeof en];
    assert.deepEqual(params(zh), params(v), `placeholders of ${k}`);
    if (zh === v && /[a-z]{3,}/.test(v.replace(/\{\w+\}/g, '')) && !/^(Quantfit|English|GPU|CPU)/.test(v)) same.push(k);
  }
  assert.deepEqual(same, [], 'untranslated strings');
  // Sentences in Chinese use full-width punctuation.
  for (const [k, v] of Object.entries(zhCN)) assert.doesNotMatch(v, /[\u4e00-\u9fff][,.;:?!](\s|$)/, `half-width punctuation after Chinese in ${k}`);
});

// The shipped calibration text: where it is found, and that it is the mix its README states.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CALIBRATION_PATH_ENV, defaultCalibrationTextPath, setCalibrationTextPath, sourceCalibrationTextPath } from '../../src-main/core/engine/calibration.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

test('the default text is the checkout\'s file, unless a path was set (packaged app)', () => {
  const before = process.env[CALIBRATION_PATH_ENV];
  try {
    setCalibrationTextPath(undefined);
    assert.equal(defaultCalibrationTextPath(), join(root, 'resources', 'calibration', 'calibration.txt'));
    assert.equal(defaultCalibrationTextPath(), sourceCalibrationTextPath());
    assert.ok(existsSync(defaultCalibrationTextPath()));
    setCalibrationTextPath('/opt/Quantfit/resources/calibration.txt');
    assert.equal(defaultCalibrationTextPath(), '/opt/Quantfit/resources/calibration.txt');
    assert.equal(process.env[CALIBRATION_PATH_ENV], '/opt/Quantfit/resources/calibration.txt', 'inherited by workers and children');
  } finally {
    setCalibrationTextPath(before);
  }
});

test('the text mixes English, Simplified Chinese and code from its first chunks on', () => {
  const text = readFileSync(sourceCalibrationTextPath(), 'utf8');
  assert.ok(text.length > 250_000 && text.length < 500_000, `${text.length} characters`);
  assert.ok(!text.includes('\uFFFD'), 'valid UTF-8');
  const han = (s: string) => (s.match(/[\u4e00-\u9fff]/g) ?? []).length;
  const latinWords = (s: string) => (s.match(/\b[A-Za-z]{3,}\b/g) ?? []).length;
  const codeLines = (s: string) => (s.match(/^\s*(import|export|const|function|return|if \(|for \(|\}|\/\/)/gm) ?? []).length;
  assert.ok(han(text) > 35_000, `${han(text)} Han characters`);
  // A short run (eval --chunks 4 at ctx 512 reads ~10K characters) already sees all three.
  const head = text.slice(0, 12_000);
  assert.ok(han(head) > 500 && latinWords(head) > 500 && codeLines(head) > 30, 'the first 12K characters hold all three');
  // Simplified, not Traditional: characters that differ between the two scripts.
  const simplified = (text.match(/[们这说时国会对经发过]/g) ?? []).length;
  const traditional = (text.match(/[們這說時國會對經發過]/g) ?? []).length;
  assert.ok(simplified > 50 * Math.max(1, traditional), `simplified ${simplified}, traditional ${traditional}`);
  // Every source named in the README is in the text.
  const readme = readFileSync(join(root, 'resources', 'calibration', 'README.md'), 'utf8');
  for (const marker of ['旧历的年底毕竟最像年底', 'We the People of the United States', 'When in the Course of human events', 'The Devil\'s Dictionary', '在自己的电脑上运行大语言模型', '// src-main/core/gguf/reader.ts']) {
    assert.ok(text.includes(marker), `text lacks ${marker}`);
  }
  for (const licence of ['public domain', 'Expat', 'MIT']) assert.ok(readme.includes(licence), `README lacks ${licence}`);
});

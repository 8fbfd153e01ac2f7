// A refused IPC argument reads in the window's language: every refusal is a coded message whose
// Chinese text has no English prose, and whose English text is the error's own message.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FitRequest } from '../../src-shared/contract.ts';
import { formatMessage } from '../../src-shared/messages/index.ts';
import { errorMessage } from '../../src-main/core/errors.ts';
import { IpcValidationError, measureTypeList, validateArgs } from '../../src-main/electron/ipc-validate.ts';
import { englishRuns } from '../support/english.ts';

const dir = await mkdtemp(join(tmpdir(), 'qf-ipc-msg-'));
const file = join(dir, 'model.gguf');
await writeFile(file, 'GGUF');
test.after(() => rm(dir, { recursive: true, force: true }));

const fit = (over: Partial<Record<keyof FitRequest, unknown>> = {}): Record<string, unknown> => ({
  modelPath: file, type: 'Q4_K_M', contextLength: 4096, outputDir: dir, modelName: 'tiny:q4_k_m',
  register: true, force: false, imatrixPath: null, predictedBytes: 123, allowRequantize: false, source: null, checkQuality: false, ...over,
});

const REFUSED: ReadonlyArray<readonly [string, () => unknown]> = [
  ['not an object', () => validateArgs('recommend', [file, 4096, []])],
  ['unknown field', () => validateArgs('recommend', [file, 4096, { evil: 1 }])],
  ['not a string', () => validateArgs('inspectModel', [42])],
  ['relative path', () => validateArgs('inspectModel', ['model.gguf'])],
  ['missing file', () => validateArgs('inspectModel', [join(dir, 'gone.gguf')])],
  ['context range', () => validateArgs('recommend', [file, 100, {}])],
  ['context fraction', () => validateArgs('recommend', [file, 4096.5, {}])],
  ['missing field', () => validateArgs('startFit', [(({ force: _f, ...rest }) => rest)(fit())])],
  ['boolean', () => validateArgs('startFit', [fit({ register: 'yes' })])],
  ['quant type', () => validateArgs('startFit', [fit({ type: 'Q9_9' })])],
  ['model name', () => validateArgs('startFit', [fit({ modelName: 'a b' })])],
  ['predicted bytes', () => validateArgs('startFit', [fit({ predictedBytes: -1 })])],
  ['source parameters', () => validateArgs('startFit', [fit({ source: { stem: 'x', parameters: { 'a-b': 1 } } })])],
  ['source licence', () => validateArgs('startFit', [fit({ source: { stem: 'x', license: [7] } })])],
  ['job id', () => validateArgs('cancelJob', ['job-!'])],
  ['text length', () => validateArgs('copyText', [''])],
  ['link', () => validateArgs('openExternal', ['https://example.com/x'])],
  ['settings field', () => validateArgs('setSettings', [{ evil: 1 }])],
  ['repository paths', () => validateArgs('hubDownload', ['Qwen/Qwen2.5-0.5B', ['../x']])],
  ['measure list', () => measureTypeList('Q8_0')],
  ['measure twice', () => measureTypeList(['Q8_0', 'Q8_0'])],
  ['measure count', () => measureTypeList([])],
  ['arity', () => validateArgs('hardware', [1])],
];

test('every IPC refusal is a coded message: English as the error says, Chinese without English prose', async () => {
  for (const [what, call] of REFUSED) {
    const err = await Promise.resolve().then(call).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof IpcValidationError, `${what}: refused`);
    const message = errorMessage(err);
    assert.equal(formatMessage(message, 'en'), err.message, what);
    const zh = formatMessage(message, 'zh-CN');
    assert.match(zh, /[\u4e00-\u9fff]/, `${what}: ${zh}`);
    assert.deepEqual(englishRuns(zh), [], `${what}: ${zh}`);
  }
});

test('the check can fail: the English texts have English prose', async () => {
  const err = await validateArgs('startFit', [fit({ register: 'yes' })]).then(() => null, (e: unknown) => e);
  assert.ok(englishRuns(formatMessage(errorMessage(err), 'en')).length > 0);
});

// The fit job's words as message codes: every stage note and log line carries a Message whose English
// is the event's `message`, and a failed or cancelled fit renders in Simplified Chinese too.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errorMessage } from '../../src-main/core/errors.ts';
import { FitCancelledError, FitError, runFitJob } from '../../src-main/core/jobs/fit.ts';
import { formatMessage } from '../../src-shared/messages/index.ts';
import { startFakeOllama } from '../support/fake-ollama.ts';
import { makeTempDir, removeTempDir } from '../support/synthetic-gguf.ts';
import { collect, writeTinyLlama } from './support.ts';

const HAN = /[\u4e00-\u9fff]/;

test('every note of a registered fit is a message; its English is the event\'s text', async () => {
  const fake = await startFakeOllama();
  const dir = await makeTempDir('job-messages');
  try {
    const input = await writeTinyLlama(dir, 'words', { seed: 4 });
    const { events, onEvent } = collect();
    await runFitJob({ modelPath: input, type: 'Q8_0', host: fake.url, modelName: 'words' }, { onEvent });
    const worded = events.filter((e) => e.type === 'log' || (e.type === 'stage' && e.message !== undefined));
    assert.ok(worded.length > 10);
    for (const e of worded) {
      if (e.type === 'progress') continue;
      // quantizeFile (core/quant) still speaks English only; everything from the job and Ollama has a code.
      if (e.stage === 'quantize' && e.type === 'stage') continue;
      assert.ok(e.text, `no message code: ${JSON.stringify(e)}`);
      assert.equal(formatMessage(e.text, 'en'), e.message);
      // A bare path (common.text) is the same in every language; every sentence is Chinese.
      if (e.text.code !== 'common.text') assert.match(formatMessage(e.text, 'zh-CN'), HAN, JSON.stringify(e.text));
    }
  } finally {
    await fake.stop();
    await removeTempDir(dir);
  }
});

test('a cancelled fit and a failed one say what they kept, in Chinese too', async () => {
  const fake = await startFakeOllama();
  const dir = await makeTempDir('job-messages-stop');
  try {
    const input = await writeTinyLlama(dir, 'stop', { seed: 5 });
    const ac = new AbortController();
    const cancelled = await runFitJob({ modelPath: input, type: 'Q8_0', host: fake.url, modelName: 'stop' }, {
      signal: ac.signal,
      onEvent: (e) => { if (e.type === 'stage' && e.stage === 'upload' && e.status === 'start') ac.abort(); },
    }).then(() => null, (err: unknown) => err);
    assert.ok(cancelled instanceof FitCancelledError);
    const zh = formatMessage(errorMessage(cancelled), 'zh-CN');
    assert.equal(formatMessage(errorMessage(cancelled), 'en'), cancelled.message);
    assert.match(zh, /^在“上传”阶段取消；量化后的文件 .*stop\.Q8_0\.gguf 已完整并保留：之后可用以下命令注册：quantfit import /);

    await fake.kill();
    const failed = await runFitJob({ modelPath: input, type: 'Q8_0', host: fake.url, modelName: 'stop', force: true }).then(() => null, (err: unknown) => err);
    assert.ok(failed instanceof FitError);
    assert.match(formatMessage(errorMessage(failed), 'zh-CN'), /；没有写入任何内容$/);
  } finally {
    await fake.stop();
    await removeTempDir(dir);
  }
});

// End-to-end: a Hugging Face folder in the app. The built renderer in headless Chromium, its API
// bridged to the real core (as app.test.ts): "Choose model folder…" → the recommendation for the
// GGUF the folder converts to → fit → progress of the one conversion+quantization pass → result,
// registered with the fake Ollama; the registered file is the one-pass output. English and Chinese.
import { englishOnScreen } from './support/english.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatMessage } from '../../src-shared/messages/index.ts';
import { startFakeOllama } from '../support/fake-ollama.ts';
import { writeQwenFolder } from '../support/hf-folders.ts';
import { quantizeFolder } from '../../src-main/core/convert/write.ts';
import { buildRenderer } from './build-renderer.ts';
import { serveRenderer } from './support/serve.ts';
import { createBridge } from './support/bridge.ts';
import { CHROMIUM, launchBridgedPage } from './support/page.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCREENS = join(ROOT, 'test-results/screens');
const skip = existsSync(CHROMIUM) ? null : `${CHROMIUM} is missing (apt-get install -y chromium)`;
if (skip) console.log(`# skipping the folder e2e: ${skip}`);

const sha = async (p: string) => createHash('sha256').update(await readFile(p)).digest('hex');

test('e2e: a Hugging Face folder is picked, converted and quantized in one pass, and registered', { skip: skip ?? false, timeout: 600_000 }, async () => {
  await mkdir(SCREENS, { recursive: true });
  const work = await mkdtemp(join(tmpdir(), 'qf-e2e-folder-'));
  const built = join(work, 'renderer');
  await buildRenderer(built);
  const server = await serveRenderer(built);
  const fake = await startFakeOllama();
  const model = await writeQwenFolder(join(work, 'Qwen2.5-0.5B-Instruct'), { qwen: 'Qwen2ForCausalLM', dtype: 'BF16', tied: true });
  try {
    for (const lang of ['en', 'zh-CN'] as const) {
      const T = (code: string, params: Record<string, string | number> = {}) => formatMessage({ code, params }, lang);
      const outDir = await mkdtemp(join(work, `out-${lang}-`));
      const bridge = await createBridge({ userDataDir: join(work, `app-${lang}`), outputDir: outDir, ollamaUrl: fake.url, language: 'en' });
      await bridge.invoke('setSettings', [{ language: 'system' }]);
      const { context, page } = await launchBridgedPage(bridge, join(work, `chromium-${lang}`), lang);
      try {
        const problems: string[] = [];
        page.on('pageerror', (e) => problems.push(e.message));
        await page.goto(server.url);

        // The folder button, in the page's language.
        bridge.nextPick = model;
        await page.getByRole('button', { name: T('convert.ui.pickFolder') }).click();
        await page.getByTestId('options-table').waitFor({ timeout: 60_000 });
        assert.deepEqual(bridge.records.calls.find((c) => c.method === 'inspectModel')?.args, [model]);
        await page.screenshot({ path: join(SCREENS, `folder-1-recommend-${lang}.png`), fullPage: true });
        if (lang === 'zh-CN') assert.deepEqual(await englishOnScreen(page), [], 'English sentences on the Chinese screen folder-1-recommend');

        await page.locator('#qt-Q4_K_M').check();
        const name = `qwen-folder-${lang === 'en' ? 'en' : 'zh'}:q4_k_m`;
        await page.getByTestId('model-name').fill(name);
        await page.getByTestId('fit-button').click();
        await page.getByTestId('result').waitFor({ timeout: 300_000 });
        for (const s of ['quantize', 'create', 'verify']) assert.equal(await page.getByTestId(`stage-${s}`).getAttribute('data-status'), 'done', s);
        // The second run makes the same bytes: Ollama has the blob already.
        assert.equal(await page.getByTestId('stage-upload').getAttribute('data-status'), lang === 'en' ? 'done' : 'skipped');
        await page.screenshot({ path: join(SCREENS, `folder-2-result-${lang}.png`), fullPage: true });
        if (lang === 'zh-CN') assert.deepEqual(await englishOnScreen(page), [], 'English sentences on the Chinese screen folder-2-result');
        const fitCall = bridge.records.calls.filter((c) => c.method === 'startFit').at(-1)!;
        assert.equal((fitCall.args[0] as { modelPath: string }).modelPath, model);
        const file = join(outDir, 'Qwen2.5-0.5B-Instruct.Q4_K_M.gguf');
        const expected = join(work, `expected-${lang}.gguf`);
        await quantizeFolder(model, expected, { ftype: 'Q4_K_M' }, { threads: 2 });
        assert.equal(await sha(file), await sha(expected), 'the registered file is the one-pass output');
        assert.notEqual(await fake.manifest(name), null);
        assert.deepEqual(problems, []);
      } finally {
        await context.close();
        await bridge.close();
      }
    }
  } finally {
    await fake.stop();
    await server.close();
    await rm(work, { recursive: true, force: true });
  }
});

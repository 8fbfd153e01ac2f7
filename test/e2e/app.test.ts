// End-to-end: the built renderer in real headless Chromium, with `window.quantfit` bridged to the
// real core services (hardware probe, GGUF inspect, advisor, quantizer in a job process, Ollama
// bridge against the fake Ollama server). Clicks pick → recommend → fit → progress → result →
// library in English and in Chinese and saves a screenshot of each screen to test-results/screens.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { createCoreServices } from '../../src-main/electron/services.ts';
import { DEFAULT_SETTINGS, EXTERNAL_LINKS } from '../../src-shared/contract.ts';
import { kvString } from '../../src-main/core/gguf/metadata.ts';
import { readGgufHeader } from '../../src-main/core/gguf/reader.ts';
import { writeGgufImatrix } from '../support/imatrix-files.ts';
import { formatMessage } from '../../src-shared/messages/index.ts';
import type { UiCode as MessageKey } from '../../src-shared/messages/ui.ts';
import { startFakeOllama, type FakeOllama } from '../support/fake-ollama.ts';
import { buildRenderer } from './build-renderer.ts';
import { serveRenderer } from './support/serve.ts';
import { createBridge, type Bridge } from './support/bridge.ts';
import { CHROMIUM, launchBridgedPage } from './support/page.ts';
import { englishOnScreen, englishRuns } from './support/english.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const FIXTURE = resolve(ROOT, '../shared/fixtures/stories260K.gguf');
const SCREENS = join(ROOT, 'test-results/screens');

const skip = !existsSync(CHROMIUM)
  ? `${CHROMIUM} is missing (apt-get install -y chromium)`
  : !existsSync(FIXTURE)
    ? `${FIXTURE} is missing`
    : null;
if (skip) console.log(`# skipping e2e: ${skip}`);

const text = (lang: 'en' | 'zh-CN', key: MessageKey, params: Record<string, string | number> = {}): string =>
  formatMessage({ code: key, params }, lang);

interface Env {
  base: string;
  fake: FakeOllama;
  work: string;
  /** An importance matrix (llama-imatrix's GGUF form) for the fixture's weights. */
  imatrix: string;
}

/** A GGUF-form importance matrix covering every 2-D weight of the fixture but the token embedding. */
async function writeFixtureImatrix(path: string): Promise<void> {
  const header = await readGgufHeader(FIXTURE);
  const entries = header.tensors
    .filter((t) => t.shape.length === 2 && t.name !== 'token_embd.weight')
    .map((t) => ({ name: t.name, values: new Float32Array(t.shape[0]!).fill(4), counts: [2] }));
  await writeGgufImatrix(path, entries, { datasets: ['tinystories.txt'] });
}

async function shot(page: Page, name: string): Promise<void> {
  // From the top, so the sticky header is drawn where it belongs in the full-page image.
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(SCREENS, `${name}.png`), fullPage: true });
  if (name.endsWith('zh-CN')) for (const run of await englishOnScreen(page)) englishOnChineseScreens.push(`${name}: ${run}`);
}

/** English sentences seen on the Chinese screenshots, checked at the end of a flow (so every screen is seen). */
const englishOnChineseScreens: string[] = [];

test('englishRuns finds English sentences and leaves names, paths and types alone', () => {
  assert.deepEqual(englishRuns('replacing the existing model'), ['replacing the existing model']);
  assert.deepEqual(englishRuns('已取消。the GGUF has no tokenizer.chat_template'), ['the has no']);
  assert.deepEqual(englishRuns('推荐：Q4_K_M，GPU 显存 8 GiB，/home/me/models/Tiny Story.gguf 已保存'), []);
  assert.deepEqual(englishRuns('Ollama 模型 stories-zh:q4_0 · Quantfit 已就绪'), []);
  assert.deepEqual(englishRuns('以后可用 quantfit import /m/a.gguf --name a:q4 注册它'), []);
  assert.deepEqual(englishRuns('以后可用 the import command to register it'), ['the import command to register it']);
});

async function openApp(env: Env, lang: 'en' | 'zh-CN'): Promise<{ context: BrowserContext; page: Page; bridge: Bridge; outDir: string; problems: string[] }> {
  const userData = await mkdtemp(join(env.work, `user-${lang}-`));
  const outDir = await mkdtemp(join(env.work, `out-${lang}-`));
  const bridge = await createBridge({ userDataDir: join(userData, 'app'), outputDir: outDir, ollamaUrl: env.fake.url, language: 'en' });
  // The app's language setting is 'system' so the browser locale decides (navigator.language).
  await bridge.invoke('setSettings', [{ language: 'system' }]);
  const { context, page } = await launchBridgedPage(bridge, join(userData, 'chromium'), lang, { colorScheme: 'light' });
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  await page.goto(env.base);
  return { context, page, bridge, outDir, problems };
}

async function fitFlow(env: Env, lang: 'en' | 'zh-CN'): Promise<void> {
  const T = (k: MessageKey, p?: Record<string, string | number>) => text(lang, k, p);
  const { context, page, bridge, outDir, problems } = await openApp(env, lang);
  try {
    // Home: the machine card with real numbers from this machine.
    await page.getByRole('heading', { name: T('machine.title') }).waitFor();
    await page.getByText(T('machine.ram')).waitFor();
    await page.locator('.machine dd').first().getByText(/\d/).first().waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.lang), lang);
    await shot(page, `1-home-${lang}`);

    // Pick: the file dialog in English, drag-and-drop in Chinese.
    if (lang === 'en') {
      bridge.nextPick = FIXTURE;
      await page.getByRole('button', { name: T('pick.button') }).click();
    } else {
      await page.evaluate((path) => {
        (window as unknown as { __quantfitDropPaths: Record<string, string> }).__quantfitDropPaths['stories260K.gguf'] = path;
        const dt = new DataTransfer();
        dt.items.add(new File([new Uint8Array([0x47, 0x47, 0x55, 0x46])], 'stories260K.gguf'));
        for (const type of ['dragenter', 'dragover', 'drop']) window.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
      }, FIXTURE);
    }

    // Recommendation: every type from the real advisor, the recommended one preselected.
    const table = page.getByTestId('options-table');
    await table.waitFor();
    const core = createCoreServices(() => ({ ...DEFAULT_SETTINGS, ollamaHost: env.fake.url, outputDir: outDir }));
    const ctx0 = Number((bridge.records.calls.find((c) => c.method === 'recommend')!.args[1]));
    const report = await core.recommend(FIXTURE, ctx0, {});
    const recType = report.recommended.type!;
    assert.ok(recType, 'the advisor recommends a type for the tiny model');
    assert.equal(await table.locator('tbody tr').count(), report.options.length);
    await page.getByTestId('recommended').getByText(T('rec.recommended', { type: recType })).waitFor();
    assert.equal(await page.locator(`#qt-${recType}`).isChecked(), true);
    assert.ok((await page.getByTestId('reason').innerText()).includes(recType));
    assert.equal(await page.getByTestId('quality-chart').locator('circle').count() > 3, true);
    assert.equal(await page.getByTestId('memory-fit').locator('rect').count() >= 3, true);

    // The context slider re-estimates.
    const before = bridge.records.calls.filter((c) => c.method === 'recommend').length;
    await page.locator('#ctx-slider').focus();
    await page.keyboard.press('ArrowLeft');
    await page.getByTestId('ctx-value').getByText(T('rec.ctxValue', { ctx: new Intl.NumberFormat(lang).format(ctx0 / 2) })).waitFor();
    await page.waitForFunction(() => true);
    for (let i = 0; i < 50 && bridge.records.calls.filter((c) => c.method === 'recommend').length === before; i++) await page.waitForTimeout(100);
    const last = bridge.records.calls.filter((c) => c.method === 'recommend').at(-1)!;
    assert.equal(last.args[1], ctx0 / 2);
    await page.getByTestId('options-table').waitFor();

    // The default model name is the CLI's: the FILE's stem and the type (general.name here is 'llama').
    const nameInput = page.getByTestId('model-name');
    assert.equal(await nameInput.inputValue(), `stories260k:${recType.toLowerCase()}`);

    // Types that need an importance matrix cannot be chosen without one.
    const needsImatrix = report.options.filter((o) => o.requiresImatrix).map((o) => o.type);
    assert.ok(needsImatrix.length > 0);
    for (const type of needsImatrix) assert.equal(await page.locator(`#qt-${type}`).isDisabled(), true, type);
    let imatrixPath: string | null = null;
    if (lang === 'en') {
      // A file that is no importance matrix is refused where it was picked; the recommendation stays.
      const junk = join(env.work, 'notes.dat');
      await writeFile(junk, 'not an importance matrix');
      bridge.nextImatrixPick = junk;
      await page.getByTestId('imatrix').getByRole('button', { name: T('imatrix.choose') }).click();
      await page.getByTestId('imatrix').getByRole('alert').waitFor();
      assert.equal(await page.getByTestId('imatrix-file').innerText(), T('imatrix.none'));
      await page.getByTestId('options-table').waitFor();
      // A real one (GGUF form): the advisor is asked with it and those types become selectable.
      bridge.nextImatrixPick = env.imatrix;
      await page.getByTestId('imatrix').getByRole('button', { name: T('imatrix.choose') }).click();
      await page.getByTestId('imatrix-file').getByText('stories260K.imatrix.gguf').waitFor();
      for (let i = 0; i < 50 && bridge.records.calls.at(-1)?.method !== 'recommend'; i++) await page.waitForTimeout(100);
      assert.deepEqual(bridge.records.calls.filter((c) => c.method === 'recommend').at(-1)!.args[2], { imatrixPath: env.imatrix });
      await page.getByTestId('imatrix').getByRole('alert').waitFor({ state: 'detached' });
      for (const type of needsImatrix) await page.locator(`#qt-${type}:not([disabled])`).waitFor();
      await page.locator(`#qt-${recType}`).check();
      imatrixPath = env.imatrix;
    }
    await shot(page, `2-recommend-${lang}`);

    // English keeps the default name; Chinese types its own.
    const modelName = lang === 'en' ? `stories260k:${recType.toLowerCase()}` : `stories-zh:${recType.toLowerCase()}`;
    await nameInput.fill(modelName);

    if (lang === 'zh-CN') {
      // Cancel a fit midway: slow Ollama down, cancel during the upload/create, nothing partial is left.
      env.fake.faults.delayMs = 400;
      await page.getByTestId('fit-button').click();
      // Cancelled while Ollama creates the model: the blob is uploaded by then (the retry skips it).
      await page.getByTestId('stage-create').and(page.locator('[data-status="active"]')).waitFor({ timeout: 60_000 });
      await page.getByRole('button', { name: T('progress.cancel') }).click();
      await page.getByText(T('progress.cancelled')).waitFor({ timeout: 30_000 });
      assert.equal(await page.getByTestId('stage-create').getAttribute('data-status'), 'stopped');
      assert.equal(await page.getByTestId('stage-verify').getAttribute('data-status'), 'pending');
      // The job says what it kept: the finished quantized file and the uploaded blob.
      assert.match(await page.getByTestId('cancel-note').innerText(), /stories260K\.\w+\.gguf/);
      env.fake.faults.delayMs = 0;
      const left = await readdir(outDir);
      assert.deepEqual(left.filter((f) => !f.endsWith('.gguf') && !f.endsWith('Modelfile')), [], `partial files left: ${left.join(', ')}`);
      await shot(page, `3b-cancelled-${lang}`);
      // The kept file is offered for registering on its own: no second quantization.
      const kept = left.find((f) => f.endsWith('.gguf'))!;
      assert.match(await page.getByTestId('kept-hint').innerText(), new RegExp(kept.replace(/\./g, '\\.')));
      await page.getByTestId('register-kept').click();
      await page.getByTestId('result').waitFor({ timeout: 60_000 });
      assert.equal(await page.getByTestId('stage-quantize').getAttribute('data-status'), 'skipped');
      assert.equal(await page.getByTestId('stage-upload').getAttribute('data-status'), 'skipped', 'Ollama had the blob');
      assert.equal((await core.listModels()).some((m) => m.name === modelName), true, 'the kept file is registered');
      const keptCall = bridge.records.calls.filter((c) => c.method === 'startFit').at(-1)!;
      assert.equal((keptCall.args[0] as { modelPath: string }).modelPath, join(outDir, kept));
      // Then the full fit again, replacing that model.
      await page.getByTestId('nav-model').click();
      await page.getByText(T('action.force')).click();
    }

    // Fit: quantize → upload → create → verify, slowed a little so the progress screen is seen.
    env.fake.faults.delayMs = 150;
    await page.getByTestId('fit-button').click();
    await page.getByRole('heading', { name: T('progress.title', { name: modelName }) }).waitFor();
    await page.locator('[data-testid="stage-upload"][data-status="active"], [data-testid="stage-create"][data-status="active"]').first().waitFor({ timeout: 60_000 });
    await shot(page, `3-progress-${lang}`);
    env.fake.faults.delayMs = 0;

    // Result.
    const result = page.getByTestId('result');
    await result.waitFor({ timeout: 120_000 });
    for (const s of ['quantize', 'create', 'verify']) assert.equal(await page.getByTestId(`stage-${s}`).getAttribute('data-status'), 'done', s);
    // After the cancelled attempt Ollama already has the blob, so the upload is skipped.
    assert.equal(await page.getByTestId('stage-upload').getAttribute('data-status'), lang === 'en' ? 'done' : 'skipped');
    const run = await page.getByTestId('run-command').innerText();
    assert.match(run, new RegExp(`^ollama run ${modelName.replace('.', '\\.')}`));
    assert.match(await page.getByTestId('tps').innerText(), /\d/);
    await result.getByText(T('result.predicted')).waitFor();
    await result.getByText(T('result.measured')).waitFor();
    await result.getByRole('button', { name: T('common.copy') }).click();
    await result.getByRole('button', { name: T('common.copied') }).waitFor();
    assert.equal(bridge.records.clipboard.at(-1), run);
    await result.getByRole('button', { name: T('result.openFolder') }).click();
    for (let i = 0; i < 20 && bridge.records.opened.length === 0; i++) await page.waitForTimeout(50);
    const opened = bridge.records.opened.at(-1)!;
    // Named as `quantfit fit` names it.
    assert.equal(opened, join(outDir, `stories260K.${recType}.gguf`));
    assert.equal(await result.getByTestId('result-file').innerText(), opened);
    assert.match(await result.getByTestId('tensor-types').innerText(), new RegExp(`\\b${recType.split('_')[0]}`));
    const fitCall = bridge.records.calls.filter((c) => c.method === 'startFit').at(-1)!;
    assert.equal((fitCall.args[0] as { imatrixPath: string | null }).imatrixPath, imatrixPath);
    // The importance matrix reached the quantizer: the output records it as llama-quantize does.
    assert.equal(kvString(await readGgufHeader(opened), 'quantize.imatrix.file'), imatrixPath ?? undefined);
    await shot(page, `4-result-${lang}`);

    // Library: the new model, what is running, details, delete with confirmation.
    await result.getByRole('button', { name: T('result.library') }).click();
    const models = page.getByTestId('models');
    const row = models.locator('tbody tr', { hasText: modelName.includes(':') ? modelName : `${modelName}:latest` });
    await row.waitFor();
    await page.getByTestId('running').getByText(modelName).waitFor();
    await row.getByRole('button', { name: T('library.details') }).click();
    await models.getByText(T('library.template')).waitFor();
    await shot(page, `5-library-${lang}`);
    await row.getByRole('button', { name: `${T('common.delete')} ${modelName}` }).click();
    await page.getByRole('dialog').getByText(T('library.confirmTitle', { name: modelName })).waitFor();
    await shot(page, `6-delete-${lang}`);
    await page.getByTestId('confirm-delete').click();
    await page.getByText(T('library.deleted', { name: modelName })).waitFor();
    await row.waitFor({ state: 'detached' });
    assert.equal((await core.listModels()).some((m) => m.name === modelName), false, 'gone from Ollama too');

    if (lang === 'en') {
      // An input that is already quantized: quantizing it again is offered, with its quality warning.
      await page.getByTestId('nav-model').click();
      bridge.nextPick = opened;
      await page.getByRole('button', { name: T('model.other') }).click();
      await page.getByTestId('requantize-warning').getByText(T('action.requantizeWarning', { type: recType })).waitFor();
      await page.getByTestId('allow-requantize').check();
      await page.getByText(T('action.register')).click();
      await page.getByTestId('fit-button').click();
      await page.locator('[data-testid="result"], .error').first().waitFor({ timeout: 60_000 });
      const requantCall = bridge.records.calls.filter((c) => c.method === 'startFit').at(-1)!;
      assert.deepEqual(
        [(requantCall.args[0] as { modelPath: string }).modelPath, (requantCall.args[0] as { allowRequantize: boolean }).allowRequantize],
        [opened, true],
      );
    }

    // Settings.
    await page.getByTestId('nav-settings').click();
    await page.getByRole('heading', { name: T('settings.title') }).waitFor();
    await shot(page, `7-settings-${lang}`);
    const threads = page.getByRole('spinbutton', { name: T('settings.threads') });
    await threads.fill('4');
    await threads.press('Enter');
    await threads.blur();
    await page.getByText(T('settings.saved')).waitFor();
    const saved = (await bridge.invoke('getSettings', [])) as { ok: true; value: { threads: number } };
    assert.equal(saved.value.threads, 4);
    await page.getByRole('button', { name: T('settings.docs') }).click();
    for (let i = 0; i < 20 && bridge.records.external.length === 0; i++) await page.waitForTimeout(50);
    assert.deepEqual(bridge.records.external, [EXTERNAL_LINKS.docs]);

    if (lang === 'en') {
      // The switcher: Chinese now, saved in the settings file; dark theme by override.
      await page.getByTestId('lang-switch').selectOption('zh-CN');
      await page.getByTestId('nav-library').getByText(text('zh-CN', 'nav.library')).waitFor();
      assert.equal((await bridge.invoke('getSettings', [])).ok && ((await bridge.invoke('getSettings', [])) as { value: { language: string } }).value.language, 'zh-CN');
      await page.getByRole('combobox', { name: text('zh-CN', 'theme.label') }).selectOption('dark');
      await page.waitForFunction(() => document.documentElement.dataset.theme === 'dark');
      await page.getByTestId('nav-model').click();
      await page.getByTestId('options-table').waitFor();
      await shot(page, '8-recommend-dark-zh-CN');
    }
    assert.deepEqual(problems, [], 'no page errors or CSP violations');
    assert.deepEqual(englishOnChineseScreens.splice(0), [], 'English sentences on Chinese screens');
  } finally {
    await context.close();
    await bridge.close();
  }
}

test('e2e: the app in Chromium over the real core and a fake Ollama', { skip: skip ?? false, timeout: 600_000 }, async (t) => {
  await mkdir(SCREENS, { recursive: true });
  const work = await mkdtemp(join(tmpdir(), 'qf-e2e-'));
  const built = join(work, 'renderer');
  await buildRenderer(built);
  const server = await serveRenderer(built);
  const fake = await startFakeOllama();
  const imatrix = join(work, 'stories260K.imatrix.gguf');
  await writeFixtureImatrix(imatrix);
  const env: Env = { base: server.url, fake, work, imatrix };
  try {
    await t.test('English: pick → recommend → fit → progress → result → library', () => fitFlow(env, 'en'));
    await t.test('中文: drop → recommend → cancel → fit → result → library', () => fitFlow(env, 'zh-CN'));
  } finally {
    await fake.stop();
    await server.close();
    await rm(work, { recursive: true, force: true });
  }
});

// End-to-end: "Measure quality" on the Recommendation screen. The built renderer in headless Chromium,
// its API bridged to the real core (as app.test.ts); the measurement really runs in a job process
// with llama.cpp on stories260K: tick the type, Measure quality, progress with rate and ETA, then the
// table and the chart show "(measured)" values. English also cancels a second measurement (no work
// folder left) and shows what a machine without llama.cpp sees (the panel says why), and after a restart
// (a new bridge on the same userData) shows the kept figures without measuring. English and Chinese.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { formatMessage, msg } from '../../src-shared/messages/index.ts';
import type { Message } from '../../src-shared/message.ts';
import { startFakeOllama, type FakeOllama } from '../support/fake-ollama.ts';
import { llamaUnavailableReason } from '../../src-main/core/engine/llama.ts';
import { buildRenderer } from './build-renderer.ts';
import { serveRenderer } from './support/serve.ts';
import { createBridge } from './support/bridge.ts';
import { CHROMIUM, launchBridgedPage } from './support/page.ts';
import { englishOnScreen } from './support/english.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const FIXTURE = resolve(ROOT, '../shared/fixtures/stories260K.gguf');
const SCREENS = join(ROOT, 'test-results/screens');

function skipReason(): string | null {
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} is missing (apt-get install -y chromium)`;
  if (!existsSync(FIXTURE)) return `${FIXTURE} is missing (the shared fixtures)`;
  const llama = llamaUnavailableReason();
  return llama ? formatMessage(msg('engine.unavailable', { reason: llama }), 'en') : null;
}
const skip = skipReason();
if (skip) console.log(`# skipping the measure e2e: ${skip}`);

/** The work folders a measurement makes in its work folder's parent (the output folder here). */
const workFolders = async (dir: string): Promise<string[]> => (await readdir(dir)).filter((f) => f.startsWith('.quantfit-measure-'));

/** Unticks every type but `keep` (and ticks it). */
async function chooseOnly(page: Page, keep: string): Promise<void> {
  const boxes = page.getByTestId('measure').locator('input[type="checkbox"]');
  for (let i = 0; i < (await boxes.count()); i++) {
    const box = boxes.nth(i);
    if ((await box.getAttribute('data-testid')) === `measure-type-${keep}`) await box.check();
    else if (await box.isChecked()) await box.uncheck();
  }
}

async function measureFlow(base: string, fake: FakeOllama, work: string, lang: 'en' | 'zh-CN'): Promise<void> {
  const T = (code: string, params: Record<string, string | number | Message> = {}) => formatMessage({ code, params }, lang);
  const outDir = await mkdtemp(join(work, `out-${lang}-`));
  const bridge = await createBridge({ userDataDir: join(work, `app-${lang}`), outputDir: outDir, ollamaUrl: fake.url, language: 'en' });
  await bridge.invoke('setSettings', [{ language: 'system' }]);
  const { context, page } = await launchBridgedPage(bridge, join(work, `chromium-${lang}`), lang, { colorScheme: 'light' });
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  const shotAndCheck = async (name: string): Promise<void> => {
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: join(SCREENS, `${name}-${lang}.png`), fullPage: true });
    if (lang === 'zh-CN') assert.deepEqual(await englishOnScreen(page), [], `English sentences on the Chinese screen ${name}`);
  };
  try {
    await page.goto(base);
    bridge.nextPick = FIXTURE;
    await page.getByRole('button', { name: T('pick.button') }).click();
    await page.getByTestId('options-table').waitFor();

    // The panel: the recommended type and its neighbours ticked; the button usable (llama.cpp is here).
    const panel = page.getByTestId('measure');
    await panel.getByRole('heading', { name: T('measure.ui.title') }).waitFor();
    const recommended = await page.getByTestId('options-table').locator('tr.rec input[type="radio"]').getAttribute('value');
    assert.ok(recommended, 'a recommended type');
    const ticked = await panel.locator('input[type="checkbox"]:checked').evaluateAll((els) => els.map((e) => e.getAttribute('data-testid')));
    assert.ok(ticked.includes(`measure-type-${recommended}`), `the recommended ${recommended} is ticked: ${ticked.join(', ')}`);
    assert.ok(ticked.length >= 2 && ticked.length <= 3, `its neighbours too: ${ticked.join(', ')}`);
    assert.equal(await page.getByTestId(`measured-${recommended}`).count(), 0, 'nothing measured yet');

    // One type (each is a quantization plus an evaluation): Q8_0.
    await chooseOnly(page, 'Q8_0');
    const button = page.getByTestId('measure-button');
    await button.waitFor();
    assert.equal(await button.isDisabled(), false);
    await button.click();

    // Progress: which type, the step's bar, its rate and ETA; the fit waits meanwhile.
    await page.getByTestId('measure-note').getByText(T('measure.typeStart', { type: 'Q8_0', index: 1, count: 1 })).waitFor({ timeout: 60_000 });
    await page.getByTestId('measure-progress').waitFor({ timeout: 60_000 });
    await page.getByTestId('measure-rate').waitFor({ timeout: 60_000 });
    await page.getByTestId('measure-eta').waitFor({ timeout: 60_000 });
    assert.equal(await page.getByTestId('fit-button').isDisabled(), true, 'no fit while measuring');
    await page.getByTestId('fit-waits').getByText(T('measure.ui.fitWaits')).waitFor();
    assert.equal(await page.getByTestId('measure-cancel').isVisible(), true);
    await shotAndCheck('measure-1-progress');

    // Done: the table and the chart show this model's own figures.
    await page.getByTestId('measure-done').waitFor({ timeout: 400_000 });
    const cell = page.getByTestId('measured-Q8_0');
    await cell.waitFor();
    assert.match(await cell.innerText(), lang === 'en' ? /^KLD 0\.\d{4} · ppl (?:[+-][\d.,]+|0\.00)% \(measured\)$/ : /^KLD 0\.\d{4} · 困惑度 (?:[+-][\d.,]+|0\.00)%（实测）$/);
    assert.equal(await page.getByTestId('measured-point-Q8_0').count(), 1, 'a measured point in the chart');
    assert.equal(await page.getByTestId('fit-button').isDisabled(), false);
    assert.equal(await page.getByTestId('fit-waits').count(), 0);
    assert.deepEqual(await workFolders(outDir), [], 'the work folder is removed');
    const call = bridge.records.calls.find((c) => c.method === 'startMeasure')!;
    assert.deepEqual(call.args, [FIXTURE, ['Q8_0']]);
    // The chart plots the table's quantity: its measured point says the cell's words and numbers.
    assert.ok((await page.getByTestId('measured-point-Q8_0').locator('title').textContent())?.endsWith(await cell.innerText()), 'the chart\'s point is the table\'s figure');
    // Its y ticks, however many decades the toy model's figures span, never touch each other.
    const ticks = await page.getByTestId('y-tick').evaluateAll((els) => els.map((e) => e.getBoundingClientRect()).map((r) => [r.top, r.bottom] as const));
    assert.ok(ticks.length >= 2, 'y ticks');
    ticks.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < ticks.length; i++) assert.ok(ticks[i]![0] >= ticks[i - 1]![1], `y ticks ${i - 1} and ${i} overlap: ${JSON.stringify(ticks)}`);
    await page.getByTestId('quality-chart').screenshot({ path: join(SCREENS, `measure-chart-${lang}.png`) });
    await shotAndCheck('measure-2-done');

    // A new estimate (another context length) keeps the measured figures.
    await page.locator('#ctx-slider').focus();
    await page.keyboard.press('ArrowLeft');
    const calls = bridge.records.calls.length;
    for (let i = 0; i < 50 && bridge.records.calls.length === calls; i++) await page.waitForTimeout(100);
    await page.getByTestId('options-table').waitFor();
    await cell.waitFor();

    if (lang === 'en') {
      // A second measurement, followed from another model's screen (on a machine without llama.cpp,
      // as the bridge pretends: the panel says why) and cancelled there: its work folder is gone.
      await chooseOnly(page, 'Q4_0');
      await page.getByTestId('measure-button').click();
      await page.getByTestId('measure-progress').waitFor({ timeout: 60_000 });
      assert.equal((await workFolders(outDir)).length, 1, 'the work folder is in the output folder while it runs');
      const copy = join(work, 'stories-copy.gguf');
      await copyFile(FIXTURE, copy);
      bridge.engineMissing = msg('engine.unavailable.noPrebuilt', { platform: 'sunos-sparc' });
      bridge.nextPick = copy;
      await page.getByRole('button', { name: T('model.other') }).click();
      await page.getByTestId('measure-unavailable').getByText(T('measure.ui.unavailable', { reason: msg('measure.noEngine', { reason: bridge.engineMissing }) })).waitFor({ timeout: 60_000 });
      await page.getByTestId('measure-status').getByText(T('measure.ui.runningOther', { types: 'Q4_0', file: 'stories260K.gguf' })).waitFor();
      await page.getByTestId('measure-cancel').click();
      await page.getByTestId('measure-cancelled').getByText(T('measure.ui.cancelled')).waitFor({ timeout: 60_000 });
      assert.deepEqual(await workFolders(outDir), []);
      assert.equal(await page.getByTestId('measure-button').isDisabled(), true, 'no llama.cpp: the button stays off');
      assert.equal(bridge.records.calls.filter((c) => c.method === 'startMeasure').length, 2);
      await shotAndCheck('measure-3-cancelled');
      // Back on the measured model, its figures are still there and the cancelled type is not.
      bridge.nextPick = FIXTURE;
      await page.getByRole('button', { name: T('model.other') }).click();
      await cell.waitFor();
      assert.equal(await page.getByTestId('measured-Q4_0').count(), 0);
    } else {
      // A failure is said where the button is: the model file went away after it was opened.
      const gone = join(work, 'stories-gone.gguf');
      await copyFile(FIXTURE, gone);
      bridge.nextPick = gone;
      await page.getByRole('button', { name: T('model.other') }).click();
      await page.getByTestId('model-source').or(page.getByText('stories-gone.gguf')).first().waitFor();
      await page.getByTestId('measure-button').and(page.locator(':not([disabled])')).waitFor();
      await rm(gone);
      await page.getByTestId('measure-button').click();
      await page.getByTestId('measure-error').getByText(T('measure.ui.failed', { message: T('app.ipc.invalid', { where: msg('app.where.model'), why: msg('app.check.missing', { path: gone }) }) })).waitFor();
      assert.equal(await page.getByTestId('measure-button').isDisabled(), false, 'it can be tried again');
      await shotAndCheck('measure-4-error');
    }
    assert.deepEqual(problems, [], 'no page errors');
  } finally {
    await context.close();
    await bridge.close();
  }
}

/** The app started again on the same userData: the model shows its kept figures without measuring. */
async function reopenFlow(base: string, fake: FakeOllama, work: string, lang: 'en' | 'zh-CN'): Promise<void> {
  const T = (code: string) => formatMessage({ code, params: {} }, lang);
  const bridge = await createBridge({ userDataDir: join(work, `app-${lang}`), outputDir: await mkdtemp(join(work, 'out-again-')), ollamaUrl: fake.url, language: lang });
  const { context, page } = await launchBridgedPage(bridge, join(work, `chromium-again-${lang}`), lang, { colorScheme: 'light' });
  try {
    await page.goto(base);
    bridge.nextPick = FIXTURE;
    await page.getByRole('button', { name: T('pick.button') }).click();
    const cell = page.getByTestId('measured-Q8_0');
    await cell.waitFor({ timeout: 30_000 });
    assert.match(await cell.innerText(), lang === 'en' ? /\(measured\)$/ : /（实测）$/);
    assert.equal(await page.getByTestId('measured-point-Q8_0').count(), 1, 'a measured point in the chart');
    assert.equal(bridge.records.calls.filter((c) => c.method === 'startMeasure').length, 0, 'nothing measured again');
    // The cancelled type was never kept.
    assert.equal(await page.getByTestId('measured-Q4_0').count(), 0);
  } finally {
    await context.close();
    await bridge.close();
  }
}

test('e2e: Measure quality fills the table and the chart with this model\'s own figures', { skip: skip ?? false, timeout: 1_200_000 }, async (t) => {
  await mkdir(SCREENS, { recursive: true });
  const work = await mkdtemp(join(tmpdir(), 'qf-e2e-measure-'));
  const built = join(work, 'renderer');
  await buildRenderer(built);
  const server = await serveRenderer(built);
  const fake = await startFakeOllama();
  try {
    await t.test('English: measure, progress, measured values, cancel, no llama.cpp', () => measureFlow(server.url, fake, work, 'en'));
    await t.test('English: after a restart the figures are still there', () => reopenFlow(server.url, fake, work, 'en'));
    await t.test('中文: measure, progress, measured values', () => measureFlow(server.url, fake, work, 'zh-CN'));
  } finally {
    await fake.stop();
    await server.close();
    await rm(work, { recursive: true, force: true });
  }
});

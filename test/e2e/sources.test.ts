// End-to-end for the model sources: the built renderer in headless Chromium over the real core, the
// Ollama test server (an F16 and a Q8_0 model) and the Hugging Face test server. In English and in
// Chinese: the "From Ollama" list (best source / already quantized), "Use" opens the model's blob in
// place with its default name; the hub box lists a repo's files with the F16 file preselected,
// downloads it into the hub cache and opens it; the settings' model hubs section. Screenshots go to
// test-results/screens/sources-*.png.
import { englishOnScreen } from './support/english.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { formatMessage } from '../../src-shared/messages/index.ts';
import { quantizeFile } from '../../src-main/core/quant/pipeline.ts';
import { parseFtype } from '../../src-main/core/quant/ftypes.ts';
import { startFakeOllama } from '../support/fake-ollama.ts';
import { startFakeHfHub } from '../support/fake-hf-hub.ts';
import { writeTinyLlama } from '../jobs/support.ts';
import { writeLlamaFolder } from '../support/hf-folders.ts';
import { readdir } from 'node:fs/promises';
import { buildRenderer } from './build-renderer.ts';
import { serveRenderer } from './support/serve.ts';
import { createBridge } from './support/bridge.ts';
import { CHROMIUM, launchBridgedPage } from './support/page.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCREENS = join(ROOT, 'test-results/screens');
const skip = existsSync(CHROMIUM) ? null : `${CHROMIUM} is missing (apt-get install -y chromium)`;
if (skip) console.log(`# skipping sources e2e: ${skip}`);

async function shot(page: Page, name: string): Promise<void> {
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(SCREENS, `${name}.png`), fullPage: true });
  if (name.endsWith('zh-CN')) assert.deepEqual(await englishOnScreen(page), [], `English sentences on the Chinese screen ${name}`);
}

test('e2e: models from Ollama and from a hub, in English and Chinese', { skip: skip ?? false, timeout: 300_000 }, async (t) => {
  await mkdir(SCREENS, { recursive: true });
  const work = await mkdtemp(join(tmpdir(), 'qf-e2e-src-'));
  const built = join(work, 'renderer');
  await buildRenderer(built);
  const server = await serveRenderer(built);
  const fake = await startFakeOllama();
  const hub = await startFakeHfHub();
  try {
    const f16 = await writeTinyLlama(work, 'tiny-f16', { type: 'F16', nEmbd: 256, nFf: 512, nVocab: 256, seed: 5 });
    const q8 = join(work, 'tiny-q8_0.gguf');
    await quantizeFile(f16, q8, { ftype: parseFtype('Q8_0') }, { threads: 1 });
    await fake.installModel('tiny:fp16', { gguf: f16, template: '{{ .Prompt }}', system: 'Be brief.' });
    await fake.installModel('tiny:q8_0', { gguf: q8 });
    fake.library.set('pulled:fp16', { gguf: f16 });
    const folder = await writeLlamaFolder(join(work, 'Tiny-Llama'));
    const folderFiles = [{ path: 'README.md', data: Buffer.from('# tiny') }];
    for (const name of await readdir(folder)) folderFiles.push({ path: name, data: await readFile(join(folder, name)) });
    hub.addRepo('org/Tiny-Llama', { files: folderFiles });
    hub.addRepo('org/Tiny-GGUF', { files: [{ path: 'tiny-f16.gguf', data: await readFile(f16) }, { path: 'tiny-q8_0.gguf', data: await readFile(q8) }, { path: 'README.md', data: Buffer.from('# tiny') }] });

    for (const lang of ['en', 'zh-CN'] as const) {
      await t.test(lang, async () => {
        const T = (code: string, params: Record<string, string | number> = {}) => formatMessage({ code, params }, lang);
        const userData = await mkdtemp(join(work, `user-${lang}-`));
        const outDir = await mkdtemp(join(work, `out-${lang}-`));
        const bridge = await createBridge({ userDataDir: join(userData, 'app'), outputDir: outDir, ollamaUrl: fake.url, language: 'en', hfEndpoint: hub.url, hfCache: join(work, `hf-cache-${lang}`) });
        await bridge.invoke('setSettings', [{ language: 'system' }]);
        const { context, page } = await launchBridgedPage(bridge, join(userData, 'chromium'), lang, { colorScheme: 'light' });
        const problems: string[] = [];
        try {
          page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
          await page.goto(server.url);

          // From Ollama: both models, the F16 one marked the best source, the Q8_0 one already quantized.
          const ollama = page.getByTestId('source-ollama');
          await ollama.getByRole('heading', { name: T('sources.ui.ollamaTitle') }).waitFor();
          const rows = ollama.getByTestId('ollama-source');
          await rows.nth(1).waitFor();
          const row = (name: string) => rows.filter({ hasText: name });
          assert.match(await row('tiny:fp16').innerText(), new RegExp(`tiny:fp16[\\s\\S]*F16[\\s\\S]*${T('sources.ui.best')}`));
          assert.match(await row('tiny:q8_0').innerText(), new RegExp(`tiny:q8_0[\\s\\S]*Q8_0[\\s\\S]*${T('sources.ui.quantized')}`));

          // Pull through Ollama: the pulled model joins the list.
          if (lang === 'en') {
            await ollama.getByTestId('ollama-pull-name').fill('pulled:fp16');
            await ollama.getByRole('button', { name: T('sources.ui.pull') }).click();
            await ollama.getByText('pulled:fp16').waitFor();
            assert.ok(fake.requests.some((r) => r.path === '/api/pull'));
          }

          // From a hub: the repo's files with sizes, the F16 file picked.
          const hubBox = page.getByTestId('source-hub');
          await hubBox.getByTestId('hub-ref').fill('https://huggingface.co/org/Tiny-GGUF');
          await hubBox.getByRole('button', { name: T('sources.ui.list') }).click();
          const files = hubBox.getByTestId('hub-files');
          await files.getByText('tiny-q8_0.gguf').waitFor();
          const checked = await files.locator('input:checked').count();
          assert.equal(checked, 1);
          assert.equal(await files.locator('li', { has: page.locator('input:checked') }).locator('.name').innerText(), 'tiny-f16.gguf');
          await shot(page, `sources-1-home-${lang}`);

          // Download → the model screen, named from the repo file, with where it came from.
          await hubBox.getByTestId('hub-download').click();
          await page.getByTestId('model-source').waitFor();
          assert.match(await page.getByTestId('model-source').innerText(), /hf:org\/Tiny-GGUF/);
          await page.getByTestId('recommended').waitFor();
          await shot(page, `sources-2-model-from-hub-${lang}`);

          // Back home, "Use" the Ollama F16 model: read in place; default name from its tag.
          await page.getByTestId('nav-home').click();
          await row('tiny:fp16').getByRole('button', { name: T('sources.ui.use') }).click();
          await page.getByTestId('model-source').getByText('ollama:tiny:fp16').waitFor();
          await page.getByTestId('recommended').waitFor();
          const name = await page.getByTestId('model-name').inputValue();
          assert.match(name, /^tiny:[a-z0-9_]+$/);
          await shot(page, `sources-3-model-from-ollama-${lang}`);

          // A safetensors repo: the whole model folder is picked (not the README), downloaded and opened.
          if (lang === 'en') {
            await page.getByTestId('nav-home').click();
            await hubBox.getByTestId('hub-ref').fill('hf:org/Tiny-Llama');
            await hubBox.getByRole('button', { name: T('sources.ui.list') }).click();
            await hubBox.getByText(T('sources.ui.folderNote')).waitFor();
            const picked = await files.locator('li', { has: page.locator('input:checked') }).locator('.name').allInnerTexts();
            assert.deepEqual(picked.sort(), (await readdir(folder)).sort());
            await hubBox.getByTestId('hub-download').click();
            await page.getByTestId('model-source').getByText('hf:org/Tiny-Llama').waitFor();
            await page.getByTestId('recommended').waitFor();
            assert.match(await page.getByTestId('model-name').inputValue(), /^tiny-llama:[a-z0-9_]+$/);
            await shot(page, `sources-5-model-from-hub-folder-${lang}`);
          }

          // Settings: the model hubs' endpoints and tokens.
          await page.getByTestId('nav-settings').click();
          await page.getByTestId('settings-hubs').getByRole('heading', { name: T('sources.settings.title') }).waitFor();
          await shot(page, `sources-4-settings-${lang}`);
          // A token is write-only: typed once, then only "saved" shows; the reply never carries it.
          const secret = `hf_e2eSECRET${lang.length}`;
          await page.getByTestId('hf-token').fill(secret);
          await page.getByTestId('hf-token').press('Enter');
          await page.getByTestId('hf-token-clear').waitFor();
          assert.equal(await page.getByTestId('hf-token').inputValue(), '');
          const reply = await bridge.invoke('getSettings', []);
          assert.ok(reply.ok && (reply.value as { hfTokenSet: boolean }).hfTokenSet);
          assert.ok(!JSON.stringify(reply).includes(secret) && !(await page.content()).includes(secret));
          await page.getByTestId('hf-token-clear').click();
          await page.getByTestId('hf-token-clear').waitFor({ state: 'detached' });
          const after = await bridge.invoke('getSettings', []);
          assert.ok(after.ok && !(after.value as { hfTokenSet: boolean }).hfTokenSet);
          assert.deepEqual(problems, []);
        } finally {
          await context.close();
          await bridge.close();
        }
      });
    }
  } finally {
    await fake.stop();
    await hub.stop();
    await server.close();
    await rm(work, { recursive: true, force: true });
  }
});

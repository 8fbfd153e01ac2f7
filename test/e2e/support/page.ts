// Headless Chromium showing the renderer over the e2e bridge, wired as the preload wires the real window.

import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { pageBridgeScript, type Bridge } from './bridge.ts';

export const CHROMIUM = '/usr/bin/chromium';

/** A persistent Chromium profile in `profileDir`, its page invoking `bridge` and receiving its job messages. */
export async function launchBridgedPage(bridge: Bridge, profileDir: string, lang: 'en' | 'zh-CN', opts: { colorScheme?: 'light' } = {}): Promise<{ context: BrowserContext; page: Page }> {
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM, headless: true, locale: lang === 'en' ? 'en-US' : 'zh-CN', viewport: { width: 1280, height: 900 }, ...opts,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
  try {
    await context.exposeBinding('__quantfitInvoke', (_s, method: string, args: unknown[]) => bridge.invoke(method, args));
    await context.addInitScript(pageBridgeScript());
    const page = context.pages()[0] ?? (await context.newPage());
    bridge.onMessage((m) => {
      void page.evaluate((msg) => (window as unknown as { __quantfitDeliver: (x: unknown) => void }).__quantfitDeliver(msg), m).catch(() => undefined);
    });
    return { context, page };
  } catch (err) {
    await context.close();
    throw err;
  }
}

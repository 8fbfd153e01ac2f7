import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appFilePath, buildWindowOptions, contentSecurityPolicy, devServerUrl, fitBoundsToDisplays, isAllowedNavigation, MIN_SIZE } from '../../src-main/electron/window-options.ts';
import { isAllowedExternalUrl } from '../../src-main/electron/external-links.ts';
import { buildMenuTemplate, type MenuItemSpec } from '../../src-main/electron/menu.ts';
import { EXTERNAL_LINKS } from '../../src-shared/contract.ts';

test('window options: secure web preferences whatever the saved state', () => {
  const o = buildWindowOptions({ preloadPath: '/app/preload/index.cjs', state: { x: 10, y: 20, width: 300, height: 200, maximized: false }, dark: true });
  assert.equal(o.webPreferences.contextIsolation, true);
  assert.equal(o.webPreferences.sandbox, true);
  assert.equal(o.webPreferences.nodeIntegration, false);
  assert.equal(o.webPreferences.nodeIntegrationInSubFrames, false);
  assert.equal(o.webPreferences.webSecurity, true);
  assert.equal(o.webPreferences.allowRunningInsecureContent, false);
  assert.equal(o.webPreferences.webviewTag, false);
  assert.equal(o.webPreferences.navigateOnDragDrop, false);
  assert.equal(o.webPreferences.preload, '/app/preload/index.cjs');
  assert.equal(o.show, false);
  // Too-small saved sizes are raised to the minimum; the position is kept.
  assert.equal(o.width, MIN_SIZE.width);
  assert.equal(o.height, MIN_SIZE.height);
  assert.equal(o.x, 10);
  assert.equal(o.y, 20);
  assert.notEqual(o.backgroundColor, buildWindowOptions({ preloadPath: 'p', state: null, dark: false }).backgroundColor);
});

test('window options: no saved state means default size and no position', () => {
  const o = buildWindowOptions({ preloadPath: 'p', state: null, dark: false });
  assert.equal(o.x, undefined);
  assert.equal(o.y, undefined);
  assert.ok(o.width >= MIN_SIZE.width && o.height >= MIN_SIZE.height);
});

test('CSP: packaged policy allows only self, no eval, no inline script, no remote connects', () => {
  const csp = contentSecurityPolicy();
  const d = Object.fromEntries(csp.split('; ').map((x) => [x.split(' ')[0], x.split(' ').slice(1).join(' ')]));
  assert.equal(d['default-src'], "'self'");
  assert.equal(d['script-src'], "'self'");
  assert.equal(d['connect-src'], "'self'");
  assert.equal(d['object-src'], "'none'");
  assert.equal(d['frame-ancestors'], "'none'");
  assert.doesNotMatch(csp, /unsafe-eval/);
  assert.doesNotMatch(d['script-src']!, /unsafe-inline/);
  assert.doesNotMatch(csp, /https?:/);
});

test('CSP: development adds exactly the dev server origin and its websocket', () => {
  const csp = contentSecurityPolicy('http://localhost:5173/');
  assert.match(csp, /script-src 'self' http:\/\/localhost:5173(;|$)/);
  assert.match(csp, /connect-src 'self' http:\/\/localhost:5173 ws:\/\/localhost:5173/);
  assert.doesNotMatch(csp, /unsafe-eval/);
});

test('navigation: only the app page itself', () => {
  const app = 'app://quantfit/index.html';
  assert.equal(isAllowedNavigation('app://quantfit/index.html', app), true);
  assert.equal(isAllowedNavigation('app://quantfit/index.html#library', app), true);
  assert.equal(isAllowedNavigation('app://quantfit/other.html', app), false);
  assert.equal(isAllowedNavigation('https://ollama.com/download', app), false);
  assert.equal(isAllowedNavigation('file:///etc/passwd', app), false);
  assert.equal(isAllowedNavigation('not a url', app), false);
  const dev = 'http://localhost:5173/';
  assert.equal(isAllowedNavigation('http://localhost:5173/', dev), true);
  assert.equal(isAllowedNavigation('http://localhost:5174/', dev), false);
  assert.equal(isAllowedNavigation('http://evil.example/', dev), false);
});

test('saved bounds: kept on a visible display, position dropped when the display is gone', () => {
  const displays = [{ x: 0, y: 0, width: 1920, height: 1080 }];
  assert.deepEqual(fitBoundsToDisplays({ x: 100, y: 50, width: 1000, height: 700, maximized: true }, displays), { x: 100, y: 50, width: 1000, height: 700, maximized: true });
  assert.deepEqual(fitBoundsToDisplays({ x: 3000, y: 50, width: 1000, height: 700, maximized: false }, displays), { width: 1000, height: 700, maximized: false });
  assert.deepEqual(fitBoundsToDisplays({ x: 100, y: -500, width: 1000, height: 700, maximized: false }, displays), { width: 1000, height: 700, maximized: false });
  assert.equal(fitBoundsToDisplays(null, displays), null);
  // A second monitor to the right makes the far position valid.
  const two = [...displays, { x: 1920, y: 0, width: 2560, height: 1440 }];
  assert.equal(fitBoundsToDisplays({ x: 3000, y: 50, width: 1000, height: 700, maximized: false }, two)?.x, 3000);
});

test('external links: only the allow-listed https pages', () => {
  assert.equal(isAllowedExternalUrl(EXTERNAL_LINKS.ollamaDownload), true);
  assert.equal(isAllowedExternalUrl(EXTERNAL_LINKS.docs), true);
  assert.equal(isAllowedExternalUrl('https://ollama.com/download/linux'), true);
  assert.equal(isAllowedExternalUrl('http://ollama.com/download'), false);
  assert.equal(isAllowedExternalUrl('https://ollama.com/downloads-evil'), false);
  assert.equal(isAllowedExternalUrl('https://ollama.com.evil.example/download'), false);
  assert.equal(isAllowedExternalUrl('https://user:pw@ollama.com/download'), false);
  assert.equal(isAllowedExternalUrl('https://ollama.com:8443/download'), false);
  assert.equal(isAllowedExternalUrl('file:///etc/passwd'), false);
  assert.equal(isAllowedExternalUrl('javascript:alert(1)'), false);
  assert.equal(isAllowedExternalUrl('https://github.com/someone-else/repo'), false);
});

test('menu: open-model command with a shortcut, dev-only items only in development', () => {
  const flat = (items: MenuItemSpec[]): MenuItemSpec[] => items.flatMap((i) => [i, ...flat(i.submenu ?? [])]);
  const prod = flat(buildMenuTemplate({ platform: 'linux', dev: false, appName: 'Quantfit' }));
  const open = prod.find((i) => i.command === 'open-model');
  assert.equal(open?.accelerator, 'CmdOrCtrl+O');
  assert.equal(prod.some((i) => i.role === 'toggleDevTools'), false);
  assert.equal(prod.some((i) => i.role === 'quit'), true);
  const dev = flat(buildMenuTemplate({ platform: 'linux', dev: true, appName: 'Quantfit' }));
  assert.equal(dev.some((i) => i.role === 'toggleDevTools'), true);
  const mac = buildMenuTemplate({ platform: 'darwin', dev: false, appName: 'Quantfit' });
  assert.equal(mac[0]?.label, 'Quantfit');
});

test('dev server URL: only unpackaged, only a local http(s) server', () => {
  assert.equal(devServerUrl('http://localhost:5173', false), 'http://localhost:5173');
  assert.equal(devServerUrl('http://127.0.0.1:5173/', false), 'http://127.0.0.1:5173/');
  assert.equal(devServerUrl('http://[::1]:5173', false), 'http://[::1]:5173');
  // A packaged app ignores the variable entirely.
  assert.equal(devServerUrl('http://localhost:5173', true), undefined);
  // Never another machine, another scheme, credentials, or garbage.
  assert.equal(devServerUrl('https://evil.example/', false), undefined);
  assert.equal(devServerUrl('http://localhost.evil.example:5173', false), undefined);
  assert.equal(devServerUrl('http://10.0.0.2:5173', false), undefined);
  assert.equal(devServerUrl('file:///tmp/index.html', false), undefined);
  assert.equal(devServerUrl('http://user:pw@localhost:5173', false), undefined);
  assert.equal(devServerUrl('not a url', false), undefined);
  assert.equal(devServerUrl(undefined, false), undefined);
  assert.equal(devServerUrl('', false), undefined);
});

test('app:// requests: only files under the renderer folder of the app host', () => {
  const root = '/opt/quantfit/out/renderer';
  assert.equal(appFilePath('app://quantfit/index.html', root, 'quantfit'), `${root}/index.html`);
  assert.equal(appFilePath('app://quantfit/assets/a%20b.js', root, 'quantfit'), `${root}/assets/a b.js`);
  assert.equal(appFilePath('app://quantfit/', root, 'quantfit'), root);
  // The URL parser folds plain and dot-encoded `..` away; an encoded slash is caught after decoding.
  assert.equal(appFilePath('app://quantfit/../../etc/passwd', root, 'quantfit'), `${root}/etc/passwd`);
  assert.equal(appFilePath('app://quantfit/%2e%2e/%2e%2e/etc/passwd', root, 'quantfit'), `${root}/etc/passwd`);
  assert.equal(appFilePath('app://quantfit/..%2f..%2f..%2fetc%2fpasswd', root, 'quantfit'), null);
  assert.equal(appFilePath('app://quantfit/x%2f..%2f..%2frenderer-evil/a.js', root, 'quantfit'), null);
  assert.equal(appFilePath('app://quantfit/a%00.js', root, 'quantfit'), null);
  assert.equal(appFilePath('app://quantfit/%E0%A4%A', root, 'quantfit'), null);
  assert.equal(appFilePath('app://other/index.html', root, 'quantfit'), null);
  assert.equal(appFilePath('not a url', root, 'quantfit'), null);
});

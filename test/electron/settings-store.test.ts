import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_SETTINGS } from '../../src-shared/contract.ts';
import { DEFAULT_STORED_SETTINGS } from '../../src-main/electron/settings-schema.ts';
import { parseStoredState, SettingsStore, SETTINGS_FILE } from '../../src-main/electron/settings-store.ts';

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'qf-settings-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('settings: a missing file gives the defaults', () =>
  withDir(async (dir) => {
    const s = await SettingsStore.open(dir);
    assert.deepEqual(s.settings, DEFAULT_STORED_SETTINGS);
    assert.equal(s.window, null);
  }));

test('settings: update persists atomically and survives a reopen', () =>
  withDir(async (dir) => {
    const s = await SettingsStore.open(dir);
    await s.update({ theme: 'dark', threads: 8, outputDir: dir });
    await s.setWindow({ x: 5, y: 6, width: 900, height: 700, maximized: true });
    const again = await SettingsStore.open(dir);
    assert.deepEqual(again.settings, { ...DEFAULT_STORED_SETTINGS, theme: 'dark', threads: 8, outputDir: dir });
    assert.deepEqual(again.window, { x: 5, y: 6, width: 900, height: 700, maximized: true });
    // Only the settings file remains: every temp file was renamed over it.
    assert.deepEqual(await readdir(dir), [SETTINGS_FILE]);
    assert.equal(JSON.parse(await readFile(join(dir, SETTINGS_FILE), 'utf8')).version, 1);
  }));

test('settings: writes land in order (the last update wins on disk)', () =>
  withDir(async (dir) => {
    const s = await SettingsStore.open(dir);
    await Promise.all([1, 2, 3, 4, 5].map((n) => s.update({ threads: n })));
    await s.flush();
    assert.equal((await SettingsStore.open(dir)).settings.threads, 5);
  }));

test('settings: a corrupt file falls back to defaults', () =>
  withDir(async (dir) => {
    await writeFile(join(dir, SETTINGS_FILE), '{ not json');
    const s = await SettingsStore.open(dir);
    assert.deepEqual(s.settings, DEFAULT_STORED_SETTINGS);
  }));

test('settings: hand-edited bad values fall back per field, good ones are kept', () => {
  const st = parseStoredState(JSON.stringify({
    settings: { theme: 'purple', language: 'zh-CN', threads: -3, ollamaHost: 'ftp://x', outputDir: 'relative/dir', extra: 1 },
    window: { x: 1, y: 2, width: 'wide', height: 600 },
  }));
  assert.deepEqual(st.settings, { ...DEFAULT_STORED_SETTINGS, language: 'zh-CN' });
  assert.equal(st.window, null);
  const st2 = parseStoredState(JSON.stringify({ settings: { ollamaHost: 'http://localhost:11434/' }, window: { width: 800, height: 600 } }));
  assert.equal(st2.settings.ollamaHost, 'http://localhost:11434');
  assert.deepEqual(st2.window, { width: 800, height: 600, maximized: false });
});

test('settings: hub endpoints are http(s) URLs or empty (the environment decides); tokens are one printable word or empty', async () => {
  const { checkHubEndpoint, checkHubToken } = await import('../../src-main/electron/settings-schema.ts');
  assert.deepEqual(checkHubEndpoint(''), { ok: true, value: '' });
  assert.deepEqual(checkHubEndpoint('https://hf-mirror.com/'), { ok: true, value: 'https://hf-mirror.com' });
  assert.equal(checkHubEndpoint('ftp://x').ok, false);
  assert.equal(checkHubEndpoint('https://user:pw@hf-mirror.com').ok, false);
  assert.deepEqual(checkHubToken(' hf_abc123 '), { ok: true, value: 'hf_abc123' });
  assert.deepEqual(checkHubToken(''), { ok: true, value: '' });
  assert.equal(checkHubToken('two words').ok, false);
  assert.equal(checkHubToken(42).ok, false);
  assert.equal(checkHubToken('x'.repeat(513)).ok, false);
});

test('settings: the renderer\'s view carries no token; a token set and cleared round-trips on the main side', () =>
  withDir(async (dir) => {
    const { validateArgs } = await import('../../src-main/electron/ipc-validate.ts');
    const { hubSettingsOf } = await import('../../src-main/electron/source-services.ts');
    const secret = 'hf_SECRETtoken123';
    const s = await SettingsStore.open(dir);
    assert.deepEqual(s.view, DEFAULT_SETTINGS);
    // As the IPC handler does: validate the patch, apply it, reply with the view.
    const [patch] = await validateArgs('setSettings', [{ hfToken: ` ${secret} `, modelscopeToken: 'ms-abc' }]);
    const reply = await s.update(patch);
    assert.deepEqual(reply, { ...DEFAULT_SETTINGS, hfTokenSet: true, modelscopeTokenSet: true });
    assert.ok(!JSON.stringify(reply).includes(secret) && !JSON.stringify(s.view).includes('ms-abc'));
    assert.ok(!('hfToken' in reply) && !('modelscopeToken' in reply));
    // The main side still has it, for the downloads that need it, and after a restart.
    const again = await SettingsStore.open(dir);
    assert.equal(again.settings.hfToken, secret);
    assert.deepEqual(hubSettingsOf(again.settings), { hfToken: secret, modelscopeToken: 'ms-abc' });
    assert.equal(again.view.hfTokenSet, true);
    // The quantizer's job host gets no token: downloads run before the job, on this side.
    const { resolveJobInput } = await import('../../src-main/electron/services.ts');
    const input = resolveJobInput({ modelPath: '/m/x.gguf', type: 'Q4_K_M', contextLength: null, outputDir: null, modelName: 'x:q4_k_m', register: true, force: false, imatrixPath: null, predictedBytes: null }, again.settings);
    assert.ok(!JSON.stringify(input).includes(secret) && !JSON.stringify(input).includes('ms-abc'));
    // '' clears: the environment decides again.
    const cleared = await again.update((await validateArgs('setSettings', [{ hfToken: '' }]))[0]);
    assert.deepEqual(cleared, { ...DEFAULT_SETTINGS, modelscopeTokenSet: true });
    assert.equal((await SettingsStore.open(dir)).settings.hfToken, '');
    assert.deepEqual(hubSettingsOf((await SettingsStore.open(dir)).settings), { modelscopeToken: 'ms-abc' });
  }));

// The settings file in userData: settings plus the window's last bounds, as one JSON document.
// Loading never fails (a missing, corrupt or hand-edited file falls back per field to defaults);
// saving writes a temp file beside it and renames, so a crash never leaves half a file.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { JsonFileWriter } from './json-file.ts';
import type { Settings, SettingsPatch } from '../../src-shared/contract.ts';
import { DEFAULT_STORED_SETTINGS, SETTINGS_CHECKS, SETTINGS_KEYS, settingsView, type StoredSettings } from './settings-schema.ts';
import type { WindowState } from './window-options.ts';

export const SETTINGS_FILE = 'settings.json';
const FORMAT_VERSION = 1;

export interface StoredState {
  settings: StoredSettings;
  window: WindowState | null;
}

function sanitizeSettings(raw: unknown): StoredSettings {
  const out: StoredSettings = { ...DEFAULT_STORED_SETTINGS };
  if (typeof raw !== 'object' || raw === null) return out;
  const rec = raw as Record<string, unknown>;
  for (const key of SETTINGS_KEYS) {
    if (!(key in rec)) continue;
    const check = SETTINGS_CHECKS[key](rec[key]);
    if (check.ok) (out as unknown as Record<string, unknown>)[key] = check.value;
  }
  return out;
}

function sanitizeWindow(raw: unknown): WindowState | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const r = raw as Record<string, unknown>;
  const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && Math.abs(v) < 100_000;
  if (!num(r.width) || !num(r.height) || r.width <= 0 || r.height <= 0) return null;
  const state: WindowState = { width: r.width, height: r.height, maximized: r.maximized === true };
  if (num(r.x) && num(r.y)) {
    state.x = r.x;
    state.y = r.y;
  }
  return state;
}

export function parseStoredState(text: string | null): StoredState {
  if (text === null) return { settings: { ...DEFAULT_STORED_SETTINGS }, window: null };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { settings: { ...DEFAULT_STORED_SETTINGS }, window: null };
  }
  const rec = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  return { settings: sanitizeSettings(rec.settings), window: sanitizeWindow(rec.window) };
}

export class SettingsStore {
  private state: StoredState = { settings: { ...DEFAULT_STORED_SETTINGS }, window: null };
  /** Writes run one after another so an older snapshot never lands after a newer one. */
  private readonly file: JsonFileWriter;

  private constructor(readonly path: string) {
    this.file = new JsonFileWriter(path);
  }

  static async open(userDataDir: string): Promise<SettingsStore> {
    const store = new SettingsStore(join(userDataDir, SETTINGS_FILE));
    let text: string | null = null;
    try {
      text = await readFile(store.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    store.state = parseStoredState(text);
    return store;
  }

  /** Main side only: includes the hub tokens. */
  get settings(): StoredSettings {
    return { ...this.state.settings };
  }

  /** What the renderer gets: no token, only whether one is set. */
  get view(): Settings {
    return settingsView(this.state.settings);
  }

  get window(): WindowState | null {
    return this.state.window ? { ...this.state.window } : null;
  }

  /** Apply an already-validated patch ('' clears a token) and persist; returns the renderer's view. */
  async update(patch: SettingsPatch): Promise<Settings> {
    this.state = { ...this.state, settings: { ...this.state.settings, ...patch } };
    await this.save();
    return this.view;
  }

  async setWindow(state: WindowState): Promise<void> {
    this.state = { ...this.state, window: { ...state } };
    await this.save();
  }

  /** Resolves once every write requested so far is on disk. */
  flush(): Promise<void> {
    return this.file.flush();
  }

  private save(): Promise<void> {
    return this.file.write({ version: FORMAT_VERSION, ...this.state }, 2);
  }
}

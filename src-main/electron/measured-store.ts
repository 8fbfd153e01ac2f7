// "Measure quality"'s results kept across restarts: a JSON file in userData beside the settings,
// one entry per (model identity, calibration text). The identity is the reference cache's
// (modelIdentity: a file's real path, size and mtime; a folder's model files), so a changed model
// makes a new key and its old figures are never shown for it. Loading never fails (a missing or
// corrupt file, or a bad entry, is dropped); saving writes a temp file and renames it.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { JsonFileWriter } from './json-file.ts';
import type { JobMessage, MeasuredByType } from '../../src-shared/contract.ts';
import type { MeasuredQuality } from '../../src-shared/types/advisor.ts';
import { modelIdentity } from '../core/engine/model-input.ts';
import { readCalibrationText } from '../core/engine/text.ts';
import { findFtype } from '../core/quant/ftypes.ts';

export const MEASURED_FILE = 'measured-quality.json';
const FORMAT_VERSION = 1;
/** Models remembered at most (the oldest saved go first): a few hundred bytes each. */
export const MEASURED_MODELS_MAX = 200;

interface Entry {
  /** The model's real path (a file or a folder): a new key for the same model replaces the old one. */
  model: string;
  savedAt: number;
  measured: MeasuredByType;
}

export interface MeasuredKey {
  key: string;
  model: string;
}

/** The key of `modelPath`'s figures over calibration text `text`: its identity and the text's hash. */
export async function measuredKey(modelPath: string, text: string): Promise<MeasuredKey> {
  const identity = await modelIdentity(modelPath);
  const key = createHash('sha256')
    .update(JSON.stringify({ format: FORMAT_VERSION, ...identity, text: createHash('sha256').update(text).digest('hex') }))
    .digest('hex');
  return { key, model: String(identity.file ?? identity.folder) };
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function measuredQuality(raw: unknown): MeasuredQuality | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const r = raw as Record<string, unknown>;
  const { kld, kldP99, ppl, pplReference, sameTopP, tokens, imatrix } = r;
  if (!finite(kld) || !finite(kldP99) || !finite(ppl) || !finite(pplReference) || !finite(sameTopP) || !finite(tokens)) return null;
  if (typeof imatrix !== 'boolean') return null;
  return { kld, kldP99, ppl, pplReference, sameTopP, tokens, imatrix };
}

function sanitizeEntry(raw: unknown): Entry | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const r = raw as Record<string, unknown>;
  if (typeof r.model !== 'string' || !finite(r.savedAt) || typeof r.measured !== 'object' || r.measured === null) return null;
  const measured: Record<string, MeasuredQuality> = {};
  for (const [type, q] of Object.entries(r.measured as Record<string, unknown>)) {
    const good = findFtype(type) ? measuredQuality(q) : null;
    if (good) measured[type] = good;
  }
  return Object.keys(measured).length > 0 ? { model: r.model, savedAt: r.savedAt, measured } : null;
}

/** The entries of a store file's text; anything unreadable is left out. */
export function parseMeasuredStore(text: string | null): Map<string, Entry> {
  const out = new Map<string, Entry>();
  if (text === null) return out;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return out;
  }
  const entries = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>).entries : null;
  if (typeof entries !== 'object' || entries === null) return out;
  for (const [key, value] of Object.entries(entries)) {
    const entry = /^[0-9a-f]{64}$/.test(key) ? sanitizeEntry(value) : null;
    if (entry) out.set(key, entry);
  }
  return out;
}

export class MeasuredStore {
  private entries = new Map<string, Entry>();
  /** Running measure jobs: the key their figures go under, taken when they started. */
  private readonly pending = new Map<string, MeasuredKey>();

  /** `calibrationTextPath`: the text the measure jobs score over (asked each time: it says which figures apply). */
  private readonly file: JsonFileWriter;

  private constructor(
    readonly path: string,
    private readonly calibrationTextPath: () => string,
  ) {
    this.file = new JsonFileWriter(path);
  }

  static async open(userDataDir: string, calibrationTextPath: () => string): Promise<MeasuredStore> {
    const store = new MeasuredStore(join(userDataDir, MEASURED_FILE), calibrationTextPath);
    const text = await readFile(store.path, 'utf8').catch(() => null);
    store.entries = parseMeasuredStore(text);
    return store;
  }

  /** The key `modelPath`'s figures have now (its identity and the calibration text as they are now). */
  async keyFor(modelPath: string): Promise<MeasuredKey> {
    const { text } = await readCalibrationText(this.calibrationTextPath());
    return measuredKey(modelPath, text);
  }

  /** The figures kept for `modelPath` as it is now; none when it (or the text) changed since. */
  async lookup(modelPath: string): Promise<MeasuredByType> {
    const { key } = await this.keyFor(modelPath);
    return { ...this.entries.get(key)?.measured };
  }

  /** A measure job started on the model `key` was taken for: its figures will be kept under it. */
  expect(jobId: string, key: MeasuredKey): void {
    this.pending.set(jobId, key);
  }

  /** Every job message: a measure job's result is kept; its end forgets the job. */
  note(m: JobMessage): void {
    if (m.kind === 'event') return;
    const key = this.pending.get(m.jobId);
    this.pending.delete(m.jobId);
    if (key && m.kind === 'measured') void this.record(key, m.measured).catch(() => undefined);
  }

  /** Adds `measured` to the model's figures (a type measured again replaces its old figures). */
  record({ key, model }: MeasuredKey, measured: MeasuredByType): Promise<void> {
    const before = this.entries.get(key)?.measured ?? {};
    // An older key of the same model is stale for good (the file changed): drop it.
    for (const [k, e] of this.entries) if (e.model === model && k !== key) this.entries.delete(k);
    this.entries.delete(key);
    this.entries.set(key, { model, savedAt: Date.now(), measured: { ...before, ...measured } });
    for (const k of this.entries.keys()) {
      if (this.entries.size <= MEASURED_MODELS_MAX) break;
      this.entries.delete(k);
    }
    return this.save();
  }

  /** Resolves once every write requested so far is on disk. */
  flush(): Promise<void> {
    return this.file.flush();
  }

  private save(): Promise<void> {
    return this.file.write({ version: FORMAT_VERSION, entries: Object.fromEntries(this.entries) }, 1);
  }
}

// general.* as llama.cpp's converter derives them (gguf-py Metadata): the model's name, basename,
// finetune, version and size label from config.json's `_name_or_path` and the folder's name, the
// size label from the parameter count otherwise, and sampling defaults from generation_config.json.

import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { GgufValueType as V, type GgufKv } from '../gguf/types.ts';
import type { HfConfig } from './hf-config.ts';

interface IdComponents {
  fullName?: string; org?: string; basename?: string; finetune?: string; version?: string; sizeLabel?: string;
}


/** Python's str.title(): a cased letter is upper-cased after a non-cased character, lower-cased otherwise. */
function pyTitle(s: string): string {
  let out = '';
  let prevCased = false;
  for (const ch of s) {
    const cased = ch.toLowerCase() !== ch.toUpperCase();
    out += cased ? (prevCased ? ch.toLowerCase() : ch.toUpperCase()) : ch;
    prevCased = cased;
  }
  return out;
}

/** Python's str.islower(): some cased character, none upper-case. */
function pyIsLower(s: string): boolean {
  let cased = false;
  for (const ch of s) {
    if (ch.toLowerCase() === ch.toUpperCase()) continue;
    if (ch !== ch.toLowerCase()) return false;
    cased = true;
  }
  return cased;
}

const isDecimal = (c: string | undefined) => c !== undefined && /^[0-9]$/.test(c);
const isAlpha = (c: string | undefined) => c !== undefined && /^\p{L}$/u.test(c);

export function idToTitle(s: string): string {
  return s.trim().replace(/-/g, ' ').split(/\s+/).filter((w) => w.length > 0)
    .map((w) => (pyIsLower(w) && !/^(v\d+(?:\.\d+)*|\d.*)$/.test(w) ? pyTitle(w) : w)).join(' ');
}

type Tag = 'basename' | 'size_label' | 'finetune' | 'version' | 'type';

/** Metadata.get_model_id_components, step for step. */
export function modelIdComponents(modelId: string | undefined, totalParams: number): IdComponents {
  if (modelId === undefined) return {};
  if (modelId.includes(' ')) return { fullName: modelId };
  let org: string | undefined;
  let full: string;
  const slash = modelId.indexOf('/');
  if (slash >= 0) {
    org = modelId.slice(0, slash);
    full = modelId.slice(slash + 1);
  } else {
    full = modelId;
  }
  if (org !== undefined && org.length > 0 && org[0] === '.') org = undefined;

  const parts = full.split('-').filter((p) => p.length > 0);
  const tags: Array<Set<Tag>> = parts.map(() => new Set());
  for (let i = 0; i < parts.length; i++) {
    let part = parts[i]!;
    if (/^(v|iter)?\d+([.]\d+)*$/i.test(part)) {
      tags[i]!.add('version');
    } else if (/^(i?q\d(_\w)*|b?fp?(16|32))$/i.test(part)) {
      tags[i]!.add('type');
      parts[i] = part.toUpperCase();
    } else if (i > 0 && /^(([A]|\d+[x])?\d+([._]\d+)?[KMBT][\d]?|small|mini|medium|large|x?xl)$/i.test(part)) {
      part = part.replace(/_/g, '.');
      if (isDecimal(part[part.length - 1])) part = part.slice(0, -2) + '.' + part[part.length - 1] + part[part.length - 2];
      if (part.length > 1 && isDecimal(part[part.length - 2]) && 'kmbt'.includes(part[part.length - 1]!)) {
        part = part.slice(0, -1) + part[part.length - 1]!.toUpperCase();
      }
      if (totalParams !== 0) {
        const scale = ' KMBT'.indexOf(part[part.length - 1]!);
        const num = pyFloat(part.slice(0, -1));
        if (num !== undefined) {
          const labelParams = num * 1000 ** scale;
          if ((totalParams < 0 && labelParams < Math.floor(Math.abs(totalParams) / 8))
            || (totalParams > 0 && Math.abs(labelParams - totalParams) > Math.floor((7 * totalParams) / 8))) {
            tags[i]!.add('finetune');
            part = part.slice(0, -1) + part[part.length - 1]!.toLowerCase();
          }
        }
      }
      if (tags[i]!.size === 0) tags[i]!.add('size_label');
      parts[i] = part;
    } else if (i > 0 && /^(chat|instruct|vision|lora)$/i.test(part)) {
      if (totalParams < 0 && part.toLowerCase() === 'lora') tags[i]!.add('type');
      else tags[i]!.add('finetune');
    }
  }
  if (parts.some((n, i) => tags[i]!.has('size_label') && [...n].some(isDecimal))) {
    parts.forEach((n, i) => {
      if (tags[i]!.has('size_label') && [...n].every(isAlpha)) tags[i]!.delete('size_label');
    });
  }
  let atStart = true;
  parts.forEach((p, i) => {
    const t = tags[i]!;
    if (atStart && ((t.size === 0 && isAlpha(p[0])) || t.has('version'))) {
      t.add('basename');
    } else {
      atStart = false;
      if (t.size === 0) t.add('finetune');
    }
  });
  for (let i = parts.length - 1; i >= 0; i--) {
    const t = tags[i]!;
    if (t.has('basename') && t.size > 1) t.delete('basename');
    else break;
  }
  const pick = (tag: Tag, exclude?: Tag) => parts.filter((_, i) => tags[i]!.has(tag) && !(exclude && tags[i]!.has(exclude)));
  let base: string | undefined = pick('basename').join('-') || undefined;
  const sizeLabel = [...new Set(pick('size_label'))].join('-') || undefined;
  const finetune = pick('finetune').join('-') || undefined;
  const version = pick('version', 'basename').join('-') || undefined;
  if (sizeLabel === undefined && finetune === undefined && version === undefined) base = undefined;
  return { fullName: full, org, basename: base, finetune, version, sizeLabel };
}

/** float(s) as Python parses it (ASCII digits, optional sign, point, exponent); undefined on ValueError. */
function pyFloat(s: string): number | undefined {
  const t = s.trim();
  if (!/^[+-]?(\d+(_?\d+)*\.?(\d+(_?\d+)*)?|\.\d+(_?\d+)*)([eE][+-]?\d+)?$/.test(t)) return undefined;
  return Number(t.replace(/_/g, ''));
}

/** An exact decimal rendering of a double with `digits` decimals, ties to even (Python's format). */
export function pyFixed(x: number, digits: number): string {
  if (!Number.isFinite(x)) return String(x);
  const neg = x < 0 || Object.is(x, -0);
  // x = m × 2^e exactly; scale by 10^digits and round half to even in integers.
  const buf = new DataView(new ArrayBuffer(8));
  buf.setFloat64(0, Math.abs(x));
  const bits = buf.getBigUint64(0);
  const expBits = Number((bits >> 52n) & 0x7ffn);
  const frac = bits & ((1n << 52n) - 1n);
  const m = expBits === 0 ? frac : frac | (1n << 52n);
  const e = (expBits === 0 ? 1 : expBits) - 1075;
  const scaled = m * 10n ** BigInt(digits);
  let q: bigint;
  if (e >= 0) {
    q = scaled << BigInt(e);
  } else {
    const den = 1n << BigInt(-e);
    q = scaled / den;
    const r = scaled % den;
    if (r * 2n > den || (r * 2n === den && (q & 1n) === 1n)) q += 1n;
  }
  let s = q.toString();
  if (digits > 0) {
    s = s.padStart(digits + 1, '0');
    s = `${s.slice(0, -digits)}.${s.slice(-digits)}`;
  }
  return (neg ? '-' : '') + s;
}

/** Python's round(x) for a float: ties to even. */
function pyRound(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

export function weightCountNotation(count: number, minDigits = 2): string {
  let scaled: number;
  let suffix: string;
  if (count > 1e12) { scaled = count * 1e-12; suffix = 'T'; }
  else if (count > 1e9) { scaled = count * 1e-9; suffix = 'B'; }
  else if (count > 1e6) { scaled = count * 1e-6; suffix = 'M'; }
  else { scaled = count * 1e-3; suffix = 'K'; }
  const fix = Math.max(minDigits - String(pyRound(scaled)).replace(/^0+/, '').length, 0);
  return `${pyFixed(scaled, fix)}${suffix}`;
}

export interface ParamCounts { total: number; shared: number; expert: number; expertCount: number }

/** GGUFWriter.get_total_parameter_count over the output tensors (name, shape outermost first). */
export function parameterCounts(tensors: ReadonlyArray<{ name: string; shape: readonly number[] }>): ParamCounts {
  let total = 0; let shared = 0; let expert = 0; let expertSum = 0; let nExpertTensors = 0;
  for (const t of tensors) {
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (t.name.includes('_exps.') && t.shape.length >= 3) {
      const count = t.shape[t.shape.length - (t.name.includes('.bias') ? 2 : 3)]!;
      expert += Math.floor(size / count);
      expertSum += count;
      nExpertTensors++;
    } else {
      shared += size;
    }
    total += size;
  }
  return { total, shared, expert, expertCount: nExpertTensors > 0 ? Math.floor(expertSum / nExpertTensors) : 0 };
}

export function sizeLabel(p: ParamCounts): string {
  if (p.expertCount > 0) return `${p.expertCount}x${weightCountNotation(Math.abs(p.shared) + Math.abs(p.expert))}`;
  return weightCountNotation(Math.abs(p.total));
}

async function readJsonObject(path: string): Promise<Record<string, unknown> | undefined> {
  try {
    const v: unknown = JSON.parse(await readFile(path, 'utf8'));
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? v as Record<string, unknown> : undefined;
  } catch {
    return undefined;
  }
}

/** The sampling keys Metadata.load takes from generation_config.json, in set_gguf_meta_model's order. */
function samplingKvs(gen: Record<string, unknown> | undefined): GgufKv[] {
  if (!gen) return [];
  const out: GgufKv[] = [];
  const put = (key: string, type: number, value: unknown) => {
    if (value === undefined || value === null) return;
    if (type === V.STRING ? typeof value !== 'string' || value === '' : typeof value !== 'number') return;
    out.push({ key: `general.sampling.${key}`, type, value: value as number | string });
  };
  put('sequence', V.STRING, gen.sequence);
  put('top_k', V.INT32, gen.top_k);
  put('top_p', V.FLOAT32, gen.top_p);
  put('min_p', V.FLOAT32, gen.min_p);
  put('xtc_probability', V.FLOAT32, gen.xtc_probability);
  put('xtc_threshold', V.FLOAT32, gen.xtc_threshold);
  put('temp', V.FLOAT32, gen.temperature);
  put('penalty_last_n', V.INT32, gen.penalty_last_n);
  put('penalty_repeat', V.FLOAT32, gen.penalty_repeat ?? gen.repetition_penalty);
  put('mirostat', V.INT32, gen.mirostat);
  put('mirostat_tau', V.FLOAT32, gen.mirostat_tau);
  put('mirostat_eta', V.FLOAT32, gen.mirostat_eta);
  return out;
}

/** Everything Metadata.load gathers, before it is written. */
interface Meta {
  name?: string; author?: string; version?: string; organization?: string; finetune?: string; basename?: string;
  description?: string; sizeLabel?: string; license?: string; licenseName?: string; licenseLink?: string;
  sourceUrl?: string; sourceDoi?: string; sourceUuid?: string; sourceRepoUrl?: string;
  baseModels?: Array<Record<string, unknown>>; datasets?: Array<Record<string, unknown>>;
  tags?: string[]; languages?: string[];
}

/** Python's str.splitlines() separators. */
const LINE_BREAKS = /\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/;

/** Metadata.load_model_card: README.md's YAML front matter (PyYAML safe_load ≈ YAML 1.1), or {}. */
export async function readModelCard(dir: string): Promise<Record<string, unknown>> {
  let content: string;
  try {
    content = await readFile(join(dir, 'README.md'), 'utf8');
  } catch {
    return {};
  }
  const lines = content.split(LINE_BREAKS);
  if (content.length === 0 || lines[0] !== '---') return {};
  const body: string[] = [];
  for (const line of lines.slice(1)) {
    if (line === '---') break;
    body.push(line);
  }
  const yamlText = `${body.join('\n')}\n`.replaceAll('- no\n', '- "no"\n').replaceAll('\t', '  ');
  try {
    const { parse } = await import('yaml');
    const data: unknown = parse(yamlText, { version: '1.1' });
    return typeof data === 'object' && data !== null && !Array.isArray(data) ? data as Record<string, unknown> : {};
  } catch {
    return {};
  }
}

const asText = (v: unknown): string | undefined => (v === undefined || v === null ? undefined : typeof v === 'string' ? v : String(v));

/** A base model or dataset reference from the card, as Metadata.apply_metadata_heuristic expands it. */
function expandReference(id: unknown, totalParams: number): Record<string, unknown> {
  if (typeof id === 'object' && id !== null && !Array.isArray(id)) return id as Record<string, unknown>;
  if (typeof id !== 'string') return {};
  const out: Record<string, unknown> = {};
  const describe = (c: IdComponents, withRepo: boolean) => {
    if (c.fullName !== undefined) out.name = idToTitle(c.fullName);
    if (c.org !== undefined) out.organization = idToTitle(c.org);
    if (c.version !== undefined) out.version = c.version;
    if (withRepo && c.org !== undefined && c.fullName !== undefined) out.repo_url = `https://huggingface.co/${c.org}/${c.fullName}`;
  };
  if (id.startsWith('http://') || id.startsWith('https://') || id.startsWith('ssh://')) {
    out.repo_url = id;
    const m = id.includes('huggingface.co') ? /^https?:\/\/huggingface.co\/([^/]+\/[^/]+)$/.exec(id) : null;
    if (m) describe(modelIdComponents(m[1], totalParams), false);
  } else {
    describe(modelIdComponents(id, totalParams), true);
  }
  return out;
}

/** The model card part of apply_metadata_heuristic, in its order (the first value found wins). */
function applyModelCard(meta: Meta, card: Record<string, unknown>, totalParams: number): void {
  const use = (key: keyof Meta, cardKey: string) => {
    if (cardKey in card && meta[key] === undefined) (meta as Record<string, unknown>)[key] = card[cardKey] ?? undefined;
  };
  const pairs: Array<[keyof Meta, string]> = [
    ['name', 'name'], ['author', 'author'], ['version', 'version'], ['organization', 'organization'], ['description', 'description'],
    ['finetune', 'finetune'], ['basename', 'basename'], ['sizeLabel', 'size_label'], ['sourceUrl', 'url'], ['sourceDoi', 'doi'],
    ['sourceUuid', 'uuid'], ['sourceRepoUrl', 'repo_url'],
    ['name', 'model_name'], ['author', 'model_author'], ['version', 'model_version'], ['organization', 'model_organization'],
    ['description', 'model_description'], ['finetune', 'model_finetune'], ['basename', 'model_basename'], ['sizeLabel', 'model_size_label'],
    ['sourceUrl', 'model_url'], ['sourceDoi', 'model_doi'], ['sourceUuid', 'model_uuid'], ['sourceRepoUrl', 'model_repo_url'],
    ['name', 'model_name'], ['author', 'model_creator'], ['basename', 'model_type'],
  ];
  for (const [k, c] of pairs) use(k, c);
  const list = (v: unknown): unknown[] => (typeof v === 'string' ? [v] : Array.isArray(v) ? v : []);
  const firstOf = (keys: string[]) => (keys[0]! in card ? card[keys[0]!] : keys[1]! in card ? card[keys[1]!] : card[keys[2]!]);
  if (['base_model', 'base_models', 'base_model_sources'].some((k) => k in card)) {
    meta.baseModels ??= [];
    for (const id of list(firstOf(['base_model', 'base_models', 'base_model_sources']))) meta.baseModels.push(expandReference(id, totalParams));
  }
  if (['datasets', 'dataset', 'dataset_sources'].some((k) => k in card)) {
    meta.datasets ??= [];
    for (const id of list(firstOf(['datasets', 'dataset', 'dataset_sources']))) meta.datasets.push(expandReference(id, totalParams));
  }
  use('license', 'license');
  use('licenseName', 'license_name');
  use('licenseLink', 'license_link');
  const append = (key: 'tags' | 'languages', cardKey: string) => {
    const v = card[cardKey];
    if (v === undefined || v === null) return;
    const cur = meta[key] ?? [];
    if (typeof v === 'string') cur.push(v);
    else if (Array.isArray(v)) cur.push(...v.map((x) => String(x)));
    meta[key] = cur;
  };
  append('tags', 'tags');
  append('tags', 'pipeline_tag');
  append('languages', 'languages');
  append('languages', 'language');
}

const REFERENCE_FIELDS = ['name', 'author', 'version', 'organization', 'description', 'url', 'doi', 'uuid', 'repo_url'] as const;

/** general.type … general.languages, in the converter's order (after general.architecture). */
export async function generalKvs(dir: string, config: HfConfig, counts: ParamCounts, nameFrom: string = basename(dir)): Promise<GgufKv[]> {
  const meta: Meta = {};
  applyModelCard(meta, await readModelCard(dir), counts.total);
  const apply = (c: IdComponents) => {
    if (meta.name === undefined && c.fullName !== undefined) meta.name = idToTitle(c.fullName);
    if (meta.organization === undefined && c.org !== undefined) meta.organization = idToTitle(c.org);
    meta.basename ??= c.basename;
    meta.finetune ??= c.finetune;
    meta.version ??= c.version;
    meta.sizeLabel ??= c.sizeLabel;
  };
  const nameOrPath = config._name_or_path;
  if (typeof nameOrPath === 'string' && (nameOrPath.match(/\//g)?.length ?? 0) <= 1) apply(modelIdComponents(nameOrPath, counts.total));
  apply(modelIdComponents(nameFrom, counts.total));
  meta.name ??= nameFrom;
  if (meta.sizeLabel === undefined && counts.total > 0) meta.sizeLabel = sizeLabel(counts);

  const kv: GgufKv[] = [{ key: 'general.type', type: V.STRING, value: 'model' }];
  kv.push(...samplingKvs(await readJsonObject(join(dir, 'generation_config.json'))));
  const str = (key: string, value: unknown) => {
    const text = asText(value);
    if (text) kv.push({ key: `general.${key}`, type: V.STRING, value: text });
  };
  str('name', meta.name);
  str('author', meta.author);
  str('version', meta.version);
  str('organization', meta.organization);
  str('finetune', meta.finetune);
  str('basename', meta.basename);
  str('description', meta.description);
  str('size_label', meta.sizeLabel);
  str('license', Array.isArray(meta.license) ? (meta.license as unknown[]).join(',') : meta.license);
  str('license.name', meta.licenseName);
  str('license.link', meta.licenseLink);
  str('source.url', meta.sourceUrl);
  str('source.doi', meta.sourceDoi);
  str('source.uuid', meta.sourceUuid);
  str('source.repo_url', meta.sourceRepoUrl);
  for (const [group, entries] of [['base_model', meta.baseModels], ['dataset', meta.datasets]] as const) {
    if (entries === undefined) continue;
    kv.push({ key: `general.${group}.count`, type: V.UINT32, value: entries.length });
    entries.forEach((entry, i) => {
      for (const f of REFERENCE_FIELDS) if (f in entry) str(`${group}.${i}.${f}`, entry[f]);
    });
  }
  const strings = (key: string, values: string[] | undefined) => {
    if (values && values.length > 0) kv.push({ key: `general.${key}`, type: V.ARRAY, value: { elementType: V.STRING, items: values } });
  };
  strings('tags', meta.tags);
  strings('languages', meta.languages);
  return kv;
}

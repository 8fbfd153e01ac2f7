// `quantfit inspect <model> [--json] [--full]`: a GGUF file's metadata and tensor table, or those of the
// GGUF a Hugging Face folder converts to; read from headers alone (tensor data is never touched).

import { parseCommandArgs } from '../args.ts';
import { msg } from '../../../src-shared/messages/index.ts';
import { displayWidth, padDisplay, say } from '../locale.ts';
import { MODEL_ARG_OPTIONS, resolveModelArg } from '../model-arg.ts';
import { readModelHeader } from '../../core/convert/model.ts';
import { ggmlTypeName } from '../../core/gguf/ggml-types.ts';
import { GgufValueType, ggufValueTypeName, isGgufArray, type GgufHeader, type GgufValue } from '../../core/gguf/types.ts';

export const help = msg('help.inspect', { maxItems: 64, model: msg('help.modelArg') });

/** Arrays longer than this are abbreviated in JSON unless --full. */
const JSON_ARRAY_LIMIT = 64;
/** The table shows this many items of an array, and this many characters of a string. */
const TABLE_ARRAY_ITEMS = 8;
const TABLE_STRING_CHARS = 100;

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    args,
    { json: { type: 'boolean' }, full: { type: 'boolean' }, ...MODEL_ARG_OPTIONS },
    { min: 1, max: 1, names: 'quantfit inspect <file.gguf> [--json] [--full]' },
  );
  const model = await resolveModelArg(positionals[0]!, values);
  const header = await readModelHeader(model.path);
  const full = values.full === true;
  process.stdout.write(values.json ? `${JSON.stringify(toJson(header, full), null, 2)}\n` : toTable(header, full));
  return 0;
}

/** Shortest decimal that reads back as the same float32 (1e-5, not 0.000009999999747378752). */
function f32Shortest(v: number): number {
  if (!Number.isFinite(v)) return v;
  for (let p = 1; p <= 9; p++) {
    const s = Number(v.toPrecision(p));
    if (Math.fround(s) === v) return s;
  }
  return v;
}

function jsonScalar(type: number, v: GgufValue): unknown {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return String(v);
    return type === GgufValueType.FLOAT32 ? f32Shortest(v) : v;
  }
  return v;
}

function jsonValue(type: number, v: GgufValue, full: boolean): unknown {
  if (!isGgufArray(v)) return jsonScalar(type, v);
  const shown = full ? v.items : v.items.slice(0, JSON_ARRAY_LIMIT);
  const items = shown.map((item) => jsonValue(v.elementType, item, full));
  return items.length === v.items.length ? items : { abbreviated: true, length: v.items.length, items };
}

export interface InspectJson {
  file: string;
  version: number;
  alignment: number;
  dataOffset: number;
  fileSize: number;
  kv: Record<string, unknown>;
  tensors: Array<{ name: string; type: string; shape: number[]; offset: number; bytes: number }>;
}

export function toJson(h: GgufHeader, full: boolean): InspectJson {
  const kv: Record<string, unknown> = {};
  for (const e of h.kv) kv[e.key] = jsonValue(e.type, e.value, full);
  return {
    file: h.path,
    version: h.version,
    alignment: h.alignment,
    dataOffset: h.dataOffset,
    fileSize: h.fileSize,
    kv,
    tensors: h.tensors.map((t) => ({ name: t.name, type: ggmlTypeName(t.type), shape: [...t.shape], offset: t.offset, bytes: t.byteSize })),
  };
}

function typeLabel(type: number, v: GgufValue): string {
  if (!isGgufArray(v)) return ggufValueTypeName(type);
  const inner = v.items.length > 0 && v.elementType === GgufValueType.ARRAY ? typeLabel(v.elementType, v.items[0]) : ggufValueTypeName(v.elementType);
  return `${inner}[${v.items.length}]`;
}

function textValue(type: number, v: GgufValue, full: boolean): string {
  if (isGgufArray(v)) {
    const shown = full ? v.items : v.items.slice(0, TABLE_ARRAY_ITEMS);
    const parts = shown.map((item) => textValue(v.elementType, item, full));
    if (shown.length < v.items.length) parts.push(say(msg('cli.inspect.more', { count: v.items.length - shown.length })));
    return `[${parts.join(', ')}]`;
  }
  if (typeof v === 'string') {
    const s = !full && v.length > TABLE_STRING_CHARS ? `${v.slice(0, TABLE_STRING_CHARS)}…` : v;
    return JSON.stringify(s);
  }
  const j = jsonScalar(type, v);
  return String(j);
}

function table(rows: string[][], rightAligned: ReadonlySet<number> = new Set()): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => displayWidth(r[c]))));
  return rows
    .map((r) => {
      const cells = r.map((cell, c) => (rightAligned.has(c) ? ' '.repeat(Math.max(0, widths[c] - displayWidth(cell))) + cell : c === r.length - 1 ? cell : padDisplay(cell, widths[c])));
      return `  ${cells.join('  ')}`.trimEnd();
    })
    .join('\n');
}

function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(v < 10 ? 2 : 1)} ${units[u]}`;
}

export function toTable(h: GgufHeader, full: boolean): string {
  const params = h.tensors.reduce((a, t) => a + t.shape.reduce((x, y) => x * y, 1), 0);
  const dataBytes = h.tensors.reduce((a, t) => a + t.byteSize, 0);
  const out: string[] = [
    `${h.path}`,
    `  ${say(msg('cli.inspect.summary', {
      version: h.version, alignment: h.alignment, keys: h.kv.length, tensors: h.tensors.length,
      params: params.toLocaleString('en-US'), data: humanBytes(dataBytes), size: humanBytes(h.fileSize),
    }))}`,
    '',
    say(msg('cli.inspect.metadata', { count: h.kv.length })),
  ];
  if (h.kv.length > 0) {
    out.push(table([say(msg('cli.inspect.kvHead')).split('|'), ...h.kv.map((e) => [e.key, typeLabel(e.type, e.value), textValue(e.type, e.value, full)])]));
  }
  out.push('', say(msg('cli.inspect.tensors', { count: h.tensors.length })));
  if (h.tensors.length > 0) {
    const rows = h.tensors.map((t) => [t.name, ggmlTypeName(t.type), `[${t.shape.join(', ')}]`, String(t.byteSize)]);
    out.push(table([say(msg('cli.inspect.tensorHead')).split('|'), ...rows], new Set([3])));
  }
  return `${out.join('\n')}\n`;
}

// The Modelfile we write next to the GGUF, so `ollama create NAME -f <it>` reproduces our import by
// hand. Quoting follows Ollama's parser: no escapes exist; `"…"` or `"""…"""` may span lines and
// keep inner whitespace; anything else is one trimmed line.

import { open } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { quantfitError } from '../errors.ts';

export interface ModelfileSpec {
  /** The FROM path as written: `./<file>.gguf` next to the Modelfile, else an absolute path. */
  readonly from: string;
  readonly template?: string | null;
  readonly system?: string | null;
  readonly stop?: readonly string[];
  readonly numCtx?: number | null;
  /** Other PARAMETER lines, in order (values already valid for Ollama). */
  readonly parameters?: ReadonlyArray<readonly [string, string | number]>;
}

/**
 * Quotes a Modelfile value so Ollama's parser reads back exactly `value`. The parser keeps reading
 * lines until the trimmed text is fully quoted (it only looks at the first and last quotes), so a
 * value holding `"` is wrapped in triple quotes; a value holding `"""` cannot be written at all.
 */
export function quoteModelfileValue(value: string, what: string): string {
  const needsQuotes = value === '' || /[\n\r]/.test(value) || /^\s|\s$/.test(value) || value.startsWith('"');
  if (!needsQuotes) return value;
  if (!value.includes('"')) return `"${value}"`;
  if (value.includes('"""')) throw quantfitError('ollama.error.tripleQuote', { what });
  return `"""${value}"""`;
}

/** How every Modelfile we write begins: the mark that lets us replace (or remove) it later. */
export const MODELFILE_MARK = '# Written by Quantfit.';

/**
 * What is at `path` now: nothing, a Modelfile we wrote (safe to replace or remove), or anything
 * else — a user's own Modelfile, which is never overwritten or deleted.
 */
export async function modelfileOwner(path: string): Promise<'none' | 'quantfit' | 'other'> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'none' : 'other';
  }
  try {
    if (!(await fh.stat()).isFile()) return 'other';
    const head = Buffer.alloc(MODELFILE_MARK.length);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    return bytesRead === head.length && head.toString('utf8') === MODELFILE_MARK ? 'quantfit' : 'other';
  } catch {
    return 'other';
  } finally {
    await fh.close();
  }
}

/** Renders the Modelfile text. */
export function renderModelfile(spec: ModelfileSpec): string {
  if (/[\n\r]/.test(spec.from)) throw quantfitError('ollama.error.pathLineBreak');
  const lines: string[] = [`${MODELFILE_MARK} Recreate this model with: ollama create <name> -f <this file>`];
  lines.push(`FROM ${quoteModelfileValue(spec.from, 'GGUF path')}`);
  if (spec.template) lines.push(`TEMPLATE ${quoteModelfileValue(spec.template, 'template')}`);
  if (spec.system) lines.push(`SYSTEM ${quoteModelfileValue(spec.system, 'system prompt')}`);
  for (const stop of spec.stop ?? []) lines.push(`PARAMETER stop ${quoteModelfileValue(stop, 'stop string')}`);
  if (spec.numCtx) lines.push(`PARAMETER num_ctx ${spec.numCtx}`);
  for (const [name, value] of spec.parameters ?? []) {
    if (!/^[A-Za-z0-9_]+$/.test(name)) throw quantfitError('ollama.error.parameterName', { name });
    lines.push(`PARAMETER ${name} ${quoteModelfileValue(String(value), `parameter ${name}`)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The Modelfile's path for a GGUF: `<dir>/<base>.Modelfile` (one per GGUF, so several can share a folder). */
export function modelfilePathFor(ggufPath: string): string {
  return ggufPath.replace(/\.gguf$/i, '') + '.Modelfile';
}

/** What FROM says: `./<file>` when the Modelfile sits next to the GGUF (Ollama resolves it from there), else the absolute path. */
export function modelfileFrom(modelfilePath: string, ggufPath: string): string {
  const gguf = resolve(ggufPath);
  return dirname(resolve(modelfilePath)) === dirname(gguf) ? `./${basename(gguf)}` : gguf;
}

// The tokenizer files of a Hugging Face folder, read the way the converter's Python reads them: UTF-8
// strictly (a bad byte is an error, not U+FFFD), text files with universal newlines, JSON parsed once.
// Missing files are `undefined`; unreadable or invalid ones are one clear error naming the file.

import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { quantfitError, throwIfAborted, type QuantfitError } from '../../errors.ts';
import type { Message } from '../../../../src-shared/message.ts';
import { msg } from '../../../../src-shared/messages/index.ts';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** Tokenizer files are a few MB (Gemma 3's tokenizer.json is 33 MB); this bounds a hostile one. */
export const MAX_TOKENIZER_FILE_BYTES = 512 * 1024 * 1024;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Python truthiness of a JSON value. */
export function truthy(v: Json | undefined): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}

/** Python `==` between JSON values (deep for lists and dicts; 1 == true as in Python). */
export function pyEqual(a: Json | undefined, b: Json | undefined): boolean {
  if (a === undefined) a = null;
  if (b === undefined) b = null;
  if (typeof a === 'boolean') a = a ? 1 : 0;
  if (typeof b === 'boolean') b = b ? 1 : 0;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return a === b;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => pyEqual(x, b[i]));
  const ao = a as JsonObject;
  const bo = b as JsonObject;
  const keys = Object.keys(ao);
  return keys.length === Object.keys(bo).length && keys.every((k) => k in bo && pyEqual(ao[k], bo[k]));
}

export class TokenizerFolder {
  private readonly jsonCache = new Map<string, Json | undefined>();

  constructor(
    readonly dir: string,
    readonly signal?: AbortSignal,
  ) {}

  path(name: string): string {
    return join(this.dir, name);
  }

  async isFile(name: string): Promise<boolean> {
    try {
      return (await stat(this.path(name))).isFile();
    } catch {
      return false;
    }
  }

  /** The raw bytes, or undefined when there is no such file. */
  async bytes(name: string): Promise<Uint8Array | undefined> {
    throwIfAborted(this.signal);
    const path = this.path(name);
    if (!(await this.isFile(name))) return undefined;
    const size = (await stat(path)).size;
    if (size > MAX_TOKENIZER_FILE_BYTES) {
      throw quantfitError('tokenizer.fileTooLarge', { bytes: size }, { file: path });
    }
    try {
      return await readFile(path, { signal: this.signal });
    } catch (err) {
      throwIfAborted(this.signal);
      throw quantfitError('tokenizer.unreadable', { reason: (err as Error).message }, { file: path }, err);
    }
  }

  /** A text file as Python's open(..., encoding='utf-8').read() gives it: strict UTF-8, \r\n and \r → \n. */
  async text(name: string): Promise<string | undefined> {
    const bytes = await this.bytes(name);
    if (bytes === undefined) return undefined;
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch {
      throw quantfitError('tokenizer.notUtf8', {}, { file: this.path(name) });
    }
    return text.replace(/\r\n?/g, '\n');
  }

  /** A JSON file parsed (cached), or undefined when absent. */
  async json(name: string): Promise<Json | undefined> {
    if (this.jsonCache.has(name)) return this.jsonCache.get(name);
    const text = await this.text(name);
    let value: Json | undefined;
    if (text !== undefined) {
      try {
        value = JSON.parse(text) as Json;
      } catch (err) {
        throw quantfitError('tokenizer.invalidJson', { reason: (err as Error).message }, { file: this.path(name) });
      }
    }
    this.jsonCache.set(name, value);
    return value;
  }

  /** A JSON file that must hold an object when present. */
  async jsonObject(name: string): Promise<JsonObject | undefined> {
    const value = await this.json(name);
    if (value === undefined) return undefined;
    if (!isObject(value)) throw this.invalid(name, msg('tokenizer.bad.notObject'));
    return value;
  }

  /** Names in a subfolder ending in `suffix`, sorted; none when the subfolder is absent. */
  async list(subdir: string, suffix: string): Promise<string[]> {
    try {
      const names = await readdir(this.path(subdir));
      return names.filter((n) => n.endsWith(suffix)).sort();
    } catch {
      return [];
    }
  }

  invalid(name: string, detail: Message): QuantfitError {
    return quantfitError('tokenizer.invalidFile', { detail }, { file: this.path(name) });
  }
}

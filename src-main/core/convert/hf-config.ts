// config.json of a Hugging Face model folder, parsed once and read through typed accessors. The
// converter (convert_hf_to_gguf.py) reads it as a plain dict and looks keys up by several aliases;
// `findHparam` mirrors that, the typed readers refuse a value of the wrong kind with one clear line.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { QuantfitError } from '../errors.ts';

/** config.json as parsed: architectures plus whatever else the model's config class writes. */
export interface HfConfig {
  readonly architectures?: readonly string[];
  readonly [key: string]: unknown;
}

export const HF_CONFIG_FILE = 'config.json';

/** Reads and parses DIR/config.json: a missing file, invalid JSON or a non-object is one clear error. */
export async function readHfConfig(dir: string): Promise<HfConfig> {
  const file = join(dir, HF_CONFIG_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no config.json in the folder (not a Hugging Face model folder?)' : `cannot read config.json: ${(err as Error).message}`;
    throw new QuantfitError(why, { file }, { cause: err, code: code === 'ENOENT' ? 'convert.noConfig' : 'convert.readFailed', params: { file } });
  }
  return parseHfConfig(text, file);
}

export function parseHfConfig(text: string, file = HF_CONFIG_FILE): HfConfig {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new QuantfitError(`invalid JSON: ${(err as Error).message}`, { file }, { cause: err, code: 'convert.badJson', params: { file, why: (err as Error).message } });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new QuantfitError('config.json is not a JSON object', { file }, { code: 'convert.badConfig', params: { file, why: 'not a JSON object' } });
  }
  const archs = (value as Record<string, unknown>).architectures;
  if (archs !== undefined && (!Array.isArray(archs) || !archs.every((a) => typeof a === 'string'))) {
    throw new QuantfitError("'architectures' is not a list of names", { file, key: 'architectures' }, { code: 'convert.badConfig', params: { file, why: "'architectures' is not a list of names" } });
  }
  return value as HfConfig;
}

/** The first listed architecture (what the converter dispatches on), or undefined. */
export function hfArchitecture(config: HfConfig): string | undefined {
  return config.architectures?.[0];
}

/** The value of the first of `keys` present (the converter's find_hparam), or undefined. */
export function findHparam(config: HfConfig, keys: readonly string[]): unknown {
  for (const k of keys) if (k in config) return config[k];
  return undefined;
}

function badValue(key: string, want: string, value: unknown): QuantfitError {
  const why = `'${key}' should be ${want}, found ${JSON.stringify(value)}`;
  return new QuantfitError(why, { file: HF_CONFIG_FILE, key }, { code: 'convert.badConfig', params: { file: HF_CONFIG_FILE, why } });
}

/** A non-negative integer hparam under any of `keys`; `required` throws when none is present. */
export function hparamInt(config: HfConfig, keys: readonly string[], required: true): number;
export function hparamInt(config: HfConfig, keys: readonly string[], required?: false): number | undefined;
export function hparamInt(config: HfConfig, keys: readonly string[], required = false): number | undefined {
  const key = keys.find((k) => k in config);
  if (key === undefined) {
    if (required) throw new QuantfitError(`config.json has none of ${keys.map((k) => `'${k}'`).join(', ')}`, { file: HF_CONFIG_FILE, key: keys[0] }, { code: 'convert.missingHparam', params: { file: HF_CONFIG_FILE, keys: keys.join(', ') } });
    return undefined;
  }
  const v = config[key];
  if (v === null) {
    if (required) throw badValue(key, 'a non-negative integer', v);
    return undefined;
  }
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw badValue(key, 'a non-negative integer', v);
  return v;
}

/** A number hparam under the first of `keys` present; null reads as absent (the converter's `is not None`). */
export function hparamNumber(config: HfConfig, keys: readonly string[]): number | undefined {
  const key = keys.find((k) => k in config);
  if (key === undefined) return undefined;
  const v = config[key];
  if (v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw badValue(key, 'a number', v);
  return v;
}

export function hparamString(config: HfConfig, key: string): string | undefined {
  const v = config[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw badValue(key, 'a string', v);
  return v;
}

export function hparamBool(config: HfConfig, key: string): boolean | undefined {
  const v = config[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw badValue(key, 'true or false', v);
  return v;
}

/** A nested object hparam (rope_scaling, text_config …), or undefined when absent or null. */
export function hparamObject(config: HfConfig, key: string): Readonly<Record<string, unknown>> | undefined {
  const v = config[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw badValue(key, 'an object', v);
  return v as Record<string, unknown>;
}

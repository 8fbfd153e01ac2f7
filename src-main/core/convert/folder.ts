// A Hugging Face model folder opened for conversion: config.json, every safetensors part with its
// validated header, and the tensors in the order llama.cpp's converter visits them (parts sorted by
// file name — from model.safetensors.index.json when there is one — and each part's tensors sorted
// by name, as the safetensors library lists them).

import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { QuantfitError } from '../errors.ts';
import { SafetensorsFile, type SafetensorsTensor } from '../safetensors/header.ts';
import { readHfConfig, type HfConfig } from './hf-config.ts';

export const WEIGHT_INDEX_FILE = 'model.safetensors.index.json';

/** One source tensor: where its bytes are. */
export interface SourceTensor {
  /** The name the converter works with (after its renames of multimodal prefixes). */
  readonly name: string;
  readonly file: SafetensorsFile;
  readonly info: SafetensorsTensor;
}

export interface HfFolder {
  readonly dir: string;
  readonly config: HfConfig;
  /** In the converter's order. */
  readonly tensors: readonly SourceTensor[];
  readonly files: readonly SafetensorsFile[];
  close(): Promise<void>;
}

function folderError(dir: string, message: string, code: string, params: Record<string, string> = {}, file?: string): QuantfitError {
  return new QuantfitError(message, { file: file ?? dir }, { code, params: { dir, ...params } });
}

/** Opens DIR: config, weights and headers, every part validated before anything is read. */
export async function openHfFolder(dir: string): Promise<HfFolder> {
  let st;
  try {
    st = await stat(dir);
  } catch {
    throw folderError(dir, 'no such folder', 'convert.noFolder');
  }
  if (!st.isDirectory()) throw folderError(dir, 'not a folder', 'convert.noFolder');
  const config = await readHfConfig(dir);
  const { parts, indexNames, weightMap } = await weightParts(dir);
  const files: SafetensorsFile[] = [];
  try {
    for (const part of parts) {
      const path = join(dir, part);
      try {
        await stat(path);
      } catch {
        throw folderError(dir, `shard '${part}' listed in ${WEIGHT_INDEX_FILE} is missing`, 'convert.missingShard', { part }, path);
      }
      files.push(await SafetensorsFile.open(path));
    }
    const tensors = orderTensors(files);
    if (indexNames) checkIndex(dir, indexNames, weightMap, files);
    return {
      dir, config, tensors, files,
      close: async () => { await Promise.all(files.map((f) => f.close())); },
    };
  } catch (err) {
    await Promise.all(files.map((f) => f.close()));
    throw err;
  }
}

async function weightParts(dir: string): Promise<{ parts: string[]; indexNames?: Set<string>; weightMap: Record<string, string> }> {
  const indexPath = join(dir, WEIGHT_INDEX_FILE);
  let indexText: string | undefined;
  try {
    indexText = await readFile(indexPath, 'utf8');
  } catch { /* no index: list the folder */ }
  if (indexText !== undefined) {
    let index: unknown;
    try {
      index = JSON.parse(indexText);
    } catch (err) {
      throw new QuantfitError(`invalid JSON: ${(err as Error).message}`, { file: indexPath }, { code: 'convert.badJson', params: { file: indexPath, why: (err as Error).message } });
    }
    const map = (index as { weight_map?: unknown } | null)?.weight_map;
    if (typeof map !== 'object' || map === null || Array.isArray(map) || !Object.values(map).every((v) => typeof v === 'string')) {
      throw new QuantfitError("no 'weight_map' of tensor → file names", { file: indexPath }, { code: 'convert.badConfig', params: { file: indexPath, why: "no 'weight_map' of tensor → file names" } });
    }
    const weightMap = map as Record<string, string>;
    for (const part of new Set(Object.values(weightMap))) {
      if (part.includes('/') || part.includes('\\') || part === '..' || part === '.') {
        throw new QuantfitError(`weight_map names a file outside the folder: '${part}'`, { file: indexPath }, { code: 'convert.badConfig', params: { file: indexPath, why: `weight_map names a file outside the folder: '${part}'` } });
      }
    }
    const parts = [...new Set(Object.values(weightMap))].sort(byCodePoint);
    if (parts.length === 0) throw folderError(dir, `${WEIGHT_INDEX_FILE} lists no weights`, 'convert.noWeights');
    return { parts, indexNames: new Set(Object.keys(weightMap)), weightMap };
  }
  const names = await readdir(dir);
  const parts = names.filter((n) => n.startsWith('model') && n.endsWith('.safetensors')).sort(byCodePoint);
  if (parts.length === 0) {
    const bin = names.some((n) => n.startsWith('pytorch_model') && n.endsWith('.bin'));
    throw folderError(dir, bin ? 'only PyTorch .bin weights in the folder; Quantfit reads safetensors (model*.safetensors)' : 'no weights in the folder (model*.safetensors)', bin ? 'convert.binWeights' : 'convert.noWeights');
  }
  return { parts, weightMap: {} };
}

function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The converter's TextModel.filter_tensors: multimodal parts dropped, wrapper prefixes removed. */
function converterName(name: string): string | undefined {
  if (/^(mlp|vit\.|vpm\.|siglip2\.|conformer\.|merger\.|resampler\.|sound_encoder\.|sound_projection\.|speech_embeddings\.)/.test(name)) return undefined;
  if (/visual\.|vision\.|audio\.|talker\.|vision_|audio_|token2wav\.|code2wav\.|projector\.|pre_mm_projector_norm|image_newline|view_seperator|patch_embed|patch_embedding|patch_merger\.|patch_merge_mlp\.|model\.connector\./.test(name)) return undefined;
  let out = name;
  if (out.endsWith('e_score_correction_bias')) out = out.replace('e_score_correction_bias', 'e_score_correction.bias');
  out = out.replace('language_model.', '');
  out = out.replace('text_model.', '');
  return out;
}

function orderTensors(files: readonly SafetensorsFile[]): SourceTensor[] {
  const byName = new Map<string, SourceTensor>();
  for (const file of files) {
    const sorted = [...file.header.tensors].sort((a, b) => byCodePoint(a.name, b.name));
    for (const info of sorted) {
      const name = converterName(info.name);
      if (name === undefined) continue;
      // A later part's tensor of the same name replaces the earlier one in place (a dict update).
      byName.set(name, { name, file, info });
    }
  }
  return [...byName.values()];
}

function checkIndex(dir: string, indexNames: ReadonlySet<string>, weightMap: Record<string, string>, files: readonly SafetensorsFile[]): void {
  const inParts = new Set<string>();
  for (const f of files) for (const t of f.header.tensors) inParts.add(t.name);
  const missing = [...indexNames].filter((n) => !inParts.has(n)).sort(byCodePoint);
  const extra = [...inParts].filter((n) => !indexNames.has(n)).sort(byCodePoint);
  if (missing.length === 0 && extra.length === 0) return;
  const list = (names: string[]) => names.slice(0, 3).join(', ') + (names.length > 3 ? ` and ${names.length - 3} more` : '');
  if (extra.length === 0) {
    const shards = [...new Set(missing.map((n) => weightMap[n]!))].sort(byCodePoint);
    throw folderError(dir, `shard ${shards.join(', ')} lacks tensors ${WEIGHT_INDEX_FILE} lists: ${list(missing)} (incomplete download?)`, 'convert.incompleteShard', { part: shards.join(', '), tensors: list(missing) });
  }
  throw folderError(dir, `${WEIGHT_INDEX_FILE} disagrees with the shards: ${missing.length ? `missing ${list(missing)}` : ''}${missing.length && extra.length ? '; ' : ''}${extra.length ? `not listed ${list(extra)}` : ''}`, 'convert.indexMismatch', { missing: list(missing), extra: list(extra) });
}

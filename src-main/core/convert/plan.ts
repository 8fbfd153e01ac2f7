// A Hugging Face folder → the GGUF llama.cpp's converter writes (convert_hf_to_gguf.py at the
// oracle's commit): the architecture module, the output type of each tensor, general.* naming,
// hparams and tokenizer keys in the converter's order, and a tensor source that computes the data.

import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { QuantfitError } from '../errors.ts';
import { GgmlType } from '../gguf/ggml-types.ts';
import { ggufLayout } from '../gguf/encode.ts';
import { GgufValueType as V, GGUF_DEFAULT_ALIGNMENT, GGUF_WRITE_VERSION, type GgufHeader, type GgufKv, type GgufTensorInfo } from '../gguf/types.ts';
import { CONVERTIBLE_DTYPES } from '../safetensors/dtypes.ts';
import { hfArchitecture, type HfConfig } from './hf-config.ts';
import { openHfFolder, type HfFolder, type SourceTensor } from './folder.ts';
import { generalKvs, parameterCounts } from './metadata.ts';
import { ConvertedSource, type PlannedOutput } from './source.ts';
import { ARCHITECTURES, architectureFor } from './arch/index.ts';
import { readTokenizerKvs } from './tokenizer/index.ts';
import type { ConvTensor } from './arch/types.ts';

/** convert_hf_to_gguf.py --outtype: f32, f16, bf16, or auto (the first 2-D tensor's 16-bit type). */
export type OutType = 'f32' | 'f16' | 'bf16' | 'auto';

/** LlamaFileType ids written as general.file_type. */
const FILE_TYPE = { f32: 0, f16: 1, bf16: 32 } as const;
const TENSOR_TYPE = { f32: GgmlType.F32, f16: GgmlType.F16, bf16: GgmlType.BF16 } as const;
const GGML_QUANT_VERSION = 2;

export interface ConvertOptions {
  readonly outtype?: OutType;
  /**
   * The tokenizer.* keys to write instead of reading the folder's tokenizer (tests splice in the
   * reference converter's own to check everything else byte for byte).
   */
  readonly tokenizerKvs?: readonly GgufKv[];
  /**
   * The name the model's general.* metadata is derived from instead of the folder's own name (a hub
   * cache snapshot is named by its commit; the repo's name is what the converter would have seen).
   */
  readonly nameFrom?: string;
  readonly signal?: AbortSignal;
}

/** torch's upcast: which outtype `auto` picks (the first tensor of 2+ dimensions stored as BF16 or F16). */
function guessOuttype(tensors: readonly SourceTensor[]): 'f16' | 'bf16' {
  for (const t of tensors) {
    if (t.info.shape.length < 2) continue;
    if (t.info.dtype === 'BF16') return 'bf16';
    if (t.info.dtype === 'F16') return 'f16';
  }
  return 'f16';
}

/** prepare_tensors' choice of type for one output tensor. */
function outputType(t: ConvTensor, outtype: 'f32' | 'f16' | 'bf16'): number {
  const nDims = t.shape.length;
  if (nDims <= 1 || t.name.endsWith('_norm.weight')) return GgmlType.F32;
  if (/^blk\.\d+\.ffn_gate_inp(_shexp)?\.weight$/.test(t.name) || !t.name.endsWith('.weight')) return GgmlType.F32;
  return TENSOR_TYPE[outtype];
}

function checkDtypes(tensors: readonly SourceTensor[]): void {
  for (const t of tensors) {
    if (!CONVERTIBLE_DTYPES.includes(t.info.dtype)) {
      const why = `dtype ${t.info.dtype} is not supported (Quantfit converts ${CONVERTIBLE_DTYPES.join(', ')} weights)`;
      throw new QuantfitError(why, { file: t.file.header.path, tensor: t.info.name }, { code: 'convert.badDtype', params: { tensor: t.info.name, dtype: t.info.dtype } });
    }
  }
}

/**
 * Without tokenizer.model: tokenizer.json's vocabulary plus its added tokens, as Gemma 3's converter
 * counts the real vocabulary (its token_embd keeps that many rows).
 */
async function tokenizerJsonVocab(dir: string): Promise<number | undefined> {
  if (await exists(join(dir, 'tokenizer.model'))) return undefined;
  try {
    const json = JSON.parse(await readFile(join(dir, 'tokenizer.json'), 'utf8')) as { model?: { vocab?: unknown }; added_tokens?: unknown };
    const vocab = json.model?.vocab;
    const size = Array.isArray(vocab) ? vocab.length : typeof vocab === 'object' && vocab !== null ? Object.keys(vocab).length : undefined;
    return size === undefined ? undefined : size + (Array.isArray(json.added_tokens) ? json.added_tokens.length : 0);
  } catch {
    return undefined; // the tokenizer reader reports a bad tokenizer.json in its own words
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

export interface Conversion {
  readonly source: ConvertedSource;
  readonly header: GgufHeader;
  readonly outtype: 'f32' | 'f16' | 'bf16';
  readonly arch: string;
}

/** Opens DIR and plans the conversion; the caller closes `source`. Nothing is read but headers and JSON. */
export async function planConversion(dir: string, options: ConvertOptions = {}): Promise<Conversion> {
  const folder = await openHfFolder(dir);
  try {
    return await planOpened(folder, options);
  } catch (err) {
    await folder.close();
    throw err;
  }
}

async function planOpened(folder: HfFolder, options: ConvertOptions): Promise<Conversion> {
  const { dir, config } = folder;
  const hfArch = hfArchitecture(config);
  const module = architectureFor(hfArch);
  if (!module) {
    const supported = ARCHITECTURES.flatMap((a) => a.hfArchitectures).join(', ');
    const why = hfArch === undefined ? "config.json names no 'architectures'" : `architecture '${hfArch}' is not supported`;
    throw new QuantfitError(`${why}; Quantfit converts ${supported}`, { file: join(dir, 'config.json'), key: 'architectures' }, { code: 'convert.unknownArch', params: { arch: hfArch ?? '', supported } });
  }
  checkDtypes(folder.tensors);
  if (options.tokenizerKvs === undefined && !(await exists(join(dir, 'tokenizer.model'))) && !(await exists(join(dir, 'tokenizer.json')))) {
    throw new QuantfitError('no tokenizer in the folder (tokenizer.model or tokenizer.json)', { file: dir }, { code: 'convert.noTokenizer', params: { dir } });
  }
  const outtype = options.outtype === undefined || options.outtype === 'auto' ? guessOuttype(folder.tensors) : options.outtype;
  const ctx = { config, tensors: folder.tensors, fileType: FILE_TYPE[outtype], tokenizerJsonVocab: await tokenizerJsonVocab(dir) };
  const convTensors = module.tensors(ctx);
  const outputs: PlannedOutput[] = convTensors.map((tensor) => ({ tensor, type: outputType(tensor, outtype) }));
  const counts = parameterCounts(convTensors);

  let tokenizer = options.tokenizerKvs;
  tokenizer ??= await readTokenizerKvs(dir, config, { arch: hfArch!, signal: options.signal });
  const kv: GgufKv[] = [
    { key: 'general.architecture', type: V.STRING, value: module.ggufArch },
    ...(module.earlyKvs?.(ctx) ?? []),
    ...(await generalKvs(dir, config, counts, options.nameFrom)),
    ...module.hparamKvs(ctx),
    { key: 'general.quantization_version', type: V.UINT32, value: GGML_QUANT_VERSION },
  ];
  for (const e of tokenizer) {
    const at = kv.findIndex((k) => k.key === e.key);
    if (at >= 0) kv[at] = e;
    else kv.push(e);
  }
  const header = virtualHeader(dir, kv, outputs);
  return { source: new ConvertedSource(header, outputs, folder), header, outtype, arch: module.ggufArch };
}

function virtualHeader(dir: string, kv: GgufKv[], outputs: readonly PlannedOutput[]): GgufHeader {
  const write = outputs.map((o) => ({ name: o.tensor.name, type: o.type, shape: [...o.tensor.shape].reverse() }));
  const layout = ggufLayout(kv, write, GGUF_DEFAULT_ALIGNMENT);
  const tensors: GgufTensorInfo[] = write.map((w, i) => ({
    name: w.name, type: w.type, shape: w.shape, offset: layout.offsets[i]!,
    byteSize: w.shape.reduce((a, b) => a * b, 1) * (w.type === GgmlType.F32 ? 4 : 2),
  }));
  return { path: dir, fileSize: layout.totalBytes, version: GGUF_WRITE_VERSION, alignment: GGUF_DEFAULT_ALIGNMENT, kv, tensors, dataOffset: layout.headerBytes };
}


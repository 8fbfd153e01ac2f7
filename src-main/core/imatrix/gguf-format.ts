// The GGUF importance-matrix format written by current llama-imatrix: metadata imatrix.datasets,
// imatrix.chunk_count, imatrix.chunk_size; per weight matrix two F32 tensors `<name>.in_sum2`
// (Σx² per column, ne = [n_per_row, n_experts]) and `<name>.counts` (tokens per expert). Other
// tensors (e.g. `<name>.in_sum`) are ignored, as llama-quantize ignores them.

import { quantfitError } from '../errors.ts';
import { GgufReader } from '../gguf/reader.ts';
import { GgufWriter } from '../gguf/writer.ts';
import { GgmlType } from '../gguf/ggml-types.ts';
import { GgufValueType, type GgufTensorInfo } from '../gguf/types.ts';
import { kv, kvEntry, toNumber } from '../gguf/metadata.ts';
import type { RawImatrix } from './types.ts';

/**
 * Largest `.in_sum2` tensor read (one float per column per expert): real ones are at most a few MB
 * (8192 columns × 512 experts is 16 MB). Checked before allocating, so a huge tensor in a crafted or
 * wrongly picked file is a clear error, not gigabytes of memory.
 */
export const MAX_IMATRIX_TENSOR_BYTES = 256 << 20;

const SUMS_SUFFIX = '.in_sum2';
const COUNTS_SUFFIX = '.counts';

/** lround: to the nearest integer, halves away from zero. */
function lround(v: number): number {
  return Math.sign(v) * Math.floor(Math.abs(v) + 0.5);
}

async function readF32(reader: GgufReader, t: GgufTensorInfo): Promise<Float32Array> {
  const bytes = await reader.readTensor(t);
  // Copy into an aligned buffer: tensor data need not start at a multiple of 4 in our read buffer.
  const out = new Float32Array(bytes.length / 4);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

export async function readGgufImatrix(path: string): Promise<RawImatrix> {
  const reader = await GgufReader.open(path);
  try {
    const h = reader.header;
    if (h.tensors.length < 1) throw quantfitError('imatrix.noTensors', {}, { file: path });

    const datasetsKv = kvEntry(h, 'imatrix.datasets');
    const datasets: string[] = [];
    if (datasetsKv && datasetsKv.type === GgufValueType.ARRAY && typeof datasetsKv.value === 'object' && datasetsKv.value.elementType === GgufValueType.STRING) {
      for (const item of datasetsKv.value.items) datasets.push(String(item));
    }
    const chunkCountKv = kvEntry(h, 'imatrix.chunk_count');
    const chunkSizeKv = kvEntry(h, 'imatrix.chunk_size');
    const hasMetadata = datasetsKv !== undefined && chunkCountKv !== undefined && chunkSizeKv !== undefined;
    const chunkCount = chunkCountKv ? toNumber(chunkCountKv.value) ?? 0 : 0;

    const pairs = new Map<string, { sums?: GgufTensorInfo; counts?: GgufTensorInfo }>();
    for (const t of h.tensors) {
      if (t.name.endsWith(SUMS_SUFFIX)) {
        const name = t.name.slice(0, -SUMS_SUFFIX.length);
        if (name === '') continue;
        pairs.set(name, { ...pairs.get(name), sums: t });
      } else if (t.name.endsWith(COUNTS_SUFFIX)) {
        const name = t.name.slice(0, -COUNTS_SUFFIX.length);
        if (name === '') continue;
        pairs.set(name, { ...pairs.get(name), counts: t });
      }
    }

    const entries = new Map<string, { sums: Float32Array; counts: number[] }>();
    // llama.cpp walks a std::map, i.e. names in byte order; keep the same order.
    for (const name of [...pairs.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
      const { sums, counts } = pairs.get(name)!;
      if (!sums || !counts) {
        throw quantfitError(sums ? 'imatrix.noCounts' : 'imatrix.noSums', { name }, { file: path, tensor: name });
      }
      if (sums.type !== GgmlType.F32 || counts.type !== GgmlType.F32) {
        throw quantfitError('imatrix.notF32', { name }, { file: path, tensor: name });
      }
      if (sums.byteSize > MAX_IMATRIX_TENSOR_BYTES) {
        throw quantfitError('imatrix.tooBig', { name, sums: sums.byteSize / 4, bytes: sums.byteSize, max: MAX_IMATRIX_TENSOR_BYTES }, { file: path, tensor: sums.name });
      }
      // One count per expert: never more counts than sums (checked again exactly below).
      if (counts.byteSize > sums.byteSize) {
        throw quantfitError('imatrix.tooManyCounts', { name, counts: counts.byteSize / 4, sums: sums.byteSize / 4 }, { file: path, tensor: counts.name });
      }
      const sumValues = await readF32(reader, sums);
      const countValues = [...(await readF32(reader, counts))].map(lround);
      if (countValues.length < 1 || sumValues.length % countValues.length !== 0) {
        throw quantfitError('imatrix.notMultiple', { name, sums: sumValues.length, counts: countValues.length }, { file: path, tensor: name });
      }
      entries.set(name, { sums: sumValues, counts: countValues });
    }
    return { format: 'gguf', entries, datasets, chunkCount, hasMetadata };
  } finally {
    await reader.close();
  }
}

/** An importance matrix in llama-imatrix's raw form: per weight matrix Σx² per column (experts concatenated) and tokens per expert. */
export interface ImatrixData {
  readonly entries: ReadonlyMap<string, { readonly sums: Float32Array; readonly counts: readonly number[] }>;
  readonly datasets: readonly string[];
  readonly chunkCount: number;
  readonly chunkSize: number;
}

/**
 * Writes `data` as llama-imatrix does: general.type, the three imatrix.* keys, then per entry in name
 * order `<name>.in_sum2` [n_per_row, n_experts] and `<name>.counts` [1, n_experts], both F32.
 */
export async function writeGgufImatrix(path: string, data: ImatrixData, signal?: AbortSignal): Promise<void> {
  const names = [...data.entries.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const tensors: Array<{ name: string; type: number; shape: number[]; values: Float32Array }> = [];
  for (const name of names) {
    const { sums, counts } = data.entries.get(name)!;
    const nMat = counts.length;
    if (nMat === 0 || sums.length === 0) continue;
    // ggml drops trailing dimensions of 1 when it writes a tensor: a dense entry is [n_per_row] and [1].
    const experts = nMat > 1 ? [nMat] : [];
    tensors.push({ name: `${name}${SUMS_SUFFIX}`, type: GgmlType.F32, shape: [sums.length / nMat, ...experts], values: sums });
    tensors.push({ name: `${name}${COUNTS_SUFFIX}`, type: GgmlType.F32, shape: [1, ...experts], values: Float32Array.from(counts) });
  }
  const writer = await GgufWriter.create(path, {
    kv: [
      kv.string('general.type', 'imatrix'),
      kv.array('imatrix.datasets', GgufValueType.STRING, [...data.datasets]),
      kv.u32('imatrix.chunk_count', data.chunkCount),
      kv.u32('imatrix.chunk_size', data.chunkSize),
    ],
    tensors: tensors.map(({ name, type, shape }) => ({ name, type, shape })),
    signal,
  });
  try {
    for (const t of tensors) await writer.writeTensorData(new Uint8Array(t.values.buffer, t.values.byteOffset, t.values.byteLength));
    await writer.finish();
  } catch (err) {
    await writer.abort();
    throw err;
  }
}

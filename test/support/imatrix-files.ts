// Writes importance-matrix files in llama-imatrix's two formats, for tests: the legacy .dat and
// (see writeGgufImatrix) the GGUF form.

export interface ImatrixFileEntry {
  name: string;
  /** Legacy: the stored values (mean·ncall). GGUF: Σx² per column, experts concatenated. */
  values: Float32Array;
  /** Legacy: [ncall]. GGUF: tokens per expert. */
  counts: number[];
  /** GGUF: the stored shape of `.in_sum2`, to write deliberately inconsistent files. */
  sumsShape?: number[];
}

export function legacyImatrixBytes(entries: readonly ImatrixFileEntry[], trailer?: { chunkCount: number; dataset: string }): Uint8Array {
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  const i32 = (v: number): Uint8Array => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setInt32(0, v, true);
    return b;
  };
  parts.push(i32(entries.length));
  for (const e of entries) {
    const name = enc.encode(e.name);
    parts.push(i32(name.length), name, i32(e.counts[0] ?? 0), i32(e.values.length));
    parts.push(new Uint8Array(e.values.buffer.slice(e.values.byteOffset, e.values.byteOffset + e.values.byteLength)));
  }
  if (trailer) {
    const ds = enc.encode(trailer.dataset);
    parts.push(i32(trailer.chunkCount), i32(ds.length), ds);
  }
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

import { GgufWriter } from '../../src-main/core/gguf/writer.ts';
import { kv as kvOf } from '../../src-main/core/gguf/metadata.ts';
import { GgufValueType, type GgufKv } from '../../src-main/core/gguf/types.ts';
import { GgmlType } from '../../src-main/core/gguf/ggml-types.ts';

/** A GGUF imatrix as llama-imatrix writes it: tensors sorted by name, `.counts` as [1, n_experts]. */
export async function writeGgufImatrix(
  path: string,
  entries: readonly ImatrixFileEntry[],
  meta: { datasets?: string[]; chunkCount?: number; chunkSize?: number; omitMetadata?: boolean } = {},
): Promise<void> {
  const kv: GgufKv[] = [kvOf.string('general.type', 'imatrix')];
  if (!meta.omitMetadata) {
    kv.push(
      kvOf.array('imatrix.datasets', GgufValueType.STRING, meta.datasets ?? ['calibration.txt']),
      kvOf.u32('imatrix.chunk_count', meta.chunkCount ?? 10),
      kvOf.u32('imatrix.chunk_size', meta.chunkSize ?? 512),
    );
  }
  const tensors: Array<{ name: string; type: number; shape: number[]; data: Float32Array }> = [];
  for (const e of entries) {
    const nExperts = e.counts.length;
    tensors.push({ name: `${e.name}.counts`, type: GgmlType.F32, shape: [1, nExperts], data: Float32Array.from(e.counts) });
    tensors.push({ name: `${e.name}.in_sum2`, type: GgmlType.F32, shape: e.sumsShape ?? [e.values.length / nExperts, nExperts], data: e.values });
  }
  tensors.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const w = await GgufWriter.create(path, { kv, tensors: tensors.map(({ name, type, shape }) => ({ name, type, shape })) });
  for (const t of tensors) await w.writeTensorData(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  await w.finish();
}

/** Writes a legacy .dat file. */
export async function writeLegacyImatrix(path: string, entries: readonly ImatrixFileEntry[], trailer?: { chunkCount: number; dataset: string }): Promise<void> {
  const { writeFile } = await import('node:fs/promises');
  await writeFile(path, legacyImatrixBytes(entries, trailer));
}

// The legacy `.dat` importance-matrix format written by older llama-imatrix:
//   i32 n_entries, then per entry { i32 len; char name[len]; i32 ncall; i32 nval; f32 values[nval] },
//   then optionally { i32 chunk_count; i32 len; char dataset[len] }.
// Values are stored as mean(x²)·ncall; llama-quantize divides by ncall (when > 0) to get the mean.

import { QuantfitError } from '../errors.ts';
import type { RawImatrix } from './types.ts';

/** Parses a whole legacy file (these files are small: one float per column per weight matrix). */
export function parseLegacyImatrix(bytes: Uint8Array, file: string): RawImatrix {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  const need = (n: number, what: string): void => {
    if (pos + n > bytes.length) {
      throw new QuantfitError(`imatrix file is truncated: ${what} needs ${n} bytes, ${bytes.length - pos} left`, { file, offset: pos });
    }
  };
  const i32 = (what: string): number => {
    need(4, what);
    const v = view.getInt32(pos, true);
    pos += 4;
    return v;
  };

  const nEntries = i32('the entry count');
  if (nEntries < 1) throw new QuantfitError(`imatrix file has no entries (count ${nEntries})`, { file, offset: 0 });
  // Each entry takes at least 16 bytes, so a count larger than that cannot be real.
  if (nEntries > (bytes.length - 4) / 16) {
    throw new QuantfitError(`imatrix entry count ${nEntries} cannot fit in a ${bytes.length}-byte file`, { file, offset: 0 });
  }
  const entries = new Map<string, { sums: Float32Array; counts: number[] }>();
  for (let i = 0; i < nEntries; i++) {
    const entryOffset = pos;
    const len = i32(`the name length of entry ${i + 1}`);
    if (len < 0) throw new QuantfitError(`entry ${i + 1} has a negative name length ${len}`, { file, offset: entryOffset });
    need(len, `the name of entry ${i + 1}`);
    // llama.cpp reads the name as a C string: it ends at the first NUL.
    let name = new TextDecoder().decode(bytes.subarray(pos, pos + len));
    const nul = name.indexOf('\0');
    if (nul >= 0) name = name.slice(0, nul);
    pos += len;
    const ncall = i32(`the call count of '${name}'`);
    const nval = i32(`the value count of '${name}'`);
    if (nval < 1) throw new QuantfitError(`entry '${name}' has ${nval} values`, { file, offset: pos - 4, key: name });
    need(nval * 4, `the ${nval} values of '${name}'`);
    const sums = new Float32Array(nval);
    for (let k = 0; k < nval; k++) sums[k] = view.getFloat32(pos + 4 * k, true);
    pos += nval * 4;
    // A repeated name replaces the earlier entry, as llama.cpp's map assignment does.
    entries.set(name, { sums, counts: [ncall] });
  }

  let chunkCount = 0;
  const datasets: string[] = [];
  if (pos < bytes.length) {
    if (pos + 4 <= bytes.length) {
      chunkCount = view.getInt32(pos, true);
      pos += 4;
      if (pos + 4 <= bytes.length) {
        const len = view.getInt32(pos, true);
        pos += 4;
        if (len > 0 && pos + len <= bytes.length) {
          let dataset = new TextDecoder().decode(bytes.subarray(pos, pos + len));
          const nul = dataset.indexOf('\0');
          if (nul >= 0) dataset = dataset.slice(0, nul);
          datasets.push(dataset);
        }
      }
    }
  }
  return { format: 'legacy', entries, datasets, chunkCount, hasMetadata: false };
}

// The legacy `.dat` importance-matrix format written by older llama-imatrix:
//   i32 n_entries, then per entry { i32 len; char name[len]; i32 ncall; i32 nval; f32 values[nval] },
//   then optionally { i32 chunk_count; i32 len; char dataset[len] }.
// Values are stored as mean(x²)·ncall; llama-quantize divides by ncall (when > 0) to get the mean.

import { quantfitError } from '../errors.ts';
import type { Message } from '../../../src-shared/message.ts';
import { msg } from '../../../src-shared/messages/index.ts';
import type { RawImatrix } from './types.ts';

/** Parses a whole legacy file (these files are small: one float per column per weight matrix). */
export function parseLegacyImatrix(bytes: Uint8Array, file: string): RawImatrix {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  const need = (n: number, what: Message): void => {
    if (pos + n > bytes.length) {
      throw quantfitError('imatrix.truncated', { what, need: n, left: bytes.length - pos }, { file, offset: pos });
    }
  };
  const i32 = (what: Message): number => {
    need(4, what);
    const v = view.getInt32(pos, true);
    pos += 4;
    return v;
  };

  const nEntries = i32(msg('imatrix.what.count'));
  if (nEntries < 1) throw quantfitError('imatrix.noEntries', { count: nEntries }, { file, offset: 0 });
  // Each entry takes at least 16 bytes, so a count larger than that cannot be real.
  if (nEntries > (bytes.length - 4) / 16) {
    throw quantfitError('imatrix.countTooBig', { count: nEntries, size: bytes.length }, { file, offset: 0 });
  }
  const entries = new Map<string, { sums: Float32Array; counts: number[] }>();
  for (let i = 0; i < nEntries; i++) {
    const entryOffset = pos;
    const len = i32(msg('imatrix.what.nameLength', { index: i + 1 }));
    if (len < 0) throw quantfitError('imatrix.negativeNameLength', { index: i + 1, length: len }, { file, offset: entryOffset });
    need(len, msg('imatrix.what.name', { index: i + 1 }));
    // llama.cpp reads the name as a C string: it ends at the first NUL.
    let name = new TextDecoder().decode(bytes.subarray(pos, pos + len));
    const nul = name.indexOf('\0');
    if (nul >= 0) name = name.slice(0, nul);
    pos += len;
    const ncall = i32(msg('imatrix.what.calls', { name }));
    const nval = i32(msg('imatrix.what.valueCount', { name }));
    if (nval < 1) throw quantfitError('imatrix.badValueCount', { name, count: nval }, { file, offset: pos - 4, key: name });
    need(nval * 4, msg('imatrix.what.values', { count: nval, name }));
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

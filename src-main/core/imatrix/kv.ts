// The metadata llama-quantize (tools/quantize/quantize.cpp) adds when it quantizes with an importance
// matrix, as --override-kv entries so that they land after general.file_type in the same order.

import type { KvOverride } from '../quant/policy.ts';
import type { Imatrix } from './types.ts';

/** The metadata llama-quantize records about an importance matrix (tools/quantize/quantize.cpp). */
export function imatrixKvOverrides(imatrix: Imatrix): KvOverride[] {
  // With every entry filtered away llama-quantize proceeds as if no matrix was given.
  if (imatrix.entries.size === 0) return [];
  // llama-quantize copies strings into a 128-byte field: at most 127 bytes survive.
  const clip = (s: string) => {
    const b = Buffer.from(s, 'utf8');
    if (b.length <= 127) return s;
    let n = 127;
    while (n > 0 && (b[n]! & 0xc0) === 0x80) n--; // stay on a character boundary
    return b.subarray(0, n).toString('utf8');
  };
  const out: KvOverride[] = [{ key: 'quantize.imatrix.file', type: 'str', value: clip(imatrix.file) }];
  if (imatrix.datasets.length > 0) out.push({ key: 'quantize.imatrix.dataset', type: 'str', value: clip(imatrix.datasets[0]!) });
  out.push({ key: 'quantize.imatrix.entries_count', type: 'int', value: BigInt(imatrix.entries.size) });
  if (imatrix.chunkCount > 0) out.push({ key: 'quantize.imatrix.chunks_count', type: 'int', value: BigInt(imatrix.chunkCount) });
  return out;
}

// Turning a file's raw sums into the per-column means llama-quantize hands to the quantizers, and the
// --include-weights / --exclude-weights filters, exactly as tools/quantize does them.

import { quantfitError } from '../errors.ts';
import type { Imatrix, RawImatrix } from './types.ts';

export function normaliseImatrix(raw: RawImatrix, file: string): Imatrix {
  if (raw.format === 'gguf' && !raw.hasMetadata) {
    throw quantfitError('imatrix.noMetadata', {}, { file });
  }
  const entries = new Map<string, Float32Array>();
  for (const [name, { sums, counts }] of raw.entries) {
    const out = new Float32Array(sums.length);
    if (raw.format === 'gguf') {
      // Σx² per expert divided by that expert's token count; an expert never routed to gets 1.
      const nExperts = counts.length;
      const ne0 = sums.length / nExperts;
      for (let j = 0; j < nExperts; j++) {
        const count = Math.fround(counts[j]!);
        for (let i = 0; i < ne0; i++) out[j * ne0 + i] = count > 0 ? Math.fround(sums[j * ne0 + i]! / count) : 1;
      }
    } else {
      const ncall = counts[0] ?? 0;
      if (ncall > 0) {
        const divisor = Math.fround(ncall);
        for (let i = 0; i < sums.length; i++) out[i] = Math.fround(sums[i]! / divisor);
      } else {
        out.set(sums);
      }
    }
    entries.set(name, out);
  }
  return { file, format: raw.format, entries, datasets: raw.datasets, chunkCount: raw.chunkCount };
}

/** llama-quantize refuses an imatrix with a NaN or infinity in any entry it kept. */
export function assertFiniteImatrix(imatrix: Imatrix): void {
  for (const [name, values] of imatrix.entries) {
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i]!)) {
        throw quantfitError('imatrix.notFinite', { name, value: String(values[i]), column: i }, { file: imatrix.file, key: name });
      }
    }
  }
}

/** --exclude-weights drops entries whose name contains any pattern; --include-weights keeps only those. */
export function filterImatrix(imatrix: Imatrix, filter: { include?: readonly string[]; exclude?: readonly string[] }): Imatrix {
  const include = filter.include ?? [];
  const exclude = filter.exclude ?? [];
  if (include.length > 0 && exclude.length > 0) {
    throw quantfitError('imatrix.includeAndExclude');
  }
  let names = [...imatrix.entries.keys()];
  if (exclude.length > 0) names = names.filter((n) => !exclude.some((p) => n.includes(p)));
  if (include.length > 0) names = names.filter((n) => include.some((p) => n.includes(p)));
  const entries = new Map<string, Float32Array>();
  for (const n of names) entries.set(n, imatrix.entries.get(n)!);
  return { ...imatrix, entries };
}

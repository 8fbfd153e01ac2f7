// Loading an importance matrix the way llama-quantize does: GGUF form first, the legacy .dat form
// when the file is not GGUF; then normalisation, include/exclude filters and the finiteness check.

import { open, readFile, stat } from 'node:fs/promises';
import { quantfitError, reasonOf } from '../errors.ts';
import { parseLegacyImatrix } from './legacy.ts';
import { readGgufImatrix } from './gguf-format.ts';
import { normaliseImatrix, filterImatrix, assertFiniteImatrix } from './normalise.ts';
import type { Imatrix } from './types.ts';

export type { Imatrix, RawImatrix } from './types.ts';
export { filterImatrix } from './normalise.ts';
export { imatrixKvOverrides } from './kv.ts';

/**
 * Largest legacy file we read whole (checked before reading). Dense models' files are a few MB even
 * at 70B; only the largest MoE models (hundreds of experts × ~60 layers) approach 1 GB, and their
 * matrices can be converted to the GGUF form, which is read tensor by tensor.
 */
export const MAX_LEGACY_BYTES = 1 << 30;

async function startsWithGgufMagic(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const magic = Buffer.alloc(4);
    const { bytesRead } = await fh.read(magic, 0, 4, 0);
    return bytesRead === 4 && magic.toString('latin1') === 'GGUF';
  } finally {
    await fh.close();
  }
}

export interface LoadImatrixOptions {
  include?: readonly string[];
  exclude?: readonly string[];
}

export async function loadImatrix(path: string, options: LoadImatrixOptions = {}): Promise<Imatrix> {
  let isGguf: boolean;
  try {
    isGguf = await startsWithGgufMagic(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw code === 'ENOENT' ? quantfitError('imatrix.notFound', {}, { file: path }) : quantfitError('imatrix.cannotRead', { error: reasonOf(err) }, { file: path });
  }
  let raw;
  if (isGguf) {
    raw = await readGgufImatrix(path);
  } else {
    // Sized first: a model or other big file picked by mistake is refused without reading it.
    const size = (await stat(path)).size;
    if (size > MAX_LEGACY_BYTES) {
      throw quantfitError('imatrix.legacyTooBig', { size, max: MAX_LEGACY_BYTES }, { file: path });
    }
    raw = parseLegacyImatrix(await readFile(path), path);
  }
  const imatrix = filterImatrix(normaliseImatrix(raw, path), options);
  assertFiniteImatrix(imatrix);
  return imatrix;
}

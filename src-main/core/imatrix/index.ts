// Loading an importance matrix the way llama-quantize does: GGUF form first, the legacy .dat form
// when the file is not GGUF; then normalisation, include/exclude filters and the finiteness check.

import { open } from 'node:fs/promises';
import { readFile } from 'node:fs/promises';
import { QuantfitError } from '../errors.ts';
import { parseLegacyImatrix } from './legacy.ts';
import { readGgufImatrix } from './gguf-format.ts';
import { normaliseImatrix, filterImatrix, assertFiniteImatrix } from './normalise.ts';
import type { Imatrix } from './types.ts';

export type { Imatrix, RawImatrix } from './types.ts';
export { filterImatrix } from './normalise.ts';
export { imatrixKvOverrides } from './kv.ts';

/** Largest legacy file we read whole; real ones are a few MB even for 70B models. */
const MAX_LEGACY_BYTES = 1 << 30;

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
    throw new QuantfitError(code === 'ENOENT' ? 'imatrix file not found' : `cannot read the imatrix file (${code ?? String(err)})`, { file: path });
  }
  let raw;
  if (isGguf) {
    raw = await readGgufImatrix(path);
  } else {
    const bytes = await readFile(path);
    if (bytes.length > MAX_LEGACY_BYTES) throw new QuantfitError('file is too large to be a legacy imatrix', { file: path });
    raw = parseLegacyImatrix(bytes, path);
  }
  const imatrix = filterImatrix(normaliseImatrix(raw, path), options);
  assertFiniteImatrix(imatrix);
  return imatrix;
}

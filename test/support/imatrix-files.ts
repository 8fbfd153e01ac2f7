// Writes importance-matrix files in llama-imatrix's two formats, for tests: the legacy .dat and
// (see writeGgufImatrix) the GGUF form.

export interface ImatrixFileEntry {
  name: string;
  /** Legacy: the stored values (mean·ncall). GGUF: Σx² per column, experts concatenated. */
  values: Float32Array;
  /** Legacy: [ncall]. GGUF: tokens per expert. */
  counts: number[];
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

// GGUF engine throughput: the streaming writer (large chunks and row-sized chunks, sha256 included)
// against a plain fs write + sha256 of the same bytes, ranged reads through GgufReader, and header
// parsing of a vocabulary-sized header. Wall-clock MB/s; the disk and the machine's load both show.
// Usage: node --import tsx bench/gguf-io.ts [MiB of tensor data, default 1024] [output folder, default tmpdir]
import { createHash } from 'node:crypto';
import { open, rm, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GgufWriter } from '../src-main/core/gguf/writer.ts';
import { GgufReader, readGgufHeader } from '../src-main/core/gguf/reader.ts';
import { GgmlType } from '../src-main/core/gguf/ggml-types.ts';
import { GgufValueType } from '../src-main/core/gguf/types.ts';
import { kv } from '../src-main/core/gguf/metadata.ts';

const mib = Number(process.argv[2] ?? 1024);
const dir = await mkdtemp(join(process.argv[3] ?? tmpdir(), 'quantfit-bench-gguf-'));
const ROW = 4096; // f32 elements per row → 16 KiB rows
const rows = Math.max(1, Math.floor((mib << 20) / (ROW * 4)));
const bytes = rows * ROW * 4;
const chunk = new Uint8Array(16 << 20).map((_, i) => (i * 131) & 0xff);
const rate = (n: number, ms: number) => `${((n / (1 << 20)) / (ms / 1000)).toFixed(0)} MiB/s`;

async function time<T>(label: string, n: number, fn: () => Promise<T>): Promise<T> {
  const t = performance.now();
  const out = await fn();
  const ms = performance.now() - t;
  console.log(`${label.padEnd(44)} ${(ms / 1000).toFixed(2).padStart(7)} s  ${rate(n, ms).padStart(11)}`);
  return out;
}

async function writeGguf(path: string, piece: number): Promise<void> {
  const w = await GgufWriter.create(path, { kv: [kv.string('general.architecture', 'bench')], tensors: [{ name: 'w', type: GgmlType.F32, shape: [ROW, rows] }] });
  for (let at = 0; at < bytes; at += piece) {
    // `piece` divides the 16 MiB source chunk, so a piece never straddles its end.
    const off = at % chunk.length;
    await w.writeTensorData(chunk.subarray(off, off + Math.min(piece, bytes - at)));
  }
  await w.finish();
}

try {
  console.log(`# ${mib} MiB of tensor data in ${dir}`);
  await time('plain fs write + sha256 (16 MiB chunks)', bytes, async () => {
    const fh = await open(join(dir, 'plain.bin'), 'w');
    const h = createHash('sha256');
    for (let at = 0; at < bytes; at += chunk.length) {
      const piece = chunk.subarray(0, Math.min(chunk.length, bytes - at));
      h.update(piece);
      await fh.write(piece);
    }
    await fh.sync();
    await fh.close();
    h.digest('hex');
  });
  await rm(join(dir, 'plain.bin'));
  await time('GgufWriter, 16 MiB chunks', bytes, () => writeGguf(join(dir, 'big.gguf'), 16 << 20));
  await time('GgufWriter, one 16 KiB row per call', bytes, () => writeGguf(join(dir, 'rows.gguf'), ROW * 4));
  await rm(join(dir, 'rows.gguf'));
  await time('GgufReader.read, 16 MiB ranges', bytes, async () => {
    const r = await GgufReader.open(join(dir, 'big.gguf'));
    const t = r.header.tensors[0];
    const buf = new Uint8Array(16 << 20);
    for (let at = 0; at < t.byteSize; at += buf.length) await r.read(t, at, Math.min(buf.length, t.byteSize - at), buf);
    await r.close();
  });
  await rm(join(dir, 'big.gguf'));

  // A 256k-token vocabulary with merges, scores and types: the header of a modern model.
  const n = 256_000;
  const tokens = Array.from({ length: n }, (_, i) => `▁token${i}`);
  const vocabKv = [
    kv.array('tokenizer.ggml.tokens', GgufValueType.STRING, tokens),
    kv.array('tokenizer.ggml.merges', GgufValueType.STRING, tokens.map((t) => `${t.slice(0, 2)} ${t.slice(2)}`)),
    kv.array('tokenizer.ggml.scores', GgufValueType.FLOAT32, tokens.map((_, i) => -i)),
    kv.array('tokenizer.ggml.token_type', GgufValueType.INT32, tokens.map(() => 1)),
  ];
  const vocabPath = join(dir, 'vocab.gguf');
  const w = await GgufWriter.create(vocabPath, { kv: vocabKv, tensors: [] });
  const { bytes: headerBytes } = await w.finish();
  await time(`readGgufHeader, ${n / 1000}k-token vocabulary header`, headerBytes, () => readGgufHeader(vocabPath));
} finally {
  await rm(dir, { recursive: true, force: true });
}

// Blob path throughput: streaming sha256 of a file, and the streamed POST /api/blobs upload into the
// stand-in server on loopback (which hashes and writes what it receives, as Ollama does), against
// a plain read of the same file. Wall-clock MiB/s; disk and machine load both show.
// Usage: node --import tsx bench/ollama-upload.ts [MiB, default 512] [folder, default tmpdir]
import { createReadStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256File } from '../src-main/core/ollama/blobs.ts';
import { OllamaClient } from '../src-main/core/ollama/client.ts';
import { resolveOllamaHost } from '../src-main/core/ollama/host.ts';
import { startFakeOllama } from '../test/support/fake-ollama.ts';

const mib = Number(process.argv[2] ?? 512);
const dir = await mkdtemp(join(process.argv[3] ?? tmpdir(), 'quantfit-bench-upload-'));
const path = join(dir, 'blob.bin');
const rate = (n: number, ms: number) => `${((n / (1 << 20)) / (ms / 1000)).toFixed(0)} MiB/s`;

async function time<T>(label: string, n: number, fn: () => Promise<T>): Promise<T> {
  const t = performance.now();
  const out = await fn();
  const ms = performance.now() - t;
  console.log(`${label.padEnd(40)} ${(ms / 1000).toFixed(2).padStart(7)} s  ${rate(n, ms).padStart(11)}`);
  return out;
}

const fake = await startFakeOllama();
try {
  const fh = await open(path, 'w');
  const chunk = new Uint8Array(16 << 20).map((_, i) => (i * 131) & 0xff);
  for (let i = 0; i < Math.ceil(mib / 16); i++) await fh.write(chunk);
  await fh.close();
  const bytes = Math.ceil(mib / 16) * (16 << 20);

  await time('plain read (createReadStream)', bytes, async () => {
    for await (const _ of createReadStream(path, { highWaterMark: 1 << 20 })) void _;
  });
  const hex = await time('sha256File', bytes, () => sha256File(path));
  await time('uploadBlob → stand-in (hash + write)', bytes, () => new OllamaClient(resolveOllamaHost({ explicit: fake.url })).uploadBlob(path, hex));
} finally {
  await fake.stop();
  await rm(dir, { recursive: true, force: true });
}

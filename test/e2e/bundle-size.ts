// The renderer's shipped JS + CSS, gzipped, against the budget. Usable as a script:
//   node --import tsx test/e2e/bundle-size.ts [dir]     (default out/renderer; exit 1 over budget)
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

export const BUNDLE_LIMIT_BYTES = 150 * 1024;

export interface BundleSize {
  files: Array<{ name: string; raw: number; gzip: number }>;
  totalGzip: number;
}

export function measureBundle(rendererDir: string): BundleSize {
  const assets = join(rendererDir, 'assets');
  const files = readdirSync(assets)
    .filter((f) => f.endsWith('.js') || f.endsWith('.css'))
    .sort()
    .map((name) => {
      const data = readFileSync(join(assets, name));
      return { name, raw: data.length, gzip: gzipSync(data, { level: 9 }).length };
    });
  return { files, totalGzip: files.reduce((a, f) => a + f.gzip, 0) };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const dir = process.argv[2] ?? 'out/renderer';
  const size = measureBundle(dir);
  for (const f of size.files) console.log(`${f.name}  ${f.raw} B  gzip ${f.gzip} B`);
  console.log(`total gzip ${size.totalGzip} B (limit ${BUNDLE_LIMIT_BYTES} B)`);
  process.exit(size.totalGzip > BUNDLE_LIMIT_BYTES ? 1 : 0);
}

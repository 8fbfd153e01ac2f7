// Builds the `quantfit` CLI into out/cli/ as plain ES modules (runs from `prepare`, beside the wasm
// build, so `npm install` leaves a CLI that starts without compiling TypeScript).
//
// Entries: cli/main.ts (bin/quantfit.mjs imports it) and the quantizer's worker thread. Every
// command is a dynamic import in cli/main.ts, so code splitting gives each command its own chunks,
// loaded only when that command runs; a new command needs nothing here. Packages stay external
// (resolved from node_modules at run time). The output folder is flat, so every output file sits
// two levels below the package root, as src-main/core/package-root.ts expects.
//
// Also writes out/cli/inputs.json (each source's size and mtime) so bin/quantfit.mjs can tell when
// the build is older than the sources. Without esbuild (a production install) it says so, exits 0.

import { mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// `--outdir DIR` (tests): another folder, which must also sit two levels below the root.
const outFlag = process.argv.indexOf('--outdir');
const outdir = resolve(root, outFlag > 0 ? process.argv[outFlag + 1] ?? '' : 'out/cli');
if (relative(root, outdir).split(/[\\/]/).length !== 2) {
  console.error(`build-cli: ${outdir} is not two folders below ${root} (src-main/core/package-root.ts relies on it)`);
  process.exit(1);
}

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  console.warn('build-cli: esbuild is not installed; bin/quantfit.mjs will say how to build the CLI');
  process.exit(0);
}

const started = performance.now();
// A temp folder renamed into place: a failed build leaves the previous one whole.
const tmp = `${outdir}.${process.pid}.tmp`;
rmSync(tmp, { recursive: true, force: true });
mkdirSync(dirname(outdir), { recursive: true });
let result;
try {
  result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: {
      main: 'src-main/cli/main.ts',
      // worker-pool.ts starts `quant-worker.js` from beside the running module when it exists.
      'quant-worker': 'src-main/core/quant/quant-worker.ts',
    },
    outdir: tmp,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    chunkNames: 'chunk-[hash]',
    metafile: true,
    logLevel: 'warning',
  });
} catch (err) {
  rmSync(tmp, { recursive: true, force: true });
  console.error(`build-cli: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
const inputs = Object.keys(result.metafile.inputs)
  .map((p) => resolve(root, p))
  .map((p) => {
    const st = statSync(p);
    return [relative(root, p), st.size, st.mtimeMs];
  });
writeFileSync(join(tmp, 'inputs.json'), JSON.stringify(inputs));
rmSync(outdir, { recursive: true, force: true });
renameSync(tmp, outdir);
console.log(`build-cli: ${relative(root, outdir)} (${inputs.length} sources, ${((performance.now() - started) / 1000).toFixed(1)} s)`);

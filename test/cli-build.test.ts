// The compiled CLI (scripts/build-cli.mjs → out/cli/, what bin/quantfit.mjs runs after `npm install`)
// behaves as the TypeScript sources do: a fresh build into a scratch folder gives the same
// `inspect --json` output and the same quantized bytes (its worker thread and the WebAssembly file
// found from the build's own location). After `npm install` (CI) out/cli itself must exist and be
// what bin/quantfit.mjs runs, without falling back to the sources.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './support/cli.ts';
import { makeTempDir, removeTempDir, tinyLlama, writeSyntheticGguf } from './support/synthetic-gguf.ts';

const scratchBuild = `out/.cli-test-${process.pid}`;
let dir = '';
let model = '';

/** Runs `quantfit args` through the scratch build's main.js, as bin/quantfit.mjs runs out/cli's. */
function runBuild(args: readonly string[]): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [join(repoRoot, scratchBuild, 'run.mjs'), ...args], { cwd: repoRoot, encoding: 'utf8' });
}

/** Runs `quantfit args` from the TypeScript sources. */
function runSources(args: readonly string[]): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, ['bin/quantfit.mjs', ...args], {
    cwd: repoRoot, encoding: 'utf8', env: { ...process.env, QUANTFIT_CLI_SOURCES: '1' },
  });
}

before(async () => {
  dir = await makeTempDir('cli-build');
  model = join(dir, 'tiny.gguf');
  // Rows of 256, so the K-quant kernels (WebAssembly where built) do the work.
  await writeSyntheticGguf(model, tinyLlama({ nEmbd: 256, nLayer: 1, nHead: 4, nHeadKv: 2, nFf: 256, nVocab: 32, type: 'F16' }));
  const build = spawnSync(process.execPath, ['scripts/build-cli.mjs', '--outdir', scratchBuild], { cwd: repoRoot, encoding: 'utf8' });
  assert.equal(build.status, 0, build.stderr);
  writeFileSync(join(repoRoot, scratchBuild, 'run.mjs'), "const { main } = await import('./main.js');\nprocess.exitCode = await main(process.argv.slice(2));\n");
});

after(async () => {
  rmSync(join(repoRoot, scratchBuild), { recursive: true, force: true });
  await removeTempDir(dir);
});

test('the build has the CLI entry, the worker entry and the stamps of its sources', () => {
  for (const file of ['main.js', 'quant-worker.js', 'inputs.json']) {
    assert.ok(existsSync(join(repoRoot, scratchBuild, file)), `${file} is missing`);
  }
  const inputs = JSON.parse(readFileSync(join(repoRoot, scratchBuild, 'inputs.json'), 'utf8')) as Array<[string, number, number]>;
  assert.ok(inputs.some(([path]) => path === 'src-main/cli/main.ts'));
  assert.ok(inputs.some(([path]) => path === 'src-main/core/quant/quant-worker.ts'));
});

test('the build prints the same inspect --json as the sources', () => {
  const built = runBuild(['inspect', model, '--json']);
  const sources = runSources(['inspect', model, '--json']);
  assert.equal(built.status, 0, built.stderr);
  assert.equal(sources.status, 0, sources.stderr);
  assert.equal(built.stdout, sources.stdout);
  assert.ok((JSON.parse(built.stdout) as { tensors: unknown[] }).tensors.length > 0);
});

test('the build quantizes to the same bytes as the sources, with its own worker thread', () => {
  const outBuilt = join(dir, 'built.gguf');
  const outSources = join(dir, 'sources.gguf');
  const built = runBuild(['quantize', model, outBuilt, 'Q4_K_M', '--threads', '2']);
  const sources = runSources(['quantize', model, outSources, 'Q4_K_M', '--threads', '2']);
  assert.equal(built.status, 0, built.stderr);
  assert.equal(sources.status, 0, sources.stderr);
  assert.ok(readFileSync(outBuilt).equals(readFileSync(outSources)), 'the two outputs differ');
});

test('the build reports errors as the sources do', () => {
  const missing = join(dir, 'nope.gguf');
  const built = runBuild(['inspect', missing]);
  const sources = runSources(['inspect', missing]);
  assert.equal(built.status, 1);
  assert.equal(built.status, sources.status);
  assert.equal(built.stderr, sources.stderr);
});

// After `npm install` the prepare script has built out/cli; CI runs on such a clone.
const installed = existsSync(join(repoRoot, 'out/cli/main.js'));
const notInstalled = installed ? undefined : 'out/cli is not built here (npm install or npm run build:cli builds it)';
if (notInstalled && process.env.CI) throw new Error(`CI: ${notInstalled}`);
if (notInstalled) console.log(`# skipping the installed-CLI check: ${notInstalled}`);

test('bin/quantfit.mjs runs the installed build, not the sources', { skip: notInstalled }, () => {
  const env = { ...process.env };
  delete env.QUANTFIT_CLI_SOURCES;
  const r = spawnSync(process.execPath, ['bin/quantfit.mjs', 'inspect', model, '--json'], { cwd: repoRoot, encoding: 'utf8', env });
  assert.equal(r.status, 0, r.stderr);
  // A stale or missing build would say so on stderr and run the sources.
  assert.equal(r.stderr, '', 'out/cli is older than its sources: npm run build:cli');
  assert.equal(r.stdout, runSources(['inspect', model, '--json']).stdout);
});

test('core and cli code finds package files through package-root.ts, not paths that climb from its own file', () => {
  // `new URL('../../x', import.meta.url)` is right from src-main/… and wrong from out/cli/…; packagePath is right from both.
  const offenders: string[] = [];
  const walk = (folder: string): void => {
    for (const entry of readdirSync(join(repoRoot, folder), { withFileTypes: true })) {
      const path = `${folder}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts') && /new URL\(\s*['"`]\.\.\/[^)]*import\.meta\.url/.test(readFileSync(join(repoRoot, path), 'utf8'))) offenders.push(path);
    }
  };
  walk('src-main/core');
  walk('src-main/cli');
  assert.deepEqual(offenders.filter((p) => p !== 'src-main/core/package-root.ts'), []);
});

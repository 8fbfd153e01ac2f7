#!/usr/bin/env node
// One test runner for everything: the type checks (tsc, svelte-check), then node's built-in runner over
// every test/**/*.test.ts, loaded through tsx.
// Usage: node test/run.mjs [substring ...]   (only files whose path contains one of the substrings;
// the type checks run with no substring, or with `typecheck`)
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const filters = process.argv.slice(2);

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...walk(path));
    else if (name.endsWith('.test.ts')) out.push(relative(root, path));
  }
  return out;
}

/** tsc over main, shared, tests; svelte-check over the renderer. A type error fails the run. */
function typecheck() {
  const checks = [
    ['tsc', ['node_modules/typescript/bin/tsc', '--noEmit', '-p', 'tsconfig.json']],
    ['svelte-check', ['node_modules/svelte-check/bin/svelte-check', '--tsconfig', 'src-renderer/tsconfig.json', '--threshold', 'error', '--output', 'human']],
  ];
  for (const [name, args] of checks) {
    console.log(`# ${name}`);
    const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
    if (r.status !== 0) {
      console.error(`test/run.mjs: ${name} found errors`);
      process.exit(r.status ?? 1);
    }
  }
}

const runTypecheck = filters.length === 0 || filters.includes('typecheck');
const testFilters = filters.filter((f) => f !== 'typecheck');
if (runTypecheck) typecheck();
if (filters.length > 0 && testFilters.length === 0) process.exit(0);

const files = walk(join(root, 'test'))
  .filter((f) => testFilters.length === 0 || testFilters.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  console.error('test/run.mjs: no test files matched');
  process.exit(1);
}
// The tests read English messages whatever the developer's locale (the CLI follows LC_ALL/LANG);
// a test that wants Chinese sets LANG itself.
const { LC_ALL: _all, LC_MESSAGES: _messages, ...env } = process.env;
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-reporter=spec', ...files],
  // bin/quantfit.mjs then runs the TypeScript sources, not the compiled CLI (test/cli-build.test.ts
  // compares the two).
  { cwd: root, stdio: 'inherit', env: { ...env, LANG: 'C.UTF-8', QUANTFIT_CLI_SOURCES: '1' } },
);
process.exit(result.status ?? 1);

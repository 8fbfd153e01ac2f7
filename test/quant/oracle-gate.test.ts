// The oracle gate of the kernel parity test files (test/support/kernel-parity.ts): off linux-x64
// they print why and skip their parity tests, and the run passes; on linux-x64 a missing oracle is a
// broken install, and every parity test fails saying so. Each case reruns the kernel test files'
// parity tests (only those: --test-name-pattern) in a child node with the platform faked, or with
// the oracle package made unresolvable.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const here = join(root, 'test', 'quant');

/** Every test file here that goes through the gate. */
const gated = readdirSync(here)
  .filter((f) => f.endsWith('.test.ts') && /\boracleSkip\(/.test(readFileSync(join(here, f), 'utf8')))
  .sort();

const preload = (code: string): string => `data:text/javascript,${encodeURIComponent(code)}`;
const FAKE_DARWIN = preload(
  "Object.defineProperty(process, 'platform', { value: 'darwin' }); Object.defineProperty(process, 'arch', { value: 'arm64' });",
);
const NO_ORACLE = preload(`
  import Module from 'node:module';
  const resolve = Module._resolveFilename;
  Module._resolveFilename = function (request, ...rest) {
    if (request === '@node-llama-cpp/linux-x64') throw Object.assign(new Error("Cannot find module '" + request + "'"), { code: 'MODULE_NOT_FOUND' });
    return resolve.call(this, request, ...rest);
  };
`);

// A test runner of its own: without NODE_TEST_CONTEXT the child does not report into this one.
const childEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_TEST_CONTEXT' && k !== 'NODE_OPTIONS'));

function runParityTests(preloadUrl: string): { status: number | null; out: string } {
  const r = spawnSync(
    process.execPath,
    ['--import', preloadUrl, '--import', 'tsx', '--test', '--test-reporter=spec', '--test-name-pattern=ggml_quantize_chunk',
      ...gated.map((f) => join('test', 'quant', f))],
    { cwd: root, encoding: 'utf8', env: childEnv, timeout: 180_000 },
  );
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

const count = (out: string, what: string): number => Number(new RegExp(`ℹ ${what} (\\d+)`).exec(out)?.[1] ?? NaN);

test('every kernel family test file goes through the oracle gate', () => {
  for (const f of ['float', 'fp4', 'iq4', 'iquants-grid', 'kquants', 'legacy', 'ternary']) {
    assert.ok(gated.includes(`${f}.test.ts`), `${f}.test.ts uses oracleSkip`);
  }
});

test('off linux-x64 the parity tests are skipped with the reason printed, and the run passes', () => {
  const { status, out } = runParityTests(FAKE_DARWIN);
  assert.equal(status, 0, out);
  const reasons = out.match(/^# skipping .*: the llama\.cpp oracle ships prebuilt for linux-x64 only \(this is darwin-arm64\)$/gm) ?? [];
  assert.equal(reasons.length, gated.length, out);
  assert.equal(count(out, 'fail'), 0, out);
  assert.ok(count(out, 'skipped') >= gated.length, out);
});

const onLinuxX64 = process.platform === 'linux' && process.arch === 'x64';
test('on linux-x64 a missing oracle fails every parity test instead of skipping it', { skip: onLinuxX64 ? undefined : 'only linux-x64 must have the oracle' }, () => {
  const { status, out } = runParityTests(NO_ORACLE);
  assert.notEqual(status, 0, out);
  // Other checks may skip for their own reasons (e.g. the llama.cpp source tree beside the repo); none for the oracle.
  assert.doesNotMatch(out, /^# skipping .*oracle/m);
  const failures = count(out, 'fail');
  assert.ok(failures >= gated.length, out);
  assert.equal(count(out, 'pass'), 0, out);
  assert.equal((out.match(/llama\.cpp oracle missing on linux-x64 \(run npm install\)/g) ?? []).length >= failures, true, out);
});

// The packaged binary's Electron fuses (electron-builder.yml): code cannot be injected through
// ELECTRON_RUN_AS_NODE, NODE_OPTIONS or --inspect, and the app loads only from app.asar. With
// runAsNode off, main must not start Node children with child_process.fork (it uses utilityProcess).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The `key: value` lines of one top-level block of a simple YAML file. */
function yamlBlock(text: string, block: string): Record<string, string> {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l === `${block}:`);
  assert.ok(start >= 0, `electron-builder.yml has no '${block}:' block`);
  const out: Record<string, string> = {};
  for (const line of lines.slice(start + 1)) {
    const m = /^\s+([A-Za-z]+):\s*(\S+)\s*$/.exec(line);
    if (!m) break;
    out[m[1]!] = m[2]!;
  }
  return out;
}

test('packaged app: the Electron fuses that let code in are off', () => {
  const fuses = yamlBlock(readFileSync(join(root, 'electron-builder.yml'), 'utf8'), 'electronFuses');
  assert.equal(fuses.runAsNode, 'false');
  assert.equal(fuses.enableNodeOptionsEnvironmentVariable, 'false');
  assert.equal(fuses.enableNodeCliInspectArguments, 'false');
  assert.equal(fuses.onlyLoadAppFromAsar, 'true');
});

test('packaged app: the Electron side starts no Node child through child_process (runAsNode is off)', () => {
  const dir = join(root, 'src-main', 'electron');
  for (const name of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    const source = readFileSync(join(dir, name), 'utf8');
    assert.doesNotMatch(source, /from 'node:child_process'|require\('child_process'\)/, `${name} imports child_process`);
  }
});

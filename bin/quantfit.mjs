#!/usr/bin/env node
// Entry point of `quantfit`. Runs the compiled CLI (out/cli/, built by `npm install` through the
// `prepare` script, or `npm run build:cli`), which starts in a fraction of the time TypeScript needs.
// The TypeScript sources run instead, through tsx (a devDependency), when QUANTFIT_CLI_SOURCES=1
// (the test runner sets it) or when the build is missing or older than the sources (a development
// checkout); a terminal is then told why the start is slow and what to run.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const compiled = join(root, 'out/cli/main.js');
const BUILD = 'npm run build:cli';

/** Why the compiled CLI should not run, or undefined when it is there and as new as its sources. */
function staleReason() {
  if (!existsSync(compiled)) return 'the compiled CLI (out/cli) is missing';
  let inputs;
  try {
    inputs = JSON.parse(readFileSync(join(root, 'out/cli/inputs.json'), 'utf8'));
  } catch {
    return 'out/cli/inputs.json is unreadable';
  }
  for (const [path, size, mtimeMs] of inputs) {
    const st = statSync(join(root, path), { throwIfNoEntry: false }); // ~140 of these: a few ms
    // A source that is gone (an installed copy without sources) does not make the build stale.
    if (st && (st.size !== size || st.mtimeMs !== mtimeMs)) return `${path} changed after the CLI was built`;
  }
  return undefined;
}

async function loadTsx() {
  try {
    return await import('tsx/esm/api');
  } catch {
    return undefined;
  }
}

async function loadMain() {
  const fromSources = process.env.QUANTFIT_CLI_SOURCES === '1';
  const reason = fromSources ? 'QUANTFIT_CLI_SOURCES=1' : staleReason();
  if (reason === undefined) return import(pathToFileURL(compiled).href);
  const tsx = await loadTsx();
  if (tsx) {
    if (!fromSources && process.stderr.isTTY) process.stderr.write(`quantfit: note: ${reason}; running the TypeScript sources (slower start). Run \`${BUILD}\`.\n`);
    tsx.register();
    return import(pathToFileURL(join(root, 'src-main/cli/main.ts')).href);
  }
  if (existsSync(compiled)) return import(pathToFileURL(compiled).href); // no tsx: the build is all there is
  process.stderr.write(`quantfit: error: ${reason}. Run \`${BUILD}\` (or \`npm install\`) in ${root}\n`);
  process.exit(1);
}

const { main } = await loadMain();
process.exitCode = await main(process.argv.slice(2));

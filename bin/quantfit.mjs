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

// The launcher's own two lines, in the CLI's languages: it runs before the message catalogue (part
// of the build it is looking for) can load. The language is chosen as cli/locale.ts chooses it.
const langArg = process.argv.find((a, i) => a.startsWith('--lang=') || process.argv[i - 1] === '--lang');
const langTag = langArg?.replace(/^--lang=/, '') ?? [process.env.LC_ALL, process.env.LC_MESSAGES, process.env.LANG].find((v) => v);
const zh = /^zh/i.test(langTag ?? '');
const TEXT = zh
  ? {
    missing: '编译好的命令行（out/cli）不存在',
    unreadable: 'out/cli/inputs.json 无法读取',
    changed: (path) => `${path} 在命令行编译之后被修改过`,
    note: (reason) => `quantfit: 提示: ${reason}；改为运行 TypeScript 源码（启动较慢）。请运行 \`${BUILD}\`。\n`,
    error: (reason) => `quantfit: 错误: ${reason}。请在 ${root} 中运行 \`${BUILD}\`（或 \`npm install\`）\n`,
  }
  : {
    missing: 'the compiled CLI (out/cli) is missing',
    unreadable: 'out/cli/inputs.json is unreadable',
    changed: (path) => `${path} changed after the CLI was built`,
    note: (reason) => `quantfit: note: ${reason}; running the TypeScript sources (slower start). Run \`${BUILD}\`.\n`,
    error: (reason) => `quantfit: error: ${reason}. Run \`${BUILD}\` (or \`npm install\`) in ${root}\n`,
  };

/** Why the compiled CLI should not run, or undefined when it is there and as new as its sources. */
function staleReason() {
  if (!existsSync(compiled)) return TEXT.missing;
  let inputs;
  try {
    inputs = JSON.parse(readFileSync(join(root, 'out/cli/inputs.json'), 'utf8'));
  } catch {
    return TEXT.unreadable;
  }
  for (const [path, size, mtimeMs] of inputs) {
    const st = statSync(join(root, path), { throwIfNoEntry: false }); // ~140 of these: a few ms
    // A source that is gone (an installed copy without sources) does not make the build stale.
    if (st && (st.size !== size || st.mtimeMs !== mtimeMs)) return TEXT.changed(path);
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
    if (!fromSources && process.stderr.isTTY) process.stderr.write(TEXT.note(reason));
    tsx.register();
    return import(pathToFileURL(join(root, 'src-main/cli/main.ts')).href);
  }
  if (existsSync(compiled)) return import(pathToFileURL(compiled).href); // no tsx: the build is all there is
  process.stderr.write(TEXT.error(reason));
  process.exit(1);
}

const { main } = await loadMain();
process.exitCode = await main(process.argv.slice(2));

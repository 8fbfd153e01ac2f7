// The layers keep to their lanes: core and CLI never import electron; src-shared imports nothing
// platform-specific and nothing from src-main; the renderer imports only itself and src-shared.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Module specifiers of static imports/exports, side-effect imports, dynamic import() and require(). */
export function importSpecifiers(source: string): string[] {
  const patterns = [
    /^\s*(?:import|export)\s+(?:type\s+)?[^'"`;]*?\sfrom\s*['"]([^'"]+)['"]/gm,
    /^\s*import\s*['"]([^'"]+)['"]/gm,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  const out: string[] = [];
  for (const pattern of patterns) for (const m of source.matchAll(pattern)) out.push(m[1]!);
  return out;
}

const isElectron = (spec: string) => spec === 'electron' || spec.startsWith('electron/');
const isNodeBuiltin = (spec: string) => spec.startsWith('node:') || builtinModules.includes(spec.split('/')[0]!);
const RENDERER_PACKAGES = ['svelte'];

/** Why `spec`, imported by the file at `file` (relative to the repo root, '/' separated), breaks a layer rule; null when it does not. */
export function layerViolation(file: string, spec: string): string | null {
  const inside = (dir: string) => {
    const target = relative(root, resolve(root, dirname(file), spec)).split(sep).join('/');
    return target === dir || target.startsWith(`${dir}/`);
  };
  const relativeSpec = spec.startsWith('.');
  if (file.startsWith('src-main/core/') || file.startsWith('src-main/cli/')) {
    if (isElectron(spec)) return 'core and cli never import electron';
    if (relativeSpec && (inside('src-main/electron') || inside('src-renderer'))) return 'core and cli never import the app';
  }
  if (file.startsWith('src-shared/')) {
    if (isElectron(spec) || isNodeBuiltin(spec)) return 'src-shared imports no node: and no electron';
    if (!relativeSpec) return 'src-shared imports no packages';
    if (!inside('src-shared')) return 'src-shared imports only src-shared';
  }
  if (file.startsWith('src-renderer/')) {
    if (relativeSpec) {
      if (!inside('src-renderer') && !inside('src-shared')) return 'the renderer imports only src-renderer and src-shared';
    } else if (!RENDERER_PACKAGES.includes(spec.split('/')[0]!)) {
      return `the renderer imports no package but ${RENDERER_PACKAGES.join(', ')}`;
    }
  }
  return null;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(root, dir))) {
    const path = `${dir}/${name}`;
    if (statSync(join(root, path)).isDirectory()) out.push(...sourceFiles(path));
    else if (/\.(ts|mts|mjs|js|svelte)$/.test(name)) out.push(path);
  }
  return out;
}

test('the rules catch what they are for', () => {
  assert.match(layerViolation('src-main/core/gguf/reader.ts', 'electron') ?? '', /electron/);
  assert.match(layerViolation('src-main/cli/main.ts', 'electron/main') ?? '', /electron/);
  assert.match(layerViolation('src-main/core/jobs/fit.ts', '../../electron/services.ts') ?? '', /app/);
  assert.match(layerViolation('src-shared/contract.ts', 'node:fs') ?? '', /node:/);
  assert.match(layerViolation('src-shared/contract.ts', 'path') ?? '', /node:/);
  assert.match(layerViolation('src-shared/contract.ts', '../src-main/core/progress.ts') ?? '', /only src-shared/);
  assert.match(layerViolation('src-renderer/src/App.svelte', '../../src-main/core/errors.ts') ?? '', /src-renderer and src-shared/);
  assert.match(layerViolation('src-renderer/src/lib/api.ts', 'electron') ?? '', /no package/);
  assert.equal(layerViolation('src-renderer/src/App.svelte', '../../src-shared/contract.ts'), null);
  assert.equal(layerViolation('src-renderer/src/main.ts', 'svelte'), null);
  assert.equal(layerViolation('src-shared/contract.ts', './types/fit.ts'), null);
  assert.equal(layerViolation('src-main/core/jobs/fit.ts', 'node:fs/promises'), null);
  assert.deepEqual(
    importSpecifiers(`import a from 'x';\nexport { b } from "./y.ts";\nimport type { C } from '../z.ts';\nimport './side.css';\nconst m = await import('./lazy.ts');\nexport type * from './t.ts';`),
    ['x', './y.ts', '../z.ts', './t.ts', './side.css', './lazy.ts'],
  );
  assert.deepEqual(importSpecifiers(`const texts = { 'cli.command.import': 'register' };`), []);
  assert.deepEqual(
    importSpecifiers(`import {\n  a,\n  b,\n} from '../multi-line.ts';`),
    ['../multi-line.ts'],
  );
});

test('no file imports across its layer', () => {
  const files = [...sourceFiles('src-main/core'), ...sourceFiles('src-main/cli'), ...sourceFiles('src-shared'), ...sourceFiles('src-renderer/src')];
  assert.ok(files.length > 50, `walked only ${files.length} files`);
  const violations: string[] = [];
  for (const file of files) {
    for (const spec of importSpecifiers(readFileSync(join(root, file), 'utf8'))) {
      const why = layerViolation(file, spec);
      if (why !== null) violations.push(`${file} imports '${spec}': ${why}`);
    }
  }
  assert.deepEqual(violations, []);
});

// electron-builder.yml against the real files in node_modules: every native file the packaged app
// ships (koffi's addon, llama.cpp's libraries and CPU backends, any other .node/.so/.dylib/.dll) is
// unpacked from app.asar by an asarUnpack pattern, the packages the engine loads are shipped at all,
// and the extra resources land where the job host looks for them. electron-builder itself cannot run
// here (it downloads Electron); its matching rules are followed: minimatch with dot files, `files`
// negations filtering node_modules, asarUnpack patterns matched against paths from the app's root.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { PREBUILT_PACKAGES } from '../../src-main/core/engine/llama.ts';
import { calibrationTextPath, quantWasmPath } from '../../src-main/electron/host-paths.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const require = createRequire(import.meta.url);

interface Matcher { match(path: string): boolean }
type MinimatchClass = new (pattern: string, options: { dot: boolean }) => Matcher;
let Minimatch: MinimatchClass | undefined;
try {
  // electron-builder's own matcher (a dependency of it): the same rules it applies.
  Minimatch = (require('minimatch') as { Minimatch: MinimatchClass }).Minimatch;
} catch {
  Minimatch = undefined;
}
const skip = Minimatch === undefined ? 'minimatch (installed with electron-builder) is absent' : undefined;
if (skip) console.log(`# skipping the packaging checks: ${skip}`);

interface ExtraResource { from: string; to: string; filter?: string[] }
interface BuilderConfig { files: string[]; asarUnpack: string[]; extraResources: ExtraResource[] }
const config = parse(readFileSync(join(root, 'electron-builder.yml'), 'utf8')) as BuilderConfig;

const matcher = (pattern: string): Matcher => new Minimatch!(pattern, { dot: true });
const toPosix = (p: string) => p.split(sep).join('/');

/** Shared libraries and Node addons: what dlopen must find on disk. */
const NATIVE = /\.(node|dll|dylib|so)$|\.so\.\d+(\.\d+)*$/;

interface PackageJson { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> }

/** The installed folder of `name` as Node resolves it from `fromDir` (nested node_modules first). */
function packageDir(name: string, fromDir: string): string | undefined {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dir === root || dirname(dir) === dir) return undefined;
  }
}

/** The packages electron-builder ships: dependencies and installed optional ones, transitively. */
function productionPackages(): Map<string, string> {
  const found = new Map<string, string>(); // folder (relative to root) → name
  const visit = (pkgDir: string) => {
    const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as PackageJson;
    for (const name of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) {
      const dir = packageDir(name, pkgDir);
      if (dir === undefined) continue; // an optional package for another platform
      const rel = toPosix(relative(root, dir));
      if (found.has(rel)) continue;
      found.set(rel, name);
      visit(dir);
    }
  };
  visit(root);
  return found;
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules') continue; // nested packages are visited as packages
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(path));
    else out.push(path);
  }
  return out;
}

/** electron-builder's ${os} and ${arch} for this machine (the package being built for it). */
function expandMacros(pattern: string): string {
  const os = ({ darwin: 'mac', win32: 'win' } as Record<string, string>)[process.platform] ?? process.platform;
  const arch = process.arch === 'arm' ? 'armv7l' : process.arch;
  return pattern.replaceAll('${os}', os).replaceAll('${arch}', arch);
}

/** node_modules files pass `files` unless one of its negations excludes them (electron-builder's rule). */
function shipped(relPath: string): boolean {
  return !config.files.filter((p) => p.startsWith('!')).some((p) => matcher(expandMacros(p.slice(1))).match(relPath));
}

function unpackedBy(patterns: readonly string[], relPath: string): boolean {
  return patterns.some((p) => matcher(p).match(relPath));
}

let natives: string[] | undefined;
/** Every native file of the production packages that the app ships, relative to the root. */
function shippedNatives(): string[] {
  natives ??= [...productionPackages().keys()]
    .flatMap((rel) => filesUnder(join(root, rel)).map((f) => toPosix(relative(root, f))))
    .filter((f) => NATIVE.test(f) && shipped(f));
  return natives;
}

test('every native file the app ships is unpacked from app.asar', { skip }, () => {
  const all = shippedNatives();
  // The engine's own: koffi's addon and llama.cpp's libraries are among them (so the check has work).
  assert.ok(all.some((f) => /koffi.*\.node$/.test(f)), 'koffi.node');
  assert.ok(all.some((f) => /@node-llama-cpp\/[^/]+\/bins\/.*llama/.test(f)), 'libllama');
  const packed = all.filter((f) => !unpackedBy(config.asarUnpack, f));
  assert.deepEqual(packed, [], `native files left inside app.asar:\n${packed.join('\n')}`);
});

test('each native asarUnpack pattern is needed: without it a shipped native file stays packed', { skip }, () => {
  const all = shippedNatives();
  const nativePatterns = config.asarUnpack.filter((p) => all.some((f) => matcher(p).match(f)));
  assert.ok(nativePatterns.length >= 2, nativePatterns.join(', '));
  for (const pattern of nativePatterns) {
    const rest = config.asarUnpack.filter((p) => p !== pattern);
    assert.ok(all.some((f) => !unpackedBy(rest, f)), `removing ${pattern} changes nothing`);
  }
});

test('the packages the engine loads are shipped: koffi and its addon, this platform\'s llama.cpp CPU build', { skip }, () => {
  const packages = productionPackages();
  const byName = new Map([...packages].map(([rel, name]) => [name, rel]));
  const koffi = byName.get('koffi');
  assert.ok(koffi !== undefined, 'koffi is a production dependency');
  assert.ok(shipped(`${koffi}/index.js`) && shipped(`${koffi}/package.json`), 'koffi is shipped');
  const cpuBuilds = PREBUILT_PACKAGES[`${process.platform}-${process.arch}`] ?? [];
  const installed = cpuBuilds.map((name) => byName.get(name)).filter((rel): rel is string => rel !== undefined);
  if (installed.length === 0) {
    console.log(`# no llama.cpp CPU build installed for ${process.platform}-${process.arch}: its shipping is not checked`);
    return;
  }
  for (const rel of installed) {
    const libs = filesUnder(join(root, rel)).map((f) => toPosix(relative(root, f))).filter((f) => NATIVE.test(f));
    assert.ok(libs.length > 0, rel);
    for (const lib of libs) assert.ok(shipped(lib), `${lib} is excluded by files`);
  }
});

test('the extra resources land where the job host looks: the wasm kernels and the calibration folder', () => {
  const resources = '/opt/Quantfit/resources';
  /** What electron-builder copies from `from` (a file, or a folder's files through `filter`) into resources. */
  const copied = (source: string): string[] => config.extraResources
    .filter((r) => r.from === source || source.startsWith(`${r.from}/`))
    .flatMap((r) => {
      const name = source === r.from ? '' : source.slice(r.from.length + 1);
      if (name !== '' && r.filter && !r.filter.includes(name)) return [];
      return [join(resources, r.to, name)];
    });
  const wasm = copied('build/wasm/quant.wasm');
  assert.equal(wasm.length, 1, 'build/wasm/quant.wasm is an extra resource');
  assert.equal(quantWasmPath('/x/out/main', resources, (p) => p === wasm[0]), wasm[0]);
  const text = copied('resources/calibration/calibration.txt');
  assert.equal(text.length, 1, 'calibration.txt is an extra resource');
  assert.equal(calibrationTextPath('/x/out/main', resources, (p) => p === text[0]), text[0]);
  assert.equal(copied('resources/calibration/README.md').length, 1, 'the calibration text\'s sources and licences go with it');
  for (const r of config.extraResources) assert.ok(existsSync(join(root, r.from)) || r.from.startsWith('build/'), `${r.from} exists`);
});

test('the node-llama-cpp package itself is left out, so nothing may import it (only its prebuilt libraries are used)', { skip }, () => {
  assert.equal(shipped('node_modules/node-llama-cpp/package.json'), false);
  const sources = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : /\.(ts|svelte)$/.test(e.name) ? [join(dir, e.name)] : []);
  for (const file of [...sources(join(root, 'src-main')), ...sources(join(root, 'src-shared'))]) {
    assert.doesNotMatch(readFileSync(file, 'utf8'), /(from|import\(|require\()\s*'node-llama-cpp['/]/, relative(root, file));
  }
  // Other archs' and GPU builds stay out; this machine's CPU build goes in (checked above).
  assert.equal(shipped('node_modules/@node-llama-cpp/linux-x64-cuda/bins/linux-x64-cuda/libggml-cuda.so'), false);
  const other = process.arch === 'x64' ? 'arm64' : 'x64';
  assert.equal(shipped(`node_modules/@node-llama-cpp/${expandMacros('${os}')}-${other}/bins/x/libllama.so`), false);
});

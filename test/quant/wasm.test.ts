// The WebAssembly kernels (build/wasm/quant.wasm, built by `npm install`): the same chunk-parity
// cases as the TypeScript kernels against the real llama.cpp (with and without an imatrix), the F16
// entry point, a direct TypeScript-vs-WebAssembly comparison on many random rows, slicing of large
// inputs, argument checks, and the registry's choice (QUANTFIT_NO_WASM=1 forces TypeScript).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadOracle, oracleUnavailableReason } from '../support/oracle.ts';
import { GgmlType, ggmlTypeInfo } from '../../src-main/core/gguf/ggml-types.ts';
import { kernelFor, referenceKernelFor } from '../../src-main/core/quant/kernels.ts';
import { fp32ToFp16, FP16_TO_FP32 } from '../../src-main/core/quant/numeric.ts';
import { instantiateWasmKernels, wasmPath, wasmKernel, wasmUnavailableReason, type WasmKernel } from '../../src-main/core/quant/wasm/index.ts';
import { datasets, assertSameBlocks, mulberry32, gaussian } from './parity-data.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const TYPES = [
  { name: 'Q2_K', id: GgmlType.Q2_K }, { name: 'Q3_K', id: GgmlType.Q3_K },
  { name: 'Q4_K', id: GgmlType.Q4_K }, { name: 'Q5_K', id: GgmlType.Q5_K }, { name: 'Q6_K', id: GgmlType.Q6_K },
  { name: 'Q8_0', id: GgmlType.Q8_0 }, { name: 'Q4_0', id: GgmlType.Q4_0 },
  { name: 'IQ4_XS', id: GgmlType.IQ4_XS }, { name: 'IQ4_NL', id: GgmlType.IQ4_NL },
  { name: 'IQ2_XS', id: GgmlType.IQ2_XS },
] as const;
/** Types that cannot be quantized without an importance matrix (ggml_quantize_requires_imatrix). */
const needsImatrix = (id: number): boolean => ggmlTypeInfo(id)!.requiresImatrix;

// The module is built by `npm install` (prepare script); on linux-x64 (CI) its absence is a failure.
const path = wasmPath();
const present = existsSync(path);
const mustExist = process.platform === 'linux' && process.arch === 'x64';
const missing = present ? '' : `${path} is missing: run \`npm run build:wasm\` (npm install runs it)`;
if (missing) console.log(`# ${mustExist ? 'FAILING' : 'skipping'} WebAssembly kernel tests: ${missing}`);
const skipMissing = missing && !mustExist ? { skip: missing } : {};
const oracleReason = oracleUnavailableReason();
if (oracleReason) console.log(`# skipping WebAssembly parity tests against llama.cpp: ${oracleReason}`);

let cachedKernels: ReadonlyMap<number, WasmKernel> | undefined;
function kernels(): ReadonlyMap<number, WasmKernel> {
  assert.ok(present, missing);
  cachedKernels ??= instantiateWasmKernels(path);
  return cachedKernels;
}

test('the WebAssembly module is built and loads', skipMissing, () => {
  assert.ok(present, missing);
  const k = kernels();
  for (const t of TYPES) assert.ok(k.get(t.id), `${t.name} has a WebAssembly kernel`);
});

test('the WebAssembly module is newer than its AssemblyScript sources', skipMissing, () => {
  const dir = join(root, 'src-main/core/quant/wasm/assembly');
  const built = statSync(path).mtimeMs;
  const stale = readdirSync(dir).filter((f) => f.endsWith('.ts') && statSync(join(dir, f)).mtimeMs > built);
  assert.deepEqual(stale, [], `${path} is older than ${stale.join(', ')}: run \`npm run build:wasm\``);
});

for (const t of TYPES) {
  const info = ggmlTypeInfo(t.id)!;
  for (const withImatrix of [false, true]) {
    test(`${t.name} WebAssembly quantize matches llama.cpp${withImatrix ? ' (imatrix)' : ''}`, oracleReason ? { skip: oracleReason } : skipMissing, () => {
      const oracle = loadOracle()!;
      const kernel = kernels().get(t.id)!;
      if (!withImatrix && needsImatrix(t.id)) {
        // Refused as the reference kernel refuses it.
        assert.throws(() => kernel.quantize(new Float32Array(256), new Uint8Array(info.typeSize), 1, 256), /importance matrix/);
        return;
      }
      let blocks = 0;
      for (const ds of datasets(info.blockSize)) {
        const imatrix = withImatrix ? ds.imatrix : undefined;
        const expected = oracle.quantizeChunk(t.id, ds.src, ds.nrows, ds.nPerRow, imatrix);
        const before = ds.src.slice();
        const actual = new Uint8Array(expected.length).fill(0xa5);
        assert.equal(kernel.quantize(ds.src, actual, ds.nrows, ds.nPerRow, imatrix), expected.length);
        assert.deepEqual(ds.src, before, `${t.name} ${ds.label}: input modified`);
        blocks += assertSameBlocks(actual, expected, info.typeSize, `${t.name} ${ds.label}${withImatrix ? ' (imatrix)' : ''}`);
      }
      assert.ok(blocks > 100);
    });
  }
}

/** Rows with a per-row scale over 8 orders of magnitude, outliers, and runs of zeros/constants. */
function randomRows(nrows: number, nPerRow: number, seed: number): Float32Array {
  const rnd = mulberry32(seed);
  const out = new Float32Array(nrows * nPerRow);
  for (let r = 0; r < nrows; r++) {
    const sigma = 10 ** (rnd() * 8 - 5);
    const shift = rnd() < 0.2 ? gaussian(rnd) * sigma : 0; // rows with a mean (asymmetric blocks)
    for (let i = 0; i < nPerRow; i++) {
      let v = gaussian(rnd) * sigma + shift;
      if (rnd() < 0.01) v *= 10 + 20 * rnd();
      out[r * nPerRow + i] = v;
    }
    if (rnd() < 0.3) {
      const start = Math.floor(rnd() * nPerRow);
      out.fill(rnd() < 0.5 ? 0 : gaussian(rnd) * sigma, r * nPerRow + start, r * nPerRow + Math.min(nPerRow, start + 40));
    }
  }
  return out;
}

for (const t of TYPES) {
  test(`${t.name} WebAssembly equals the TypeScript kernel on random rows`, skipMissing, () => {
    const kernel = kernels().get(t.id)!;
    const reference = referenceKernelFor(t.id)!;
    const info = ggmlTypeInfo(t.id)!;
    // The slow TypeScript searches get fewer rows; every type sees hundreds of blocks or more.
    const nrows = needsImatrix(t.id) ? 12 : info.blockSize === 256 ? 48 : 200;
    for (const [seed, nPerRow] of [[11, 512], [12, 1536], [13, 256]] as const) {
      const src = randomRows(nrows, nPerRow, seed);
      const rnd = mulberry32(seed + 100);
      const imatrix = Float32Array.from({ length: nPerRow }, () => (rnd() < 0.05 ? 0 : Math.exp(2 * gaussian(rnd))));
      for (const im of needsImatrix(t.id) ? [imatrix] : [undefined, imatrix]) {
        const bytes = (nrows * nPerRow / info.blockSize) * info.typeSize;
        const expected = new Uint8Array(bytes);
        const actual = new Uint8Array(bytes);
        reference.quantize!(src, expected, nrows, nPerRow, im);
        kernel.quantize(src, actual, nrows, nPerRow, im);
        assertSameBlocks(actual, expected, info.typeSize, `${t.name} seed ${seed} ×${nPerRow}${im ? ' (imatrix)' : ''} vs TypeScript`);
      }
    }
  });
}

test('quantizeF16 converts F16 rows exactly, as quantize does from their float32 values', skipMissing, () => {
  const rnd = mulberry32(5);
  const nrows = 6;
  const nPerRow = 768;
  const f16 = new Uint16Array(nrows * nPerRow);
  for (let i = 0; i < f16.length; i++) f16[i] = fp32ToFp16(gaussian(rnd) * 0.05);
  // Every finite class: subnormals, ±0, the largest finite values.
  f16.set([0x0001, 0x8001, 0x03ff, 0x8000, 0x0000, 0x7bff, 0xfbff, 0x0400, 0x3c00], 37);
  const f32 = Float32Array.from(f16, (h) => FP16_TO_FP32[h]!);
  const bytes = new Uint8Array(f16.buffer);
  const imatrix = Float32Array.from({ length: nPerRow }, (_, i) => 0.5 + (i % 7));
  for (const t of TYPES) {
    const info = ggmlTypeInfo(t.id)!;
    const kernel = kernels().get(t.id)!;
    const size = (nrows * nPerRow / info.blockSize) * info.typeSize;
    const a = new Uint8Array(size);
    const b = new Uint8Array(size);
    const im = needsImatrix(t.id) ? imatrix : undefined;
    assert.equal(kernel.quantizeF16(bytes, a, nrows, nPerRow, im), size);
    kernel.quantize(f32, b, nrows, nPerRow, im);
    assertSameBlocks(a, b, info.typeSize, `${t.name} from F16`);
  }
});

test('inputs larger than one call are quantized in slices of rows with the same bytes', skipMissing, () => {
  // 700 rows × 4096 floats = 11.5 MB, more than the 8 MiB a single call takes.
  const nrows = 700;
  const nPerRow = 4096;
  const src = randomRows(nrows, nPerRow, 21);
  for (const t of [GgmlType.Q8_0, GgmlType.Q4_0]) {
    const info = ggmlTypeInfo(t)!;
    const size = (nrows * nPerRow / info.blockSize) * info.typeSize;
    const a = new Uint8Array(size);
    const b = new Uint8Array(size);
    kernels().get(t)!.quantize(src, a, nrows, nPerRow);
    referenceKernelFor(t)!.quantize!(src, b, nrows, nPerRow);
    assertSameBlocks(a, b, info.typeSize, `${ggmlTypeInfo(t)!.name} sliced`);
  }
});

test('WebAssembly kernels refuse bad arguments as the TypeScript ones do', skipMissing, () => {
  const k = kernels().get(GgmlType.Q4_K)!;
  const src = new Float32Array(512);
  assert.throws(() => k.quantize(src, new Uint8Array(143), 1, 256), RangeError);
  assert.throws(() => k.quantize(src, new Uint8Array(288), 1, 384), /multiple of 256/);
  assert.throws(() => k.quantize(src, new Uint8Array(288 * 2), 2, 512), /source holds/);
  assert.throws(() => k.quantize(src, new Uint8Array(288), 1, 512, new Float32Array(100)), /imatrix/);
  assert.throws(() => k.quantizeF16(new Uint8Array(100), new Uint8Array(288), 1, 512), /F16 source/);
  // Dequantization goes to the reference kernel.
  const q = new Uint8Array(144);
  k.quantize(src.subarray(0, 256).fill(0.25), q, 1, 256);
  const out = new Float32Array(256);
  k.dequantize(q, out, 256);
  assert.ok(out.every((v) => Math.abs(v - 0.25) < 0.01));
});

test('the registry prefers the WebAssembly kernels, and QUANTFIT_NO_WASM=1 forces the TypeScript ones', skipMissing, () => {
  assert.equal(wasmUnavailableReason(), process.env.QUANTFIT_NO_WASM === '1' ? 'QUANTFIT_NO_WASM=1' : undefined);
  if (process.env.QUANTFIT_NO_WASM !== '1') {
    assert.equal(kernelFor(GgmlType.Q4_K), wasmKernel(GgmlType.Q4_K));
    assert.notEqual(kernelFor(GgmlType.Q4_K), referenceKernelFor(GgmlType.Q4_K));
  }
  // Types without a WebAssembly kernel keep the reference one.
  assert.equal(kernelFor(GgmlType.IQ3_S), referenceKernelFor(GgmlType.IQ3_S));
  const probe = `import { kernelFor, referenceKernelFor } from './src-main/core/quant/kernels.ts';
    console.log(kernelFor(${GgmlType.Q4_K}) === referenceKernelFor(${GgmlType.Q4_K}) ? 'reference' : 'wasm');`;
  const run = (noWasm: string | undefined) => {
    const env = { ...process.env };
    if (noWasm === undefined) delete env.QUANTFIT_NO_WASM;
    else env.QUANTFIT_NO_WASM = noWasm;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', probe], { cwd: root, env, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trim();
  };
  assert.equal(run('1'), 'reference');
  assert.equal(run(undefined), 'wasm');
});

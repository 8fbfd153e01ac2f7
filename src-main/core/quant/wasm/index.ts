// Loader of build/wasm/quant.wasm: the hot quantization kernels compiled from AssemblyScript
// (./assembly, built by `npm run build:wasm`, which `npm install` runs). They write the same bytes
// as the TypeScript kernels (the readable reference, and the fallback when the module is missing
// or QUANTFIT_NO_WASM=1), several times faster: native binary32 arithmetic and SIMD across
// independent sub-blocks. The module is compiled synchronously once per isolate (each worker
// thread has its own instance and memory); buffers live above the module's static data and the
// memory grows on demand, bounded by quantizing at most ROWS_BYTES of source rows per call.

import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { GgmlType, ggmlTypeInfo, ggmlTypeName } from '../../gguf/ggml-types.ts';
import { checkQuantizeArgs } from '../block-args.ts';
import { packagePath } from '../../package-root.ts';
import { referenceKernelFor } from '../registry.ts';
import { searchTable } from '../iq-grids.ts';
import type { QuantKernel } from '../types.ts';

type QuantizeExport = (src: number, dst: number, nrows: number, nPerRow: number, imatrix: number) => void;

interface QuantExports {
  readonly memory: WebAssembly.Memory;
  heapBase(): number;
  quantizeFromF16(which: number, src: number, dst: number, nrows: number, nPerRow: number, imatrix: number, rowBytes: number, scratch: number): void;
  setIq2xsTables(levels: number, map: number, neighbours: number): void;
  readonly [name: string]: unknown;
}

/** A WebAssembly kernel: a QuantKernel that can also take F16 rows (converted inside the module). */
export interface WasmKernel extends QuantKernel {
  readonly quantize: NonNullable<QuantKernel['quantize']>;
  /** As quantize, from little-endian F16 source bytes (nrows × nPerRow values). */
  quantizeF16(src: Uint8Array, dst: Uint8Array, nrows: number, nPerRow: number, imatrix?: Float32Array): number;
}

/**
 * Types with a WebAssembly kernel and the export that quantizes them, in the order of the module's
 * QUANTIZERS table (assembly/index.ts): quantizeFromF16 takes the position in it.
 */
const EXPORTS: ReadonlyArray<readonly [type: number, exportName: string]> = [
  [GgmlType.Q2_K, 'quantizeQ2_K'], [GgmlType.Q3_K, 'quantizeQ3_K'],
  [GgmlType.Q4_K, 'quantizeQ4_K'], [GgmlType.Q5_K, 'quantizeQ5_K'], [GgmlType.Q6_K, 'quantizeQ6_K'],
  [GgmlType.IQ4_XS, 'quantizeIQ4_XS'], [GgmlType.IQ4_NL, 'quantizeIQ4_NL'],
  [GgmlType.Q8_0, 'quantizeQ8_0'], [GgmlType.Q4_0, 'quantizeQ4_0'], [GgmlType.IQ2_XS, 'quantizeIQ2_XS'],
];

/** Types whose quantizer needs an importance matrix: without one the reference kernel reports it. */
const NEEDS_IMATRIX: ReadonlySet<number> = new Set<number>([GgmlType.IQ2_XS]);

/** Source bytes (as float32) quantized per call; larger inputs go through in slices of rows. */
const ROWS_BYTES = 8 << 20;
const PAGE = 65536;

/** Env var that forces the TypeScript kernels (tests, debugging). */
export const NO_WASM_ENV = 'QUANTFIT_NO_WASM';
/** Env var with an explicit path to quant.wasm; worker threads inherit it (see setWasmPath). */
export const WASM_PATH_ENV = 'QUANTFIT_WASM_PATH';

/** Where the build script writes the module (build/wasm in the package root). */
export function defaultWasmPath(): string {
  return fileURLToPath(packagePath('build/wasm/quant.wasm'));
}

/**
 * Use the module at `path` (packaged apps keep it elsewhere), or the default location when
 * undefined. Also sets QUANTFIT_WASM_PATH so that worker threads started later load the same file.
 */
export function setWasmPath(path: string | undefined): void {
  if (path === undefined) delete process.env[WASM_PATH_ENV];
  else process.env[WASM_PATH_ENV] = path;
  state = undefined;
}

export function wasmPath(): string {
  return process.env[WASM_PATH_ENV] || defaultWasmPath();
}

interface LoadState {
  readonly path: string;
  readonly kernels: ReadonlyMap<number, WasmKernel>;
  readonly reason?: string;
}

let state: LoadState | undefined;
const moduleCache = new Map<string, WebAssembly.Module>();

function load(): LoadState {
  const path = wasmPath();
  if (state && state.path === path) return state;
  if (process.env[NO_WASM_ENV] === '1') {
    state = { path, kernels: new Map(), reason: `${NO_WASM_ENV}=1` };
  } else if (!existsSync(path)) {
    state = { path, kernels: new Map(), reason: `${path} is missing (run npm run build:wasm)` };
  } else {
    try {
      state = { path, kernels: instantiateWasmKernels(path) };
    } catch (err) {
      state = { path, kernels: new Map(), reason: `${path} did not load: ${err instanceof Error ? err.message : String(err)}` };
    }
  }
  return state;
}

/**
 * A fresh instance of the module at `path` and its kernels, whatever QUANTFIT_NO_WASM says (tests
 * and benchmarks compare these with the reference kernels). Throws when the module cannot be used.
 */
export function instantiateWasmKernels(path: string = wasmPath()): ReadonlyMap<number, WasmKernel> {
  let mod = moduleCache.get(path);
  if (!mod) {
    mod = new WebAssembly.Module(readFileSync(path));
    moduleCache.set(path, mod);
  }
  // The kernels never abort; should a build ever import env.abort, it throws instead of trapping silently.
  const env = { abort: () => { throw new Error('quant.wasm aborted'); } };
  const exports = new WebAssembly.Instance(mod, { env }).exports as unknown as QuantExports;
  const arena = new Arena(exports);
  const kernels = new Map<number, WasmKernel>();
  for (const [index, [type, name]] of EXPORTS.entries()) {
    const fn = exports[name];
    if (typeof fn !== 'function') throw new Error(`export ${name} is missing (built from older sources: run npm run build:wasm)`);
    kernels.set(type, makeKernel(type, fn as QuantizeExport, index, arena));
  }
  return kernels;
}

/** The WebAssembly kernels by type (empty when the module is unavailable; see wasmUnavailableReason). */
export function wasmKernels(): ReadonlyMap<number, WasmKernel> {
  return load().kernels;
}

export function wasmKernel(type: number): WasmKernel | undefined {
  return load().kernels.get(type);
}

/** Why the WebAssembly kernels are not in use, or undefined when they are. */
export function wasmUnavailableReason(): string | undefined {
  return load().reason;
}

/** The module's linear memory above its static data, handed out as consecutive 16-byte-aligned regions. */
class Arena {
  private base: number;
  private iq2xsReady = false;
  constructor(readonly exports: QuantExports) {
    this.base = exports.heapBase();
  }

  /** Copies `bytes` to a permanent place (below every later region) and returns its offset. */
  pin(bytes: Uint8Array): number {
    const [at] = this.reserve(bytes.length);
    this.bytes.set(bytes, at);
    this.base = at! + ((bytes.length + 15) & ~15);
    return at!;
  }

  /** IQ2_XS's grid search tables, built (as ggml's init builds them) and copied in on first use. */
  prepareIq2xs(): void {
    if (this.iq2xsReady) return;
    const t = searchTable('iq2xs');
    const asBytes = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    this.exports.setIq2xsTables(this.pin(asBytes(t.levels)), this.pin(asBytes(t.map)), this.pin(asBytes(t.neighbours)));
    this.iq2xsReady = true;
  }

  /** Byte offsets of regions of the given sizes, growing the memory to hold them. */
  reserve(...sizes: number[]): number[] {
    const offsets: number[] = [];
    let at = this.base;
    for (const size of sizes) {
      offsets.push(at);
      at += (size + 15) & ~15;
    }
    const memory = this.exports.memory;
    if (at > memory.buffer.byteLength) memory.grow(Math.ceil((at - memory.buffer.byteLength) / PAGE));
    return offsets;
  }

  get bytes(): Uint8Array {
    return new Uint8Array(this.exports.memory.buffer);
  }
}

const NO_VALUES = new Float32Array(0);

function makeKernel(type: number, fn: QuantizeExport, index: number, arena: Arena): WasmKernel {
  const info = ggmlTypeInfo(type)!;
  const name = ggmlTypeName(type);
  const rowOut = (nPerRow: number) => (nPerRow / info.blockSize) * info.typeSize;
  // Calls take at most ROWS_BYTES of float32 rows (F16: half that in, one row of floats as scratch).
  const rowsPerCall = (nPerRow: number) => Math.max(1, Math.floor(ROWS_BYTES / (nPerRow * 4)));
  const imatrixInto = (mem: Uint8Array, at: number, imatrix: Float32Array | undefined, nPerRow: number): number => {
    if (!imatrix) return 0;
    new Float32Array(mem.buffer, at, nPerRow).set(imatrix.subarray(0, nPerRow));
    return at;
  };
  const prepare = type === GgmlType.IQ2_XS ? () => arena.prepareIq2xs() : () => undefined;
  return {
    type,
    quantize(src, dst, nrows, nPerRow, imatrix) {
      if (!imatrix && NEEDS_IMATRIX.has(type)) return referenceKernelFor(type)!.quantize!(src, dst, nrows, nPerRow);
      checkQuantizeArgs(name, info.blockSize, info.typeSize, src, dst, nrows, nPerRow, imatrix);
      prepare();
      const out = rowOut(nPerRow);
      const step = rowsPerCall(nPerRow);
      for (let r = 0; r < nrows; r += step) {
        const rows = Math.min(step, nrows - r);
        const [at, im, to] = arena.reserve(rows * nPerRow * 4, imatrix ? nPerRow * 4 : 0, rows * out) as [number, number, number];
        const mem = arena.bytes;
        new Float32Array(mem.buffer, at, rows * nPerRow).set(src.subarray(r * nPerRow, (r + rows) * nPerRow));
        fn(at, to, rows, nPerRow, imatrixInto(mem, im, imatrix, nPerRow));
        dst.set(arena.bytes.subarray(to, to + rows * out), r * out);
      }
      return nrows * out;
    },
    quantizeF16(src, dst, nrows, nPerRow, imatrix) {
      if (!imatrix && NEEDS_IMATRIX.has(type)) return referenceKernelFor(type)!.quantize!(NO_VALUES, dst, nrows, nPerRow);
      prepare();
      // The shape, destination and imatrix checks, with an empty float source standing for the F16 rows.
      checkQuantizeArgs(name, info.blockSize, info.typeSize, NO_VALUES, dst, 0, nPerRow, imatrix);
      if (!Number.isInteger(nrows) || nrows < 0) throw new RangeError(`${name}: bad shape ${nrows} rows × ${nPerRow}`);
      if (src.length < nrows * nPerRow * 2) throw new RangeError(`${name}: F16 source holds ${src.length} bytes, need ${nrows * nPerRow * 2}`);
      const out = rowOut(nPerRow);
      if (dst.length < nrows * out) throw new RangeError(`${name}: destination holds ${dst.length} bytes, need ${nrows * out}`);
      const step = rowsPerCall(nPerRow);
      for (let r = 0; r < nrows; r += step) {
        const rows = Math.min(step, nrows - r);
        const [at, im, to, scratch] = arena.reserve(rows * nPerRow * 2, imatrix ? nPerRow * 4 : 0, rows * out, nPerRow * 4) as [number, number, number, number];
        const mem = arena.bytes;
        mem.set(src.subarray(r * nPerRow * 2, (r + rows) * nPerRow * 2), at);
        arena.exports.quantizeFromF16(index, at, to, rows, nPerRow, imatrixInto(mem, im, imatrix, nPerRow), out, scratch);
        dst.set(arena.bytes.subarray(to, to + rows * out), r * out);
      }
      return nrows * out;
    },
    dequantize(src, dst, n) {
      referenceKernelFor(type)!.dequantize(src, dst, n);
    },
  };
}

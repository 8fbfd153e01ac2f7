// The parity oracle: the real llama.cpp of @node-llama-cpp/linux-x64@3.22.1 (commit 0ad4a86), called
// through koffi. For tests and benchmarks only. `loadOracle()` returns undefined (with the reason)
// where the prebuilt libraries cannot be had — anywhere but linux-x64.

import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

export interface Oracle {
  /** Directory holding libggml-base.so and libllama.so. */
  readonly libDir: string;
  /** ggml_quantize_chunk(type, src, dst, start, nrows, n_per_row, imatrix) → bytes written. */
  quantizeChunk(type: number, src: Float32Array, nrows: number, nPerRow: number, imatrix?: Float32Array): Uint8Array;
  /** ggml_row_size(type, n). */
  rowSize(type: number, n: number): number;
  /** The loaded koffi library handles, for bindings that live next to their tests. */
  readonly ggmlBase: unknown;
  readonly koffi: unknown;
}

let cached: { oracle?: Oracle; reason?: string } | undefined;

/** Why the oracle is unavailable, or undefined when it loads. */
export function oracleUnavailableReason(): string | undefined {
  loadOracle();
  return cached?.reason;
}

export function loadOracle(): Oracle | undefined {
  if (cached) return cached.oracle;
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    cached = { reason: `the llama.cpp oracle ships prebuilt for linux-x64 only (this is ${process.platform}-${process.arch})` };
    return undefined;
  }
  let libDir: string;
  let koffi: typeof import('koffi');
  try {
    // The package exports only dist/index.js; its libraries sit in bins/ beside dist/.
    const entry = require.resolve('@node-llama-cpp/linux-x64');
    libDir = join(dirname(entry), '..', 'bins', 'linux-x64');
    koffi = require('koffi') as typeof import('koffi');
  } catch (err) {
    // On linux-x64 the oracle is a declared optional dependency: its absence is a broken install.
    throw new Error(`llama.cpp oracle missing on linux-x64 (run npm install): ${String(err)}`);
  }
  if (!existsSync(join(libDir, 'libggml-base.so'))) throw new Error(`libggml-base.so not found in ${libDir}`);
  const base = koffi.load(join(libDir, 'libggml-base.so'));
  const quantizeInit = base.func('void ggml_quantize_init(int type)');
  const quantizeChunk = base.func(
    'size_t ggml_quantize_chunk(int type, const float *src, _Out_ uint8_t *dst, int64_t start, int64_t nrows, int64_t n_per_row, const float *imatrix)',
  );
  const rowSize = base.func('size_t ggml_row_size(int type, int64_t ne)');
  const oracle: Oracle = {
    libDir,
    ggmlBase: base,
    koffi,
    rowSize: (type, n) => Number(rowSize(type, n)),
    quantizeChunk(type, src, nrows, nPerRow, imatrix) {
      quantizeInit(type);
      const bytes = Number(rowSize(type, nPerRow)) * nrows;
      const dst = new Uint8Array(bytes);
      const written = Number(quantizeChunk(type, src, dst, 0, nrows, nPerRow, imatrix ?? null));
      if (written !== bytes) throw new Error(`ggml_quantize_chunk wrote ${written} bytes, expected ${bytes}`);
      return dst;
    },
  };
  cached = { oracle };
  return oracle;
}

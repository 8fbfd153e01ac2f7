// Grid IQ kernels (IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ1_S, IQ1_M) against the real llama.cpp:
// ggml_quantize_chunk bytes with a seeded imatrix (and without one where ggml allows it), on seeded
// weight-like rows and edge cases, and dequantization against the library's own to_float
// (ggml_get_type_traits(type)->to_float through koffi). Plus the grid tables' own invariants.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  assertQuantizeMatches, assertSameFloats, kernelToFloat, oracleSkip, oracleToFloat, requireOracle,
} from '../support/kernel-parity.ts';
import { gaussian, mulberry32 } from '../support/random.ts';
import { llamaSourceDir } from '../support/llama-tools.ts';
import { GgmlType, ggmlTypeInfo } from '../../src-main/core/gguf/ggml-types.ts';
// The TypeScript (reference) kernels, whatever the registry would accelerate.
import { referenceKernelFor as kernelFor } from '../../src-main/core/quant/kernels.ts';
import { QuantfitError } from '../../src-main/core/errors.ts';
import { KSIGNS_IQ2XS, gridCodes, gridSize, gridValues, searchTable, type IqGridName } from '../../src-main/core/quant/iq-grids.ts';

const reason = oracleSkip('grid IQ parity tests');

const IQ_TYPES = [
  { name: 'IQ2_XXS', id: GgmlType.IQ2_XXS, plain: false },
  { name: 'IQ2_XS', id: GgmlType.IQ2_XS, plain: false },
  { name: 'IQ2_S', id: GgmlType.IQ2_S, plain: true },
  { name: 'IQ3_XXS', id: GgmlType.IQ3_XXS, plain: true },
  { name: 'IQ3_S', id: GgmlType.IQ3_S, plain: true },
  { name: 'IQ1_S', id: GgmlType.IQ1_S, plain: false },
  { name: 'IQ1_M', id: GgmlType.IQ1_M, plain: true },
] as const;

// ---------------------------------------------------------------------------------------------
// Seeded data

/** Row generators; `r` is the row number, so every chunk holds every kind. */
const ROW_KINDS: ReadonlyArray<{ label: string; fill: (row: Float32Array, rnd: () => number) => void }> = [
  {
    label: 'gaussian with outliers',
    fill(row, rnd) {
      const sigma = [0.02, 0.005, 0.1, 1][Math.floor(rnd() * 4)];
      for (let i = 0; i < row.length; i++) {
        let v = gaussian(rnd) * sigma;
        if (rnd() < 1 / 97) v *= 6 + 14 * rnd();
        row[i] = v;
      }
    },
  },
  {
    label: 'per-32 scales across decades',
    fill(row, rnd) {
      for (let b = 0; b < row.length; b += 32) {
        const s = Math.exp(gaussian(rnd) * 2.5);
        for (let i = b; i < b + 32; i++) row[i] = gaussian(rnd) * s;
      }
    },
  },
  {
    // Few distinct values: ties in the IQ1 sort and repeated |x| in the grid searches.
    label: 'values on a coarse fp16 grid',
    fill(row, rnd) {
      for (let i = 0; i < row.length; i++) row[i] = (Math.floor(rnd() * 17) - 8) / 16;
    },
  },
  {
    label: 'gaussian with 3 mantissa bits (ties)',
    fill(row, rnd) {
      const bits = new Uint32Array(row.buffer, row.byteOffset, row.length);
      for (let i = 0; i < row.length; i++) {
        row[i] = gaussian(rnd) * 0.05;
        bits[i] &= 0xfff00000;
      }
    },
  },
  {
    // Whole zero sub-blocks inside a super-block (IQ3_S then shifts its qs/signs positions).
    label: 'sparse with zero sub-blocks',
    fill(row, rnd) {
      for (let b = 0; b < row.length; b += 32) {
        const zero = rnd() < 0.4;
        for (let i = b; i < b + 32; i++) row[i] = zero ? 0 : rnd() < 0.7 ? 0 : gaussian(rnd);
      }
    },
  },
  {
    label: 'mixed signs, alternating magnitudes',
    fill(row) {
      for (let i = 0; i < row.length; i++) row[i] = (i % 2 ? -1 : 1) * (1 + (i % 3)) * 0.01;
    },
  },
  { label: 'all zero', fill(row) { row.fill(0); } },
  { label: 'constant', fill(row) { row.fill(0.375); } },
  { label: 'negative constant', fill(row) { row.fill(-1.5); } },
  {
    label: 'tiny 1e-30',
    fill(row, rnd) {
      for (let i = 0; i < row.length; i++) row[i] = gaussian(rnd) * 1e-30;
    },
  },
  {
    label: 'large ±6e4',
    fill(row, rnd) {
      for (let i = 0; i < row.length; i++) {
        const v = gaussian(rnd) * 3e4;
        row[i] = rnd() < 0.1 ? (v < 0 ? -6e4 : 6e4) : Math.max(-6e4, Math.min(6e4, v));
      }
    },
  },
  {
    label: 'one spike per block',
    fill(row, rnd) {
      for (let i = 0; i < row.length; i++) row[i] = gaussian(rnd) * 1e-3;
      for (let b = 0; b < row.length; b += 256) row[b + Math.floor(rnd() * 256)] = 50 * (rnd() < 0.5 ? -1 : 1);
    },
  },
];

interface Chunk {
  readonly nPerRow: number;
  readonly nrows: number;
  readonly src: Float32Array;
  readonly imatrix: Float32Array;
}

/** Rows of one length: kinds cycle with the row number; the first 4 kinds repeat most. */
function chunk(nPerRow: number, nrows: number, seed: number): Chunk {
  const rnd = mulberry32(seed);
  const src = new Float32Array(nPerRow * nrows);
  for (let r = 0; r < nrows; r++) {
    // Edge kinds once each, then the weight-like kinds.
    const kind = r < ROW_KINDS.length ? ROW_KINDS[r] : ROW_KINDS[r % 5];
    kind.fill(src.subarray(r * nPerRow, (r + 1) * nPerRow), rnd);
  }
  // Importances over ~8 decades, some tiny and a few exactly zero (columns an imatrix never saw).
  const imatrix = new Float32Array(nPerRow);
  for (let i = 0; i < nPerRow; i++) {
    const u = rnd();
    imatrix[i] = u < 0.01 ? 0 : u < 0.04 ? 1e-9 * rnd() + 1e-12 : Math.exp(gaussian(rnd) * 3);
  }
  return { nPerRow, nrows, src, imatrix };
}

let cachedChunks: Chunk[] | undefined;
/** 48×256 + 76×512 + 225×2048 values = 2000 blocks. */
function chunks(): Chunk[] {
  cachedChunks ??= [chunk(256, 48, 101), chunk(512, 76, 202), chunk(2048, 225, 303)];
  return cachedChunks;
}

function rowKindOf(row: number): string {
  return row < ROW_KINDS.length ? ROW_KINDS[row].label : ROW_KINDS[row % 5].label;
}

// ---------------------------------------------------------------------------------------------
// Quantization parity

for (const type of IQ_TYPES) {
  for (const withImatrix of type.plain ? [true, false] : [true]) {
    const path = withImatrix ? 'imatrix' : 'no imatrix';
    test(`${type.name} (${path}) quantizes to ggml_quantize_chunk's bytes`, { skip: reason }, () => {
      const oracle = requireOracle();
      const kernel = kernelFor(type.id)!;
      let blocks = 0;
      for (const c of chunks()) {
        const imatrix = withImatrix ? c.imatrix : undefined;
        const expected = oracle.quantizeChunk(type.id, c.src, c.nrows, c.nPerRow, imatrix);
        blocks += assertQuantizeMatches(kernel, { ...c, imatrix }, expected, `${type.name} ${path}`, (b) => {
          const row = Math.floor(b / (c.nPerRow / 256));
          return `row ${row} of ${c.nPerRow}, '${rowKindOf(row)}'`;
        });
      }
      console.log(`# ${type.name} ${path}: ${blocks}/${blocks} blocks byte-identical`);
      assert.ok(blocks >= 2000);
    });
  }
}

test('types that need an imatrix refuse to quantize without one', () => {
  const src = new Float32Array(256).fill(1);
  for (const type of IQ_TYPES.filter((t) => !t.plain)) {
    const kernel = kernelFor(type.id)!;
    assert.throws(() => kernel.quantize!(src, new Uint8Array(ggmlTypeInfo(type.id)!.typeSize), 1, 256), (err: unknown) =>
      err instanceof QuantfitError && /importance matrix/.test(err.message));
  }
});

test('rows that are not a multiple of 256 are refused with the type named', () => {
  for (const type of IQ_TYPES) {
    const kernel = kernelFor(type.id)!;
    assert.throws(() => kernel.quantize!(new Float32Array(288), new Uint8Array(1024), 1, 288, new Float32Array(288).fill(1)),
      (err: unknown) => err instanceof QuantfitError && err.message.includes(ggmlTypeInfo(type.id)!.name.toUpperCase()) && /256/.test(err.message));
  }
});

test('quantize reads its inputs without modifying them', () => {
  const c = chunk(256, 8, 7);
  const src = c.src.slice();
  const imatrix = c.imatrix.slice();
  for (const type of IQ_TYPES) {
    kernelFor(type.id)!.quantize!(src, new Uint8Array(8 * ggmlTypeInfo(type.id)!.typeSize), 8, 256, imatrix);
  }
  assert.deepEqual(src, c.src);
  assert.deepEqual(imatrix, c.imatrix);
});

// ---------------------------------------------------------------------------------------------
// Dequantization against the library's to_float

/**
 * Random block bytes whose fp16 scale is finite (NaN payloads need not survive JS arithmetic).
 * Enough blocks that every grid index occurs with near certainty.
 */
function randomBlocks(type: number, nblocks: number, seed: number): Uint8Array {
  const rnd = mulberry32(seed);
  const bytes = ggmlTypeInfo(type)!.typeSize;
  const q = new Uint8Array(nblocks * bytes);
  for (let i = 0; i < q.length; i++) q[i] = Math.floor(rnd() * 256);
  for (let b = 0; b < nblocks; b++) {
    const at = b * bytes;
    if (type === GgmlType.IQ1_M) {
      // d's exponent sits in bits 10-14, i.e. in the top nibbles of scale words 2 and 3.
      q[at + 55] &= 0xbf;
    } else {
      q[at + 1] &= 0xbf;
    }
  }
  return q;
}

for (const type of IQ_TYPES) {
  test(`${type.name} dequantize equals the library's to_float bit for bit`, { skip: reason }, () => {
    const oracle = requireOracle();
    const kernel = kernelFor(type.id)!;
    // Random blocks (every index, sign and scale pattern) and real quantizer output.
    const random = randomBlocks(type.id, 1024, 1000 + type.id);
    const c = chunks()[1];
    const quantized = oracle.quantizeChunk(type.id, c.src, c.nrows, c.nPerRow, c.imatrix);
    for (const [label, q] of [['random blocks', random], ['quantized rows', quantized]] as const) {
      const n = (q.length / ggmlTypeInfo(type.id)!.typeSize) * 256;
      assertSameFloats(kernelToFloat(kernel, q, n), oracleToFloat(oracle, type.id, q, n), `${type.name} ${label}`, 256);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Tables

test('ksigns_iq2xs: 7 stored sign bits plus the bit that makes the count of negatives even', () => {
  assert.equal(KSIGNS_IQ2XS.length, 128);
  for (let i = 0; i < 128; i++) {
    const v = KSIGNS_IQ2XS[i];
    assert.equal(v & 127, i);
    let ones = 0;
    for (let b = 0; b < 8; b++) ones += (v >> b) & 1;
    assert.equal(ones % 2, 0);
  }
  // Spot values from ggml-common.h.
  assert.deepEqual([...KSIGNS_IQ2XS.subarray(0, 8)], [0, 129, 130, 3, 132, 5, 6, 135]);
});

// First and last entries as ggml-common.h lists them (bytes in memory order).
const GRID_FACTS: ReadonlyArray<{ name: IqGridName; size: number; dim: number; values: number[]; first: number[]; last: number[] }> = [
  { name: 'iq2xxs', size: 256, dim: 8, values: [8, 25, 43], first: [8, 8, 8, 8, 8, 8, 8, 8], last: [8, 25, 8, 8, 25, 43, 43, 43] },
  { name: 'iq2xs', size: 512, dim: 8, values: [8, 25, 43], first: [8, 8, 8, 8, 8, 8, 8, 8], last: [43, 43, 43, 43, 43, 43, 43, 43] },
  { name: 'iq2s', size: 1024, dim: 8, values: [8, 25, 43], first: [8, 8, 8, 8, 8, 8, 8, 8], last: [43, 43, 43, 43, 43, 43, 43, 43] },
  { name: 'iq1s', size: 2048, dim: 8, values: [-1, 0, 1], first: [-1, -1, -1, -1, -1, -1, -1, -1], last: [1, 1, 1, 1, 1, 1, 1, 1] },
  { name: 'iq3xxs', size: 256, dim: 4, values: [4, 12, 20, 28, 36, 44, 52, 62], first: [4, 4, 4, 4], last: [4, 28, 52, 62] },
  { name: 'iq3s', size: 512, dim: 4, values: [1, 3, 5, 7, 9, 11, 13, 15], first: [1, 1, 1, 1], last: [1, 1, 15, 15] },
];

for (const g of GRID_FACTS) {
  test(`${g.name} grid: ${g.size} distinct entries over its levels, search table consistent`, () => {
    assert.equal(gridSize(g.name), g.size);
    const codes = gridCodes(g.name);
    assert.equal(codes.length, g.size);
    assert.equal(new Set(codes).size, g.size);
    const values = gridValues(g.name);
    assert.equal(values.length, g.size * g.dim);
    for (const v of values) assert.ok(g.values.includes(v), `${g.name}: value ${v}`);
    assert.deepEqual([...values.subarray(0, g.dim)], g.first);
    assert.deepEqual([...values.subarray(values.length - g.dim)], g.last);

    const t = searchTable(g.name);
    assert.equal(searchTable(g.name), t, 'built once');
    for (let j = 0; j < g.size; j++) assert.equal(t.map[codes[j]], j);
    // Every off-grid index has a non-empty list, in non-decreasing distance, entry order on ties.
    const bits = t.bits;
    const mask = (1 << bits) - 1;
    let offGrid = 0;
    for (let i = 0; i < t.map.length; i++) {
      if (t.map[i] >= 0) continue;
      offGrid++;
      const at = -t.map[i] - 1;
      const count = t.neighbours[at];
      assert.ok(count > 0, `${g.name}: index ${i} has no neighbours`);
      let prevD = -1;
      let prevJ = -1;
      for (let n = 1; n <= count; n++) {
        const j = t.neighbours[at + n];
        let d2 = 0;
        for (let k = 0; k < t.dim; k++) {
          const diff = 2 * (((i >> (bits * k)) & mask) - t.levels[t.dim * j + k]);
          d2 += diff * diff;
        }
        assert.ok(d2 > prevD || (d2 === prevD && j > prevJ), `${g.name}: index ${i} neighbours out of order`);
        prevD = d2;
        prevJ = j;
      }
    }
    assert.equal(offGrid, t.map.length - g.size);
  });
}

// ---------------------------------------------------------------------------------------------
// The transcription itself, against the pinned release's source (scripts/build-llama-tools.sh clones it in CI).

const LLAMA_SRC = llamaSourceDir();
const REF_SRC = LLAMA_SRC === undefined ? '' : join(LLAMA_SRC, 'ggml', 'src');
const refReason = LLAMA_SRC !== undefined ? undefined : 'no llama.cpp source tree of the pinned release (run scripts/build-llama-tools.sh, or set QUANTFIT_LLAMA_SRC)';
if (refReason) console.log(`# skipping grid transcription check: ${refReason}`);

/** The numbers of a C initializer `name ... = { ... }` / GGML_TABLE_BEGIN(type, name, size) ... GGML_TABLE_END(). */
function cTable(text: string, start: RegExp, end: string): bigint[] {
  const m = start.exec(text);
  assert.ok(m, `table ${start} not found`);
  const from = m.index + m[0].length;
  const body = text.slice(from, text.indexOf(end, from));
  return body.split(',').map((s) => s.trim()).filter((s) => s.length > 0).map((s) => BigInt(s));
}

test('grid codes equal ggml-quants.c kgrid_* tables and ggml-common.h grids', { skip: refReason }, () => {
  const quants = readFileSync(join(REF_SRC, 'ggml-quants.c'), 'utf8');
  const common = readFileSync(join(REF_SRC, 'ggml-common.h'), 'utf8');
  const cases: Array<[IqGridName, RegExp, RegExp, number]> = [
    ['iq2xxs', /kgrid_2bit_256\[256\] = \{/, /GGML_TABLE_BEGIN\(uint64_t, iq2xxs_grid, 256\)/, 8],
    ['iq2xs', /kgrid_2bit_512\[512\] = \{/, /GGML_TABLE_BEGIN\(uint64_t, iq2xs_grid, 512\)/, 8],
    ['iq2s', /kgrid_2bit_1024\[1024\] = \{/, /GGML_TABLE_BEGIN\(uint64_t, iq2s_grid, 1024\)/, 8],
    ['iq1s', /kgrid_1bit_2048\[NGRID_IQ1S\] = \{/, /GGML_TABLE_BEGIN\(uint64_t, iq1s_grid, NGRID_IQ1S\)/, 8],
    ['iq3xxs', /kgrid_256\[256\] = \{/, /GGML_TABLE_BEGIN\(uint32_t, iq3xxs_grid, 256\)/, 4],
    ['iq3s', /kgrid_512\[512\] = \{/, /GGML_TABLE_BEGIN\(uint32_t, iq3s_grid, 512\)/, 4],
  ];
  for (const [name, kgridStart, commonStart, dim] of cases) {
    const kgrid = cTable(quants, kgridStart, '};').map(Number);
    assert.deepEqual([...gridCodes(name)], kgrid, `${name}: packed codes vs ggml-quants.c`);
    const grid = cTable(common, commonStart, 'GGML_TABLE_END');
    const values = gridValues(name);
    assert.equal(grid.length * dim, values.length);
    for (let j = 0; j < grid.length; j++) {
      for (let k = 0; k < dim; k++) {
        let byte = Number((grid[j] >> BigInt(8 * k)) & 0xffn);
        if (name === 'iq1s') byte = (byte << 24) >> 24;
        assert.equal(values[dim * j + k], byte, `${name}[${j}] byte ${k}`);
      }
    }
  }
});

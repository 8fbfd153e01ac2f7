// Entry points of build/wasm/quant.wasm. Every quantizer takes (src f32*, dst u8*, nrows, n_per_row,
// imatrix f32* or 0) in linear memory, as ggml_quantize_chunk does; the caller (../index.ts) owns
// the memory above heapBase() and checks shapes before calling.

import { QK_K, f16RowToF32 } from './common';
import {
  quantizeQ2_KRef, quantizeQ2_KImatrix, quantizeQ3_KRef, quantizeQ3_KImatrix, quantizeQ4_KRef, quantizeQ4_KImatrix,
  quantizeQ5_KRef, quantizeQ5_KImatrix, quantizeQ6_KRow,
} from './kquants';
import { quantizeQ8_0Ref, quantizeQ4_0Ref, quantizeQ4_0Imatrix } from './legacy';
import { quantizeIQ4_XSRow, quantizeIQ4_NLRow } from './iq4';
import { quantizeIQ2_XSRow } from './iq2';

export { setIq2xsTables } from './iq2';

/** First byte free for the caller's buffers (16-byte aligned). */
export function heapBase(): usize {
  return (__heap_base + 15) & ~<usize>15;
}

/** A row of nb super-blocks without quant weights (a _ref path). */
type RefRow = (x: usize, y: usize, nb: i32) => void;
/** A row of nb super-blocks with quant weights qw (0 where the path accepts none). */
type WeightedRow = (x: usize, y: usize, nb: i32, qw: usize) => void;

/** Rows of 256-value super-blocks: `ref` without quant weights, `weighted` with them. */
function superBlockRows(src: usize, dst: usize, nrows: i32, nPerRow: i32, qw: usize, blockBytes: i32, ref: RefRow, weighted: WeightedRow): void {
  const nb = nPerRow / QK_K;
  const rowBytes = <usize>(nb * blockBytes);
  for (let r = 0; r < nrows; r++) {
    const x = src + (<usize>r * <usize>nPerRow << 2);
    const y = dst + <usize>r * rowBytes;
    if (qw == 0) ref(x, y, nb);
    else weighted(x, y, nb, qw);
  }
}

/** Rows of 256-value super-blocks through one path that takes quant weights or none (qw = 0). */
function weightedRows(src: usize, dst: usize, nrows: i32, nPerRow: i32, qw: usize, blockSize: i32, blockBytes: i32, row: WeightedRow): void {
  const nb = nPerRow / blockSize;
  const rowBytes = <usize>(nb * blockBytes);
  for (let r = 0; r < nrows; r++) row(src + (<usize>r * <usize>nPerRow << 2), dst + <usize>r * rowBytes, nb, qw);
}

/** quantize_q2_K (ggml-quants.c); TypeScript twin: the Q2_K kernel in core/quant/kquants.ts. */
export function quantizeQ2_K(src: usize, dst: usize, nrows: i32, nPerRow: i32, qw: usize): void {
  superBlockRows(src, dst, nrows, nPerRow, qw, 84, quantizeQ2_KRef, quantizeQ2_KImatrix);
}

/** quantize_q3_K (ggml-quants.c); TypeScript twin: the Q3_K kernel in core/quant/kquants.ts. */
export function quantizeQ3_K(src: usize, dst: usize, nrows: i32, nPerRow: i32, qw: usize): void {
  superBlockRows(src, dst, nrows, nPerRow, qw, 110, quantizeQ3_KRef, quantizeQ3_KImatrix);
}

/** quantize_q4_K (ggml-quants.c); TypeScript twin: the Q4_K kernel in core/quant/kquants.ts. */
export function quantizeQ4_K(src: usize, dst: usize, nrows: i32, nPerRow: i32, qw: usize): void {
  superBlockRows(src, dst, nrows, nPerRow, qw, 144, quantizeQ4_KRef, quantizeQ4_KImatrix);
}

/** quantize_q5_K (ggml-quants.c); TypeScript twin: the Q5_K kernel in core/quant/kquants.ts. */
export function quantizeQ5_K(src: usize, dst: usize, nrows: i32, nPerRow: i32, qw: usize): void {
  superBlockRows(src, dst, nrows, nPerRow, qw, 176, quantizeQ5_KRef, quantizeQ5_KImatrix);
}

/** quantize_q6_K (ggml-quants.c); TypeScript twin: the Q6_K kernel in core/quant/kquants.ts. */
export function quantizeQ6_K(src: usize, dst: usize, nrows: i32, nPerRow: i32, qw: usize): void {
  weightedRows(src, dst, nrows, nPerRow, qw, QK_K, 210, quantizeQ6_KRow);
}

/** quantize_iq4_xs (ggml-quants.c); TypeScript twin: quantizeIQ4_XS in core/quant/iq4.ts. */
export function quantizeIQ4_XS(src: usize, dst: usize, nrows: i32, nPerRow: i32, qw: usize): void {
  weightedRows(src, dst, nrows, nPerRow, qw, QK_K, 136, quantizeIQ4_XSRow);
}

/** quantize_iq4_nl (ggml-quants.c); TypeScript twin: quantizeIQ4_NL in core/quant/iq4.ts. */
export function quantizeIQ4_NL(src: usize, dst: usize, nrows: i32, nPerRow: i32, qw: usize): void {
  weightedRows(src, dst, nrows, nPerRow, qw, 32, 18, quantizeIQ4_NLRow);
}

/** quantize_q8_0 (ggml-quants.c; the imatrix is ignored); TypeScript twin: quantizeQ8_0 in core/quant/legacy.ts. */
export function quantizeQ8_0(src: usize, dst: usize, nrows: i32, nPerRow: i32, qw: usize): void {
  quantizeQ8_0Ref(src, dst, nrows * (nPerRow >> 5));
}

/** quantize_q4_0 (ggml-quants.c); TypeScript twin: quantizeQ4_0 in core/quant/legacy.ts. */
export function quantizeQ4_0(src: usize, dst: usize, nrows: i32, nPerRow: i32, qw: usize): void {
  if (qw == 0) {
    quantizeQ4_0Ref(src, dst, nrows * (nPerRow >> 5));
    return;
  }
  const rowBytes = <usize>((nPerRow >> 5) * 18);
  for (let r = 0; r < nrows; r++) quantizeQ4_0Imatrix(src + (<usize>r * <usize>nPerRow << 2), dst + <usize>r * rowBytes, nPerRow, qw);
}

/**
 * quantize_iq2_xs (ggml-quants.c); TypeScript twin: quantizeIQ2_XS in core/quant/iquants-grid.ts.
 * Needs quant weights (the caller checks) and the tables from setIq2xsTables.
 */
export function quantizeIQ2_XS(src: usize, dst: usize, nrows: i32, nPerRow: i32, qw: usize): void {
  weightedRows(src, dst, nrows, nPerRow, qw, QK_K, 74, quantizeIQ2_XSRow);
}

/** A quantize entry point as exported above. */
type Quantize = (src: usize, dst: usize, nrows: i32, nPerRow: i32, qw: usize) => void;

const QUANTIZERS: StaticArray<Quantize> = [
  quantizeQ2_K, quantizeQ3_K, quantizeQ4_K, quantizeQ5_K, quantizeQ6_K, quantizeIQ4_XS, quantizeIQ4_NL, quantizeQ8_0, quantizeQ4_0, quantizeIQ2_XS,
];

/**
 * F16 rows into quantizer `which` (index in QUANTIZERS): each row is converted into `scratch`
 * (nPerRow floats) and quantized from there while it is still in cache. Rows are independent in every
 * quantizer, so row by row gives the bytes of the whole chunk at once.
 */
export function quantizeFromF16(which: i32, src: usize, dst: usize, nrows: i32, nPerRow: i32, qw: usize, rowBytes: i32, scratch: usize): void {
  const fn = unchecked(QUANTIZERS[which]); // the loader passes a valid index
  for (let r = 0; r < nrows; r++) {
    f16RowToF32(src + (<usize>r * <usize>nPerRow << 1), scratch, nPerRow);
    fn(scratch, dst + <usize>r * <usize>rowBytes, 1, nPerRow, qw);
  }
}

// Entry points of build/wasm/quant.wasm. Every quantizer takes (src f32*, dst u8*, nrows, n_per_row,
// imatrix f32* or 0) in linear memory, as ggml_quantize_chunk does; the caller (../index.ts) owns
// the memory above heapBase() and checks shapes before calling.

import { QK_K, f16RowToF32 } from './common';
import { q2kRef, q2kImatrix, q3kRef, q3kImatrix, k4Ref, k4Imatrix, q6k } from './kquants';
import { q8_0, q4_0Ref, q4_0Imatrix } from './legacy';
import { iq4xs, iq4nl } from './iq4';
import { iq2xs } from './iq2';

export { setIq2xsTables } from './iq2';

/** First byte free for the caller's buffers (16-byte aligned). */
export function heapBase(): usize {
  return (__heap_base + 15) & ~<usize>15;
}

export function quantizeQ2K(src: usize, dst: usize, nrows: i32, nPerRow: i32, qw: usize): void {
  kRows(src, dst, nrows, nPerRow, qw, 84, 2);
}

export function quantizeQ3K(src: usize, dst: usize, nrows: i32, nPerRow: i32, qw: usize): void {
  kRows(src, dst, nrows, nPerRow, qw, 110, 3);
}

export function quantizeQ4K(src: usize, dst: usize, nrows: i32, nPerRow: i32, qw: usize): void {
  kRows(src, dst, nrows, nPerRow, qw, 144, 4);
}

export function quantizeQ5K(src: usize, dst: usize, nrows: i32, nPerRow: i32, qw: usize): void {
  kRows(src, dst, nrows, nPerRow, qw, 176, 5);
}

export function quantizeQ6K(src: usize, dst: usize, nrows: i32, nPerRow: i32, qw: usize): void {
  kRows(src, dst, nrows, nPerRow, qw, 210, 6);
}

export function quantizeIQ4XS(src: usize, dst: usize, nrows: i32, nPerRow: i32, qw: usize): void {
  kRows(src, dst, nrows, nPerRow, qw, 136, 0);
}

export function quantizeIQ4NL(src: usize, dst: usize, nrows: i32, nPerRow: i32, qw: usize): void {
  const nb = nPerRow >> 5;
  for (let r = 0; r < nrows; r++) {
    iq4nl(src + (<usize>r * <usize>nPerRow << 2), dst + <usize>r * <usize>(nb * 18), nb, qw);
  }
}

export function quantizeQ8_0(src: usize, dst: usize, nrows: i32, nPerRow: i32, qw: usize): void {
  q8_0(src, dst, nrows * (nPerRow >> 5));
}

export function quantizeQ4_0(src: usize, dst: usize, nrows: i32, nPerRow: i32, qw: usize): void {
  if (qw == 0) {
    q4_0Ref(src, dst, nrows * (nPerRow >> 5));
    return;
  }
  const rowBytes = <usize>((nPerRow >> 5) * 18);
  for (let r = 0; r < nrows; r++) q4_0Imatrix(src + (<usize>r * <usize>nPerRow << 2), dst + <usize>r * rowBytes, nPerRow, qw);
}

/** IQ2_XS needs quant weights (the caller checks) and the tables from setIq2xsTables. */
export function quantizeIQ2XS(src: usize, dst: usize, nrows: i32, nPerRow: i32, qw: usize): void {
  const nb = nPerRow / QK_K;
  for (let r = 0; r < nrows; r++) iq2xs(src + (<usize>r * <usize>nPerRow << 2), dst + <usize>r * <usize>(nb * 74), nb, qw);
}

/** Rows of 256-value super-blocks; `kind` picks the family (2…6 = Q2_K…Q6_K, 0 = IQ4_XS). */
function kRows(src: usize, dst: usize, nrows: i32, nPerRow: i32, qw: usize, blockBytes: i32, kind: i32): void {
  const nb = nPerRow / QK_K;
  const rowBytes = <usize>(nb * blockBytes);
  for (let r = 0; r < nrows; r++) {
    const x = src + (<usize>r * <usize>nPerRow << 2);
    const y = dst + <usize>r * rowBytes;
    if (kind == 6) q6k(x, y, nb, qw);
    else if (kind == 0) iq4xs(x, y, nb, qw);
    else if (kind == 2) { if (qw == 0) q2kRef(x, y, nb); else q2kImatrix(x, y, nb, qw); }
    else if (kind == 3) { if (qw == 0) q3kRef(x, y, nb); else q3kImatrix(x, y, nb, qw); }
    else if (qw == 0) k4Ref(x, y, nb, kind == 5);
    else k4Imatrix(x, y, nb, qw, kind == 5);
  }
}

/** A quantize entry point as exported above. */
type Quantize = (src: usize, dst: usize, nrows: i32, nPerRow: i32, qw: usize) => void;

const QUANTIZERS: StaticArray<Quantize> = [
  quantizeQ2K, quantizeQ3K, quantizeQ4K, quantizeQ5K, quantizeQ6K, quantizeIQ4XS, quantizeIQ4NL, quantizeQ8_0, quantizeQ4_0, quantizeIQ2XS,
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

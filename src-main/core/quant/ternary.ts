// Ternary quants (BitNet b1.58 / TriLM): TQ1_0 and TQ2_0, super-blocks of 256 with d = amax and
// trits t = lroundf(x/d) ∈ {−1, 0, 1}. The imatrix is ignored by ggml.
//
// TQ1_0 {qs[48], qh[4], d: f16}: 5 trits per byte in base 3, stored as ceil(b·256/243) so that a trit
//   is read back with one multiply and a shift ((uint8)(q·3^n)·3 >> 8).
//   qs[m] (m < 32) holds elements m + 32n (n = 0..4, first = most significant trit) of 0..159,
//   qs[32 + m] (m < 16) holds 160 + m + 16n, qh[j] holds 240 + j + 4n (n = 0..3) plus a zero trit.
// TQ2_0 {qs[64], d: f16}: byte 32c + m holds (t + 1) of element 128c + 32n + m at bits 2n.

import { registerKernel } from './registry.ts';
import { GgmlType } from '../gguf/ggml-types.ts';
import * as numeric from './numeric.ts';
import { checkQuantizeArgs, checkDequantizeArgs } from './block-args.ts';

// Hot loops use module-local bindings: under tsx (esbuild) an imported name is a getter call on
// every use, which made these kernels 2-4x slower.
const fround = Math.fround;
const { fp32ToFp16, FP16_TO_FP32, getU16, putU16 } = numeric;

const QK_K = 256;

/** amax of one super-block, MAX(amax, fabsf(v)) order. */
function blockAmax(src: Float32Array, x: number): number {
  let amax = 0;
  for (let j = 0; j < QK_K; j++) {
    const a = Math.abs(src[x + j]);
    if (amax < a) amax = a;
  }
  return amax;
}

/**
 * lroundf(x·id) + 1: the trit 0, 1 or 2. Half away from zero without a sign branch:
 * trunc(2p − trunc(p)). For p = ±inf/NaN (a subnormal d makes id = inf) this gives 1, as does
 * ggml's (int)(lroundf(p) + 1) with lroundf returning LONG_MIN.
 */
function trit(v: number, id: number): number {
  const p = fround(v * id);
  return ((2 * p - (p | 0)) | 0) + 1;
}

// ============================================================================================
// TQ1_0 (54 bytes per 256)

/** quantize_tq1_0 (ggml-quants.c: quantize_row_tq1_0_ref); no WebAssembly twin. */
function quantizeTQ1_0(src: Float32Array, dst: Uint8Array, nrows: number, nPerRow: number, imatrix?: Float32Array): number {
  const nb = checkQuantizeArgs('TQ1_0', QK_K, 54, src, dst, nrows, nPerRow, imatrix);
  for (let i = 0; i < nb; i++) {
    const x = i * QK_K;
    const o = i * 54;
    const d = blockAmax(src, x);
    const id = d !== 0 ? fround(1 / d) : 0;
    putU16(dst, o + 52, fp32ToFp16(d));
    for (let m = 0; m < 32; m++) {
      let q = 0;
      for (let n = 0; n < 5; n++) q = q * 3 + trit(src[x + m + 32 * n], id);
      dst[o + m] = (((q & 0xff) * 256 + 242) / 243) | 0;
    }
    for (let m = 0; m < 16; m++) {
      let q = 0;
      for (let n = 0; n < 5; n++) q = q * 3 + trit(src[x + 160 + m + 16 * n], id);
      dst[o + 32 + m] = (((q & 0xff) * 256 + 242) / 243) | 0;
    }
    for (let j = 0; j < 4; j++) {
      let q = 0;
      for (let n = 0; n < 4; n++) q = q * 3 + trit(src[x + 240 + j + 4 * n], id);
      q = (q * 3) & 0xff; // the fifth, padding trit is 0
      dst[o + 48 + j] = ((q * 256 + 242) / 243) | 0;
    }
  }
  return nb * 54;
}

const POW3 = Uint8Array.of(1, 3, 9, 27, 81);

/** dequantize_row_tq1_0 (ggml-quants.c); no WebAssembly twin. */
function dequantizeTQ1_0(src: Uint8Array, dst: Float32Array, n: number): void {
  const nb = checkDequantizeArgs('TQ1_0', QK_K, 54, src, dst, n);
  let y = 0;
  for (let i = 0; i < nb; i++) {
    const o = i * 54;
    const d = FP16_TO_FP32[getU16(src, o + 52)];
    for (let t = 0; t < 5; t++) {
      for (let m = 0; m < 32; m++) {
        const q = (src[o + m] * POW3[t]) & 0xff;
        dst[y++] = (((q * 3) >> 8) - 1) * d;
      }
    }
    for (let t = 0; t < 5; t++) {
      for (let m = 0; m < 16; m++) {
        const q = (src[o + 32 + m] * POW3[t]) & 0xff;
        dst[y++] = (((q * 3) >> 8) - 1) * d;
      }
    }
    for (let t = 0; t < 4; t++) {
      for (let j = 0; j < 4; j++) {
        const q = (src[o + 48 + j] * POW3[t]) & 0xff;
        dst[y++] = (((q * 3) >> 8) - 1) * d;
      }
    }
  }
}

// ============================================================================================
// TQ2_0 (66 bytes per 256)

/** quantize_tq2_0 (ggml-quants.c: quantize_row_tq2_0_ref); no WebAssembly twin. */
function quantizeTQ2_0(src: Float32Array, dst: Uint8Array, nrows: number, nPerRow: number, imatrix?: Float32Array): number {
  const nb = checkQuantizeArgs('TQ2_0', QK_K, 66, src, dst, nrows, nPerRow, imatrix);
  for (let i = 0; i < nb; i++) {
    const x = i * QK_K;
    const o = i * 66;
    const d = blockAmax(src, x);
    const id = d !== 0 ? fround(1 / d) : 0;
    putU16(dst, o + 64, fp32ToFp16(d));
    for (let c = 0; c < 2; c++) {
      for (let m = 0; m < 32; m++) {
        let q = 0;
        for (let n = 0; n < 4; n++) q += (trit(src[x + 128 * c + 32 * n + m], id) & 3) << (2 * n);
        dst[o + 32 * c + m] = q;
      }
    }
  }
  return nb * 66;
}

/** dequantize_row_tq2_0 (ggml-quants.c); no WebAssembly twin. */
function dequantizeTQ2_0(src: Uint8Array, dst: Float32Array, n: number): void {
  const nb = checkDequantizeArgs('TQ2_0', QK_K, 66, src, dst, n);
  let y = 0;
  for (let i = 0; i < nb; i++) {
    const o = i * 66;
    const d = FP16_TO_FP32[getU16(src, o + 64)];
    for (let c = 0; c < 2; c++) {
      for (let l = 0; l < 4; l++) {
        for (let m = 0; m < 32; m++) dst[y++] = (((src[o + 32 * c + m] >> (2 * l)) & 3) - 1) * d;
      }
    }
  }
}

registerKernel({ type: GgmlType.TQ1_0, quantize: quantizeTQ1_0, dequantize: dequantizeTQ1_0 });
registerKernel({ type: GgmlType.TQ2_0, quantize: quantizeTQ2_0, dequantize: dequantizeTQ2_0 });

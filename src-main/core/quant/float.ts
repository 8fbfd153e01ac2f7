// Float "quantization": F32 (copy), F16 (ggml_compute_fp32_to_fp16, RNE) and BF16
// (ggml_compute_fp32_to_bf16, RNE with quiet NaNs), each with its exact inverse. These work on the
// raw float32 bit patterns, so NaN payloads follow ggml rather than whatever a JS number keeps.

import { registerKernel } from './registry.ts';
import { GgmlType } from '../gguf/ggml-types.ts';
import * as numeric from './numeric.ts';
import { checkQuantizeArgs, checkDequantizeArgs } from './block-args.ts';

// Hot loops use module-local bindings: under tsx (esbuild) an imported name is a getter call on
// every use, which made these kernels 2-4x slower.
const { fp16FromF32Bits, bf16FromF32Bits, FP16_TO_FP32 } = numeric;

function bitsOf(src: Float32Array, n: number): Uint32Array {
  return new Uint32Array(src.buffer, src.byteOffset, n);
}

// ============================================================================================
// F32: ggml_quantize_chunk memcpys the rows.

/** ggml_quantize_chunk's F32 case (a copy of the rows); no WebAssembly twin. */
function quantizeF32(src: Float32Array, dst: Uint8Array, nrows: number, nPerRow: number, imatrix?: Float32Array): number {
  const n = checkQuantizeArgs('F32', 1, 4, src, dst, nrows, nPerRow, imatrix);
  dst.set(new Uint8Array(src.buffer, src.byteOffset, n * 4));
  return n * 4;
}

/** the F32 to_float (a copy); no WebAssembly twin. */
function dequantizeF32(src: Uint8Array, dst: Float32Array, n: number): void {
  checkDequantizeArgs('F32', 1, 4, src, dst, n);
  new Uint8Array(dst.buffer, dst.byteOffset, n * 4).set(src.subarray(0, n * 4));
}

// ============================================================================================
// F16 (IEEE binary16, little-endian).

/** ggml_fp32_to_fp16_row (ggml.c); no WebAssembly twin. */
function quantizeF16(src: Float32Array, dst: Uint8Array, nrows: number, nPerRow: number, imatrix?: Float32Array): number {
  const n = checkQuantizeArgs('F16', 1, 2, src, dst, nrows, nPerRow, imatrix);
  const u = bitsOf(src, n);
  if ((dst.byteOffset & 1) === 0) {
    // Aligned: write whole halves (every supported platform is little-endian).
    const h = new Uint16Array(dst.buffer, dst.byteOffset, n);
    for (let i = 0; i < n; i++) h[i] = fp16FromF32Bits(u[i]);
  } else {
    for (let i = 0; i < n; i++) {
      const v = fp16FromF32Bits(u[i]);
      dst[2 * i] = v & 0xff;
      dst[2 * i + 1] = v >>> 8;
    }
  }
  return n * 2;
}

/** ggml_fp16_to_fp32_row (ggml.c); no WebAssembly twin. */
function dequantizeF16(src: Uint8Array, dst: Float32Array, n: number): void {
  checkDequantizeArgs('F16', 1, 2, src, dst, n);
  // Copy through the fp16 table's bit patterns so NaNs keep ggml's payload.
  const out = new Uint32Array(dst.buffer, dst.byteOffset, n);
  const table = new Uint32Array(FP16_TO_FP32.buffer);
  for (let i = 0; i < n; i++) out[i] = table[src[2 * i] | (src[2 * i + 1] << 8)];
}

// ============================================================================================
// BF16 (the upper half of a float32, little-endian).

/** ggml_fp32_to_bf16_row_ref (ggml.c); no WebAssembly twin. */
function quantizeBF16(src: Float32Array, dst: Uint8Array, nrows: number, nPerRow: number, imatrix?: Float32Array): number {
  const n = checkQuantizeArgs('BF16', 1, 2, src, dst, nrows, nPerRow, imatrix);
  const u = bitsOf(src, n);
  if ((dst.byteOffset & 1) === 0) {
    const h = new Uint16Array(dst.buffer, dst.byteOffset, n);
    for (let i = 0; i < n; i++) h[i] = bf16FromF32Bits(u[i]);
  } else {
    for (let i = 0; i < n; i++) {
      const v = bf16FromF32Bits(u[i]);
      dst[2 * i] = v & 0xff;
      dst[2 * i + 1] = v >>> 8;
    }
  }
  return n * 2;
}

/** ggml_bf16_to_fp32_row (ggml.c); no WebAssembly twin. */
function dequantizeBF16(src: Uint8Array, dst: Float32Array, n: number): void {
  checkDequantizeArgs('BF16', 1, 2, src, dst, n);
  const out = new Uint32Array(dst.buffer, dst.byteOffset, n);
  for (let i = 0; i < n; i++) out[i] = ((src[2 * i] << 16) | (src[2 * i + 1] << 24)) >>> 0;
}

registerKernel({ type: GgmlType.F32, quantize: quantizeF32, dequantize: dequantizeF32 });
registerKernel({ type: GgmlType.F16, quantize: quantizeF16, dequantize: dequantizeF16 });
registerKernel({ type: GgmlType.BF16, quantize: quantizeBF16, dequantize: dequantizeBF16 });

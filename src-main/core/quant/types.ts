// What every quantization kernel provides. One module per family registers one QuantKernel per
// ggml type; the pipeline and the tests look kernels up by type id (see registry.ts).

export interface QuantKernel {
  /** ggml type id (see gguf/ggml-types.ts). */
  readonly type: number;
  /**
   * Quantize `nrows` rows of `nPerRow` floats from `src` into `dst`, exactly as ggml_quantize_chunk
   * does for the same rows. `imatrix` (length nPerRow) is the per-column importance, or undefined.
   * Returns the number of bytes written.
   */
  quantize?(src: Float32Array, dst: Uint8Array, nrows: number, nPerRow: number, imatrix?: Float32Array): number;
  /** Dequantize `n` elements (a multiple of the block size) from `src` into `dst`, as ggml's to_float. */
  dequantize(src: Uint8Array, dst: Float32Array, n: number): void;
}

// Argument checks shared by the kernels (float, legacy, K-quants, IQ4, ternary, FP4; the grid IQ
// types keep their own) and the WebAssembly loader. A failure here is a caller bug (the pipeline
// sizes every buffer from the type table), so these throw RangeError; without them a short
// destination would silently drop bytes, as typed arrays ignore writes past their end.

/** Checks a quantize call and returns the number of blocks in nrows × nPerRow values. */
export function checkQuantizeArgs(
  name: string, blockSize: number, blockBytes: number,
  src: Float32Array, dst: Uint8Array, nrows: number, nPerRow: number, imatrix?: Float32Array,
): number {
  if (!Number.isInteger(nrows) || nrows < 0 || !Number.isInteger(nPerRow) || nPerRow < 0) {
    throw new RangeError(`${name}: bad shape ${nrows} rows × ${nPerRow}`);
  }
  if (nPerRow % blockSize !== 0) throw new RangeError(`${name}: row length ${nPerRow} is not a multiple of ${blockSize}`);
  const n = nrows * nPerRow;
  if (src.length < n) throw new RangeError(`${name}: source holds ${src.length} values, need ${n}`);
  const blocks = n / blockSize;
  if (dst.length < blocks * blockBytes) throw new RangeError(`${name}: destination holds ${dst.length} bytes, need ${blocks * blockBytes}`);
  if (imatrix && imatrix.length < nPerRow) throw new RangeError(`${name}: imatrix has ${imatrix.length} values, need ${nPerRow} (one per column)`);
  return blocks;
}

/** Checks a dequantize call of n values and returns the number of blocks. */
export function checkDequantizeArgs(
  name: string, blockSize: number, blockBytes: number, src: Uint8Array, dst: Float32Array, n: number,
): number {
  if (!Number.isInteger(n) || n < 0 || n % blockSize !== 0) throw new RangeError(`${name}: ${n} values is not a whole number of ${blockSize}-blocks`);
  const blocks = n / blockSize;
  if (src.length < blocks * blockBytes) throw new RangeError(`${name}: source holds ${src.length} bytes, need ${blocks * blockBytes}`);
  if (dst.length < n) throw new RangeError(`${name}: destination holds ${dst.length} values, need ${n}`);
  return blocks;
}

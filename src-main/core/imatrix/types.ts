// Importance matrices (llama-imatrix output) as llama-quantize uses them.

/** What a file holds before normalisation: per entry the Σx² (GGUF) or mean·ncall (legacy) and counts. */
export interface RawImatrix {
  readonly format: 'legacy' | 'gguf';
  /** counts: legacy → [ncall]; GGUF → tokens seen per expert (rounded to integers). */
  readonly entries: ReadonlyMap<string, { readonly sums: Float32Array; readonly counts: readonly number[] }>;
  readonly datasets: readonly string[];
  readonly chunkCount: number;
  /** GGUF only: the three imatrix.* metadata keys are present (llama-quantize requires them). */
  readonly hasMetadata: boolean;
}

/** A loaded imatrix: per tensor name, the mean of x² per column (per expert, concatenated). */
export interface Imatrix {
  /** The path as the user gave it (recorded in quantize.imatrix.file). */
  readonly file: string;
  readonly format: 'legacy' | 'gguf';
  readonly entries: ReadonlyMap<string, Float32Array>;
  readonly datasets: readonly string[];
  /** llama-quantize records this as quantize.imatrix.chunks_count when > 0. */
  readonly chunkCount: number;
}

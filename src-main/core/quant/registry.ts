// Kernels registered by ggml type id. Family modules call registerKernel at import time;
// `kernels.ts` imports every family so that one import makes the whole table available.

import type { QuantKernel } from './types.ts';
import { ggmlTypeName } from '../gguf/ggml-types.ts';

const KERNELS = new Map<number, QuantKernel>();

export function registerKernel(kernel: QuantKernel): void {
  if (KERNELS.has(kernel.type)) throw new Error(`kernel for ${ggmlTypeName(kernel.type)} registered twice`);
  KERNELS.set(kernel.type, kernel);
}

export function kernelFor(type: number): QuantKernel | undefined {
  return KERNELS.get(type);
}

export function registeredTypes(): number[] {
  return [...KERNELS.keys()].sort((a, b) => a - b);
}

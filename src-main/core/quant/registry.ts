// Kernels registered by ggml type id. Family modules call registerKernel at import time;
// `kernels.ts` imports every family so that one import makes the whole table available.
// Accelerated kernels (WebAssembly, same bytes) take precedence where their source provides one;
// the registered TypeScript kernels stay the reference and the fallback.

import type { QuantKernel } from './types.ts';
import { ggmlTypeName } from '../gguf/ggml-types.ts';

const KERNELS = new Map<number, QuantKernel>();
let accelerated: (() => ReadonlyMap<number, QuantKernel>) | undefined;

export function registerKernel(kernel: QuantKernel): void {
  if (KERNELS.has(kernel.type)) throw new Error(`kernel for ${ggmlTypeName(kernel.type)} registered twice`);
  KERNELS.set(kernel.type, kernel);
}

/**
 * Sets the source of accelerated kernels: called on every lookup (it should cache), it returns the
 * kernels that can be used now (an empty map when, say, the module is missing or disabled).
 */
export function registerAccelerated(source: () => ReadonlyMap<number, QuantKernel>): void {
  accelerated = source;
}

/** The kernel to run for a type: the accelerated one when available, else the reference one. */
export function kernelFor(type: number): QuantKernel | undefined {
  return accelerated?.().get(type) ?? KERNELS.get(type);
}

/** The TypeScript (reference) kernel for a type, whatever is accelerated. */
export function referenceKernelFor(type: number): QuantKernel | undefined {
  return KERNELS.get(type);
}

export function registeredTypes(): number[] {
  return [...KERNELS.keys()].sort((a, b) => a - b);
}

// Importing this module registers every kernel family. Add one import per family module.
export { kernelFor, referenceKernelFor, registeredTypes } from './registry.ts';
import { registerAccelerated } from './registry.ts';
import { wasmKernels } from './wasm/index.ts';
import './kquants.ts';
import './iquants-grid.ts';
import './float.ts';
import './legacy.ts';
import './iq4.ts';
import './ternary.ts';
import './fp4.ts';

// WebAssembly kernels (build/wasm/quant.wasm) where present and not disabled by QUANTFIT_NO_WASM=1.
registerAccelerated(wasmKernels);

// Builds build/wasm/quant.wasm from the AssemblyScript kernels in src-main/core/quant/wasm/assembly
// (runs as the `prepare` script, so `npm install` leaves a working module; offline, a few seconds).
// Without the compiler (a production install without devDependencies) it says so and exits 0:
// the TypeScript kernels are then used.

import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'src-main/core/quant/wasm/assembly/index.ts');
const out = join(root, 'build/wasm/quant.wasm');

let asc;
try {
  asc = await import('assemblyscript/asc');
} catch {
  console.warn('build-wasm: assemblyscript is not installed; the TypeScript quantization kernels will be used');
  process.exit(0);
}

mkdirSync(dirname(out), { recursive: true });
const started = performance.now();
const { error, stderr } = await asc.main([
  entry,
  '--outFile', out,
  '-O3', '--noAssert',
  '--runtime', 'stub', // no GC: the kernels allocate nothing
  '--enable', 'simd',
  '--initialMemory', '2',
]);
const diagnostics = stderr.toString().trim();
if (diagnostics) console.error(diagnostics);
if (error) {
  console.error(`build-wasm: ${error.message}`);
  process.exit(1);
}
console.log(`build-wasm: ${out} (${((performance.now() - started) / 1000).toFixed(1)} s)`);

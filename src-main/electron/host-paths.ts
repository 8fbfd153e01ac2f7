// Where the job host finds the quantizer's files in the bundled app (no electron import: tested alone).
import { join } from 'node:path';
import { unpackedPath } from '../core/asar-path.ts';

/**
 * The quantizer's worker entry: beside the host bundle (electron.vite.config.ts emits it); packaged,
 * electron-builder unpacks it from the asar archive so a worker thread can load it.
 */
export function quantWorkerPath(hostDir: string, exists: (p: string) => boolean): string {
  return unpackedPath(join(hostDir, 'quant-worker.js'), exists);
}

/**
 * The WebAssembly kernels: packaged, an extra resource (electron-builder.yml); in development, the
 * file `npm install` builds at build/wasm/quant.wasm (the host runs from out/main). Undefined when
 * neither exists — the quantizer then uses its TypeScript kernels, which write the same bytes.
 */
export function quantWasmPath(hostDir: string, resourcesPath: string | undefined, exists: (p: string) => boolean): string | undefined {
  const candidates = [
    ...(resourcesPath ? [join(resourcesPath, 'quant.wasm')] : []),
    join(hostDir, '..', '..', 'build', 'wasm', 'quant.wasm'),
  ];
  return candidates.find(exists);
}

/**
 * The default calibration text of eval/imatrix: packaged, an extra resource (electron-builder.yml: the
 * folder, with the README that states its sources and licences); in
 * development, resources/calibration/calibration.txt of the checkout (the host runs from out/main).
 */
export function calibrationTextPath(hostDir: string, resourcesPath: string | undefined, exists: (p: string) => boolean): string | undefined {
  const candidates = [
    ...(resourcesPath ? [join(resourcesPath, 'calibration', 'calibration.txt')] : []),
    join(hostDir, '..', '..', 'resources', 'calibration', 'calibration.txt'),
  ];
  return candidates.find(exists);
}

// The package's root folder, for files that live beside the code (build/wasm/quant.wasm, the
// worker bundle cache). This file sits two folders below the root (src-main/core/), and the compiled
// CLI (scripts/build-cli.mjs) writes every module flat into out/cli/, also two below the root: so the
// same relative URL is right whether the sources or the build are running.

export const PACKAGE_ROOT_URL: URL = new URL('../../', import.meta.url);

/** A path inside the package, from its root. */
export function packagePath(relative: string): URL {
  return new URL(relative, PACKAGE_ROOT_URL);
}

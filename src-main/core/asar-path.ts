// Packaged by electron-builder, the app's code and node_modules sit inside resources/app.asar, and
// the files named by asarUnpack (electron-builder.yml: native libraries) beside it, in
// app.asar.unpacked. Electron reads both through the archive's paths for fs and require, but native
// code (koffi.load → dlopen, llama.cpp loading its CPU backends from a folder) sees only real paths.

/** `path` inside app.asar as the unpacked copy's path when that exists; any other path unchanged. */
export function unpackedPath(path: string, exists: (p: string) => boolean): string {
  const unpacked = path.replace(/([\\/])app\.asar(?=[\\/]|$)/, '$1app.asar.unpacked');
  return unpacked !== path && exists(unpacked) ? unpacked : path;
}

// The default output file and Ollama model names of a fit. Pure TypeScript with no Node import:
// the CLI, the fit job and the app's renderer (which cannot load Node modules) share these, so the
// name the app pre-fills is the name `quantfit fit` would use.

import { parseModelName } from './ollama-names.ts';

/** The file name of a path, for '/' and '\' separators alike (the renderer sees Windows paths too). */
export function fileNameOf(path: string): string {
  return path.replace(/[\\/]+$/, '').split(/[\\/]/).pop() ?? path;
}

/** The file name without a `.gguf` extension (any case); a bare `.gguf` is a name, not an extension. */
export function fileStem(path: string): string {
  const base = fileNameOf(path);
  return base.length > 5 && base.toLowerCase().endsWith('.gguf') ? base.slice(0, -5) : base;
}

/** The default output name: `<input-stem>.<TYPE>.gguf`. */
export function defaultOutputName(inputPath: string, type: string): string {
  return `${fileStem(inputPath)}.${type}.gguf`;
}

/**
 * A valid Ollama name from the file name and type: `stories260K.gguf` + Q8_0 → `stories260k:q8_0`.
 * Lower case, characters outside Ollama's set become '-', at most 80 characters per part.
 */
export function defaultModelName(inputPath: string, type: string): string {
  const clean = (s: string) =>
    s.toLowerCase().replace(/[^a-z0-9_.-]+/g, '-').replace(/^[^a-z0-9_]+/, '').replace(/[-.]+$/, '').slice(0, 80).replace(/[-.]+$/, '');
  const model = clean(fileStem(inputPath)) || 'model';
  const tag = clean(type) || 'latest';
  const name = `${model}:${tag}`;
  return parseModelName(name) ? name : `model:${tag}`;
}

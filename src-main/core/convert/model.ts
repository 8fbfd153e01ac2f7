// A model path is a GGUF file or a Hugging Face folder; these open either the same way, so every
// command (inspect, recommend, quantize, fit) takes both. A folder's header is the GGUF the
// conversion will write: exact sizes from the safetensors headers, no weight read.

import { stat } from 'node:fs/promises';
import { GgufReader, readGgufHeader } from '../gguf/reader.ts';
import type { GgufHeader } from '../gguf/types.ts';
import type { TensorSource } from '../quant/pipeline.ts';

export async function isModelFolder(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** The GGUF header of a file, or of what converting a folder (--outtype auto) writes. */
export async function readModelHeader(path: string, signal?: AbortSignal): Promise<GgufHeader> {
  if (!(await isModelFolder(path))) return readGgufHeader(path);
  const { planConversion } = await import('./plan.ts'); // the converter loads only for folders
  const conv = await planConversion(path, { outtype: 'auto', signal });
  await conv.source.close();
  return conv.header;
}

/** A tensor source over a GGUF file, or over a folder converted on the fly (--outtype auto). */
export async function openModelSource(path: string, signal?: AbortSignal): Promise<TensorSource> {
  if (!(await isModelFolder(path))) return GgufReader.open(path);
  const { planConversion } = await import('./plan.ts');
  return (await planConversion(path, { outtype: 'auto', signal })).source;
}

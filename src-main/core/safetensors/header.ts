// The safetensors header: 8 bytes of little-endian length N, then N bytes of JSON mapping tensor names
// to {dtype, shape, data_offsets} (plus an optional "__metadata__" of strings), then the data.
// Everything is checked before anything is allocated from the file's numbers: N against the file size
// and a hard limit, the JSON's item count before parsing, then each entry — known dtype, whole
// non-negative dimensions, offsets that equal the shape's byte size, and offsets that tile the data
// section exactly (no gap, no overlap, nothing past the end), as the safetensors library requires.

import { open, type FileHandle } from 'node:fs/promises';
import { QuantfitError } from '../errors.ts';
import { SAFETENSORS_DTYPES } from './dtypes.ts';

/** The safetensors library's limit on the header length. */
export const SAFETENSORS_MAX_HEADER_BYTES = 100_000_000;
/** JSON values in one header (a real one holds ~10 per tensor); bounds what JSON.parse builds. */
export const SAFETENSORS_MAX_HEADER_ITEMS = 4_000_000;
const MAX_DIMS = 8;

export interface SafetensorsTensor {
  readonly name: string;
  readonly dtype: string;
  /** As stored: outermost dimension first (row-major, the last dimension is contiguous). */
  readonly shape: readonly number[];
  /** Absolute position of the tensor's first byte in the file. */
  readonly fileOffset: number;
  readonly byteSize: number;
}

export interface SafetensorsHeader {
  readonly path: string;
  readonly fileSize: number;
  /** Absolute position of the data section (8 + N). */
  readonly dataOffset: number;
  /** In the order of the JSON object. */
  readonly tensors: readonly SafetensorsTensor[];
  readonly metadata: Readonly<Record<string, string>>;
}

function fail(path: string, message: string, extra: { offset?: number; tensor?: string } = {}): QuantfitError {
  return new QuantfitError(message, { file: path, ...extra }, { code: 'safetensors.invalid', params: { file: path, why: message } });
}

/** Checks the 8-byte prefix against the file size; returns N. */
export function headerLength(path: string, prefix: Uint8Array, fileSize: number): number {
  if (fileSize < 8 || prefix.length < 8) throw fail(path, `file is ${fileSize} bytes, too short for a safetensors header`);
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n === 0n) throw fail(path, 'header length is 0', { offset: 0 });
  if (n > BigInt(SAFETENSORS_MAX_HEADER_BYTES)) throw fail(path, `header length ${n} exceeds the ${SAFETENSORS_MAX_HEADER_BYTES}-byte limit`, { offset: 0 });
  if (n > BigInt(fileSize - 8)) throw fail(path, `header length ${n} runs past the end of the file (${fileSize} bytes; truncated?)`, { offset: 0 });
  return Number(n);
}

/** Parses and validates the header JSON (the N bytes after the prefix) against a file of fileSize bytes. */
export function parseSafetensorsHeader(path: string, json: Uint8Array, fileSize: number): SafetensorsHeader {
  const dataOffset = 8 + json.length;
  if (json[0] !== 0x7b) throw fail(path, 'header does not start with a JSON object', { offset: 8 });
  let items = 0;
  for (let i = 0; i < json.length; i++) {
    const c = json[i]!;
    if (c === 0x2c || c === 0x3a) items++; // ',' and ':' bound the number of values
  }
  if (items > SAFETENSORS_MAX_HEADER_ITEMS) throw fail(path, `header has over ${SAFETENSORS_MAX_HEADER_ITEMS} JSON items`, { offset: 8 });
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(json);
  } catch {
    throw fail(path, 'header is not valid UTF-8', { offset: 8 });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw fail(path, `header is not valid JSON (${(err as Error).message})`, { offset: 8 });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw fail(path, 'header is not a JSON object', { offset: 8 });

  const tensors: SafetensorsTensor[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(parsed as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = readMetadata(path, entry);
      continue;
    }
    tensors.push(readEntry(path, name, entry, dataOffset));
  }
  checkTiling(path, tensors, dataOffset, fileSize);
  return { path, fileSize, dataOffset, tensors, metadata };
}

function readMetadata(path: string, entry: unknown): Record<string, string> {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw fail(path, '"__metadata__" is not an object of strings');
  for (const [k, v] of Object.entries(entry)) {
    if (typeof v !== 'string') throw fail(path, `"__metadata__" value for '${k}' is not a string`);
  }
  return entry as Record<string, string>;
}

function readEntry(path: string, name: string, entry: unknown, dataOffset: number): SafetensorsTensor {
  const bad = (why: string) => fail(path, `tensor entry ${why}`, { tensor: name });
  if (name.length === 0) throw bad('has an empty name');
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw bad('is not an object');
  const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
  if (typeof dtype !== 'string') throw bad('has no dtype');
  const info = SAFETENSORS_DTYPES.get(dtype);
  if (!info) throw bad(`has an unknown dtype '${dtype.slice(0, 32)}'`);
  if (!Array.isArray(shape)) throw bad('has no shape list');
  if (shape.length > MAX_DIMS) throw bad(`has ${shape.length} dimensions (at most ${MAX_DIMS})`);
  let elements = 1n;
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) throw bad(`has a bad dimension ${JSON.stringify(d)?.slice(0, 32)}`);
    elements *= BigInt(d);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2) throw bad('has no [begin, end] data_offsets');
  const [begin, end] = offsets as unknown[];
  if (typeof begin !== 'number' || typeof end !== 'number' || !Number.isSafeInteger(begin) || !Number.isSafeInteger(end) || begin < 0 || end < begin) {
    throw bad(`has bad data_offsets ${JSON.stringify(offsets).slice(0, 64)}`);
  }
  const bits = elements * BigInt(info.bits);
  if (bits % 8n !== 0n) throw bad(`holds ${elements} ${dtype} elements, not a whole number of bytes`);
  const bytes = bits / 8n;
  if (bytes !== BigInt(end - begin)) throw bad(`shape [${shape.join(', ')}] of ${dtype} needs ${bytes} bytes, data_offsets give ${end - begin}`);
  return { name, dtype, shape: shape as number[], fileOffset: dataOffset + begin, byteSize: end - begin };
}

/** The data section must be tiled exactly: sorted by offset, each tensor starts where the last ended. */
function checkTiling(path: string, tensors: readonly SafetensorsTensor[], dataOffset: number, fileSize: number): void {
  const sorted = [...tensors].sort((a, b) => a.fileOffset - b.fileOffset || a.byteSize - b.byteSize);
  let at = dataOffset;
  for (const t of sorted) {
    if (t.fileOffset < at) throw fail(path, `tensor data overlaps the previous tensor's (offset ${t.fileOffset - dataOffset})`, { tensor: t.name });
    if (t.fileOffset > at) throw fail(path, `gap in the data section before this tensor (offset ${t.fileOffset - dataOffset}, expected ${at - dataOffset})`, { tensor: t.name });
    at += t.byteSize;
    if (at > fileSize) throw fail(path, `tensor data ends at byte ${at}, past the end of the file (${fileSize} bytes; truncated?)`, { tensor: t.name });
  }
  if (at < fileSize) throw fail(path, `${fileSize - at} bytes after the last tensor's data (the header does not describe the file)`);
}

async function openFile(path: string): Promise<{ fh: FileHandle; size: number }> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EACCES' ? 'permission denied' : e.message;
    throw new QuantfitError(`cannot open: ${why}`, { file: path }, { cause: err, code: 'safetensors.open', params: { file: path, why } });
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new QuantfitError('not a regular file', { file: path }, { code: 'safetensors.open', params: { file: path, why: 'not a regular file' } });
    return { fh, size: st.size };
  } catch (err) {
    await fh.close();
    throw err;
  }
}

async function readExactly(fh: FileHandle, path: string, into: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < into.length) {
    const { bytesRead } = await fh.read(into, done, into.length - done, position + done);
    if (bytesRead === 0) throw fail(path, `file ended at byte ${position + done} while reading (truncated or changed while open?)`, { offset: position + done });
    done += bytesRead;
  }
}

async function readHeaderFrom(fh: FileHandle, path: string, size: number): Promise<SafetensorsHeader> {
  const prefix = new Uint8Array(8);
  if (size >= 8) await readExactly(fh, path, prefix, 0);
  const n = headerLength(path, prefix, size);
  const json = new Uint8Array(n);
  await readExactly(fh, path, json, 8);
  return parseSafetensorsHeader(path, json, size);
}

/** Reads and validates a safetensors file's header (never its data). */
export async function readSafetensorsHeader(path: string): Promise<SafetensorsHeader> {
  const { fh, size } = await openFile(path);
  try {
    return await readHeaderFrom(fh, path, size);
  } finally {
    await fh.close();
  }
}

/** An open safetensors file: the validated header plus byte-range reads of one tensor's data. */
export class SafetensorsFile {
  private closed = false;
  private readonly byName: ReadonlyMap<string, SafetensorsTensor>;

  private constructor(private readonly fh: FileHandle, readonly header: SafetensorsHeader) {
    this.byName = new Map(header.tensors.map((t) => [t.name, t]));
  }

  static async open(path: string): Promise<SafetensorsFile> {
    const { fh, size } = await openFile(path);
    try {
      return new SafetensorsFile(fh, await readHeaderFrom(fh, path, size));
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  tensor(name: string): SafetensorsTensor | undefined {
    return this.byName.get(name);
  }

  /** Bytes [start, start + length) of a tensor's data, into `target` when given. */
  async read(tensor: SafetensorsTensor, start: number, length: number, target?: Uint8Array): Promise<Uint8Array> {
    const path = this.header.path;
    if (this.closed) throw fail(path, 'file is closed', { tensor: tensor.name });
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(length) || start < 0 || length < 0 || start + length > tensor.byteSize) {
      throw fail(path, `byte range ${start}+${length} is outside the tensor's ${tensor.byteSize} bytes`, { tensor: tensor.name });
    }
    if (target && target.length < length) throw fail(path, `target buffer holds ${target.length} bytes, ${length} needed`, { tensor: tensor.name });
    const out = target ? target.subarray(0, length) : new Uint8Array(length);
    await readExactly(this.fh, path, out, tensor.fileOffset + start);
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close();
  }
}

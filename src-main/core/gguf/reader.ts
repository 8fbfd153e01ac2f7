// Streaming, validating GGUF reader: parses the header through a small window over the file (never
// the whole file), checks every count against the bytes actually left before allocating anything,
// and reads tensor data on demand by range.
//
// It refuses everything llama.cpp's gguf_init_from_file_impl refuses, plus what Ollama's decoder
// refuses (its shorter string and array limits), plus a few things both tolerate that would make the
// header ambiguous or not round-trip (zero-sized dimensions, bool bytes other than 0/1, invalid UTF-8,
// NUL in tensor names). Arrays of arrays are legal GGUF and are read (up to GGUF_MAX_ARRAY_DEPTH).

import { open, type FileHandle } from 'node:fs/promises';
import { isUtf8 } from 'node:buffer';
import { QuantfitError, type ErrorLocation } from '../errors.ts';
import { GGML_TYPE_COUNT, ggmlTypeInfo, ggmlTypeName, removedGgmlType } from './ggml-types.ts';
import {
  GGML_MAX_DIMS, GGML_MAX_NAME_BYTES, GGUF_DEFAULT_ALIGNMENT, GGUF_MAX_ARRAY_DEPTH, GGUF_MAX_ARRAY_ITEMS, GGUF_MAX_HEADER_ITEMS,
  GGUF_MAX_STRING_BYTES, GGUF_SUPPORTED_VERSIONS, GGUF_VALUE_TYPES, GgufValueType, ggufValueTypeName,
  isGgufValueType,
  type GgufHeader, type GgufKv, type GgufTensorInfo, type GgufValue,
} from './types.ts';

/** Bytes fetched per refill of the header window; a longer single field gets a window of its own size. */
const WINDOW_BYTES = 1 << 20;
/** Fewest bytes one KV can take: key length + 1-byte key + value type + 1-byte value. */
const MIN_KV_BYTES = 8 + 1 + 4 + 1;
/** Fewest bytes one tensor info can take: name length + n_dims + type + offset (0 dims, empty name). */
const MIN_TENSOR_INFO_BYTES = 8 + 4 + 4 + 8;
const INT64_MAX = (1n << 63n) - 1n;
/** One read() call at most; larger ranges are read in a loop (the OS caps single reads near 2 GiB). */
const MAX_READ_BYTES = 1 << 30;
const SUPPORTED = `supported versions: ${GGUF_SUPPORTED_VERSIONS.join(' and ')}`;

/** Magics (as stored) of formats that are not GGUF but are often mistaken for it. */
const FOREIGN_MAGICS: Readonly<Record<string, string>> = {
  lmgg: 'this is a legacy GGML file (pre-GGUF), which llama.cpp no longer reads',
  fmgg: 'this is a legacy GGMF file (pre-GGUF), which llama.cpp no longer reads',
  tjgg: 'this is a legacy GGJT file (pre-GGUF), which llama.cpp no longer reads',
  algg: 'this is a legacy GGLA adapter (pre-GGUF), which llama.cpp no longer reads',
  FUGG: 'this looks like a big-endian GGUF file, which is not supported',
};

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Names as they appear in messages: control characters (NUL included) shown as escapes. */
function printable(name: string): string {
  return name.replace(/[\u0000-\u001f\u007f]/g, (ch) => `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** Reads exactly `length` bytes at `position` or throws (a short read means the file changed under us). */
async function readExactly(fh: FileHandle, file: string, target: Uint8Array, targetOffset: number, length: number, position: number): Promise<void> {
  let done = 0;
  while (done < length) {
    let bytesRead: number;
    try {
      ({ bytesRead } = await fh.read(target, targetOffset + done, Math.min(length - done, MAX_READ_BYTES), position + done));
    } catch (err) {
      throw new QuantfitError(`read failed: ${(err as Error).message}`, { file, offset: position + done }, { cause: err });
    }
    if (bytesRead === 0) {
      throw new QuantfitError(`file ended early while reading ${length} bytes (was it changed or truncated while being read?)`, { file, offset: position + done });
    }
    done += bytesRead;
  }
}

/** A forward-only window over the file; the caller checks lengths against `left()` before `ensure`. */
class Cursor {
  private buf: Buffer = Buffer.alloc(0);
  private bufStart = 0;
  /** Absolute offset of the next unread byte. */
  pos = 0;

  constructor(private readonly fh: FileHandle, readonly file: string, readonly fileSize: number) {}

  /** Bytes between the cursor and the end of the file. */
  left(): number {
    return this.fileSize - this.pos;
  }

  /** True when `n` bytes at the cursor are already in the window (the hot path needs no await). */
  ready(n: number): boolean {
    return this.bufStart + this.buf.length - this.pos >= n;
  }

  /** Throws a truncation error unless `n` more bytes exist; then makes them available in the window. */
  async need(n: number, what: string, loc: ErrorLocation = {}): Promise<void> {
    if (n > this.left()) {
      throw this.error(`file is truncated: expected ${what} (${n} bytes) but only ${this.left()} ${plural(this.left(), 'byte')} left`, loc);
    }
    if (this.bufStart + this.buf.length - this.pos < n) await this.refill(n);
  }

  private async refill(n: number): Promise<void> {
    const size = Math.min(Math.max(n, WINDOW_BYTES), this.left());
    const next = Buffer.allocUnsafe(size);
    await readExactly(this.fh, this.file, next, 0, size, this.pos);
    this.buf = next;
    this.bufStart = this.pos;
  }

  private at(n: number): number {
    const i = this.pos - this.bufStart;
    this.pos += n;
    return i;
  }

  u8(): number { return this.buf.readUInt8(this.at(1)); }
  i8(): number { return this.buf.readInt8(this.at(1)); }
  u16(): number { return this.buf.readUInt16LE(this.at(2)); }
  i16(): number { return this.buf.readInt16LE(this.at(2)); }
  u32(): number { return this.buf.readUInt32LE(this.at(4)); }
  i32(): number { return this.buf.readInt32LE(this.at(4)); }
  f32(): number { return this.buf.readFloatLE(this.at(4)); }
  u64(): bigint { return this.buf.readBigUInt64LE(this.at(8)); }
  i64(): bigint { return this.buf.readBigInt64LE(this.at(8)); }
  f64(): number { return this.buf.readDoubleLE(this.at(8)); }
  bytes(n: number): Buffer {
    const i = this.at(n);
    return this.buf.subarray(i, i + n);
  }
  utf8(n: number): string {
    const i = this.at(n);
    return this.buf.toString('utf8', i, i + n);
  }
  /** The `n` bytes just consumed (still in the window). */
  bytesBefore(n: number): Buffer {
    const i = this.pos - this.bufStart;
    return this.buf.subarray(i - n, i);
  }

  error(message: string, loc: ErrorLocation = {}, offset: number = this.pos): QuantfitError {
    return new QuantfitError(message, { file: this.file, offset, ...loc });
  }
}

/** Parses and validates the header; all positions in errors are absolute file offsets. */
class HeaderParser {
  /** What is left of GGUF_MAX_HEADER_ITEMS, spent before anything is allocated for the items. */
  private itemsLeft = GGUF_MAX_HEADER_ITEMS;

  constructor(private readonly c: Cursor) {}

  private spendItems(n: number, what: string, loc: ErrorLocation, offset: number): void {
    if (n > this.itemsLeft) {
      throw this.c.error(`${what} takes the header over ${GGUF_MAX_HEADER_ITEMS} values (key/values, tensors and array items together)`, loc, offset);
    }
    this.itemsLeft -= n;
  }

  /** A length-prefixed UTF-8 string, with the length checked before anything is allocated. */
  private async string(what: string, loc: ErrorLocation): Promise<string> {
    const c = this.c;
    const start = c.pos;
    await c.need(8, `the length of ${what}`, loc);
    const n = this.stringLength(what, loc, start);
    await c.need(n, what, loc);
    return this.stringBytes(n, what, loc, start);
  }

  /** The same as string() without awaiting, or undefined (nothing consumed) when the window is short. */
  private stringInWindow(what: string, loc: ErrorLocation): string | undefined {
    const c = this.c;
    if (!c.ready(8)) return undefined;
    const start = c.pos;
    const n = this.stringLength(what, loc, start);
    if (!c.ready(n)) {
      c.pos = start;
      return undefined;
    }
    return this.stringBytes(n, what, loc, start);
  }

  /** Reads and checks a string's length field (the 8 bytes are in the window). */
  private stringLength(what: string, loc: ErrorLocation, start: number): number {
    const c = this.c;
    // Two u32 halves: no bigint on the hot path of vocabularies.
    const n = c.u32();
    const high = c.u32();
    if (high !== 0 || n > GGUF_MAX_STRING_BYTES) {
      const len = (BigInt(high) << 32n) | BigInt(n);
      throw c.error(`${what} has length ${len}, over the maximum of ${GGUF_MAX_STRING_BYTES} bytes`, loc, start);
    }
    if (n > c.left()) {
      throw c.error(`${what} has length ${n} but only ${c.left()} bytes are left in the file`, loc, start);
    }
    return n;
  }

  private stringBytes(n: number, what: string, loc: ErrorLocation, start: number): string {
    const c = this.c;
    const text = c.utf8(n);
    // Decoding replaces invalid UTF-8 with U+FFFD, so only strings containing one need the strict
    // check. Invalid UTF-8 could not be written back unchanged: it is refused rather than replaced.
    if (text.includes('\uFFFD') && !isUtf8(c.bytesBefore(n))) throw c.error(`${what} is not valid UTF-8`, loc, start + 8);
    return text;
  }

  /** One value of a fixed-size scalar type; the caller has made `GGUF_VALUE_TYPES[type].size` bytes available. */
  private scalar(type: number, loc: ErrorLocation): GgufValue {
    const c = this.c;
    switch (type) {
      case GgufValueType.UINT8: return c.u8();
      case GgufValueType.INT8: return c.i8();
      case GgufValueType.UINT16: return c.u16();
      case GgufValueType.INT16: return c.i16();
      case GgufValueType.UINT32: return c.u32();
      case GgufValueType.INT32: return c.i32();
      case GgufValueType.FLOAT32: return c.f32();
      case GgufValueType.UINT64: return c.u64();
      case GgufValueType.INT64: return c.i64();
      case GgufValueType.FLOAT64: return c.f64();
      case GgufValueType.BOOL: {
        const b = c.u8();
        // Any other byte would read as true and be written back as 1: not a faithful round trip.
        if (b > 1) throw c.error(`invalid bool value ${b} (must be 0 or 1)`, loc, c.pos - 1);
        return b === 1;
      }
      default:
        throw c.error(`internal: ${ggufValueTypeName(type)} is not a fixed-size type`, loc);
    }
  }

  private async value(type: number, depth: number, loc: ErrorLocation): Promise<GgufValue> {
    const c = this.c;
    if (type === GgufValueType.STRING) return this.string('string value', loc);
    if (type !== GgufValueType.ARRAY) {
      const size = GGUF_VALUE_TYPES[type].size;
      await c.need(size, `a ${ggufValueTypeName(type)} value`, loc);
      return this.scalar(type, loc);
    }

    const start = c.pos;
    await c.need(12, 'an array header (element type and length)', loc);
    const elementType = c.u32();
    if (!isGgufValueType(elementType)) {
      throw c.error(`invalid array element type ${elementType} (valid types are 0 to ${GGUF_VALUE_TYPES.length - 1})`, loc, start);
    }
    if (elementType === GgufValueType.ARRAY && depth + 1 >= GGUF_MAX_ARRAY_DEPTH) {
      throw c.error(`arrays are nested more than ${GGUF_MAX_ARRAY_DEPTH} deep`, loc, start);
    }
    const count = c.u64();
    if (count > BigInt(GGUF_MAX_ARRAY_ITEMS)) {
      throw c.error(`array length ${count} is over the maximum of ${GGUF_MAX_ARRAY_ITEMS} items`, loc, start + 4);
    }
    const n = Number(count);
    const minBytes = n * GGUF_VALUE_TYPES[elementType].minSize;
    if (minBytes > c.left()) {
      throw c.error(`array of ${n} ${ggufValueTypeName(elementType)} items needs at least ${minBytes} bytes but only ${c.left()} are left in the file`, loc, start + 4);
    }

    this.spendItems(n, `array of ${n} items`, loc, start + 4);
    const items: GgufValue[] = new Array(n);
    const size = GGUF_VALUE_TYPES[elementType].size;
    if (size > 0) {
      // Fixed-size items: the whole array is known to fit, so only refill the window as needed.
      for (let i = 0; i < n; i++) {
        if (!c.ready(size)) await c.need(size, 'an array item', loc);
        items[i] = this.scalar(elementType, loc);
      }
    } else if (elementType === GgufValueType.STRING) {
      // Vocabularies hold hundreds of thousands of strings: parse them without an await each.
      for (let i = 0; i < n; i++) items[i] = this.stringInWindow('string value', loc) ?? await this.string('string value', loc);
    } else {
      for (let i = 0; i < n; i++) items[i] = await this.value(elementType, depth + 1, loc);
    }
    return { elementType, items };
  }

  async parse(): Promise<GgufHeader> {
    const c = this.c;
    const file = c.file;

    if (c.fileSize < 4) throw c.error(`not a GGUF file: it is only ${plural(c.fileSize, 'byte')} long`, {}, 0);
    await c.need(4, 'the magic');
    const magic = c.bytes(4);
    if (magic.toString('latin1') !== 'GGUF') {
      const shown = [...magic].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '?')).join('');
      const hint = FOREIGN_MAGICS[magic.toString('latin1')];
      throw c.error(`not a GGUF file: magic is '${shown}' (0x${magic.toString('hex')}), expected 'GGUF'${hint ? `; ${hint}` : ''}`, {}, 0);
    }

    await c.need(4, 'the version');
    const version = c.u32();
    if (!GGUF_SUPPORTED_VERSIONS.includes(version)) {
      let why: string;
      if (version === 1) why = 'GGUF version 1 is no longer supported';
      else if (version !== 0 && (version & 0xffff) === 0) why = `GGUF version ${version} looks byte-swapped: big-endian GGUF files are not supported`;
      else why = `unsupported GGUF version ${version}`;
      throw c.error(`${why} (${SUPPORTED})`, {}, 4);
    }

    await c.need(16, 'the tensor and metadata counts');
    const nTensors = c.i64();
    const nKv = c.i64();
    if (nTensors < 0n) throw c.error(`tensor count ${nTensors} is negative`, {}, 8);
    if (nKv < 0n) throw c.error(`metadata key/value count ${nKv} is negative`, {}, 16);
    const left = BigInt(c.left());
    if (nKv * BigInt(MIN_KV_BYTES) > left) {
      throw c.error(`metadata key/value count ${nKv} cannot fit in the file (${c.fileSize} bytes)`, {}, 16);
    }
    if (nTensors * BigInt(MIN_TENSOR_INFO_BYTES) > left) {
      throw c.error(`tensor count ${nTensors} cannot fit in the file (${c.fileSize} bytes)`, {}, 8);
    }
    if (nKv * BigInt(MIN_KV_BYTES) + nTensors * BigInt(MIN_TENSOR_INFO_BYTES) > left) {
      throw c.error(`${nKv} key/values and ${nTensors} tensors cannot fit in the file (${c.fileSize} bytes)`, {}, 8);
    }

    // Both counts fit in the file (checked above), so they are safe integers.
    this.spendItems(Number(nKv) + Number(nTensors), `${nKv} key/values and ${nTensors} tensors`, {}, 8);

    const kv: GgufKv[] = [];
    const keyIndex = new Map<string, number>();
    for (let i = 0; i < Number(nKv); i++) {
      const at = c.pos;
      const key = await this.string(`key #${i}`, {});
      if (key.length === 0) throw c.error(`key #${i} is empty`, {}, at);
      const loc = { key: printable(key) };
      const first = keyIndex.get(key);
      if (first !== undefined) throw c.error(`duplicate key '${printable(key)}' (keys #${first} and #${i})`, loc, at);
      keyIndex.set(key, i);
      const typeAt = c.pos;
      await c.need(4, 'a value type', loc);
      const type = c.u32();
      if (!isGgufValueType(type)) {
        throw c.error(`invalid value type ${type} (valid types are 0 to ${GGUF_VALUE_TYPES.length - 1})`, loc, typeAt);
      }
      const value = await this.value(type, 0, loc);
      kv.push({ key, type, value });
    }

    const alignment = this.alignment(kv, keyIndex);

    const infos: RawTensorInfo[] = [];
    const names = new Map<string, number>();
    for (let i = 0; i < Number(nTensors); i++) infos.push(await this.tensorInfo(i, names));

    const headerEnd = c.pos;
    // llama.cpp pads to the alignment only when there are tensors; with none, data starts right here.
    const dataOffset = infos.length > 0 ? alignUp(headerEnd, alignment) : headerEnd;
    if (dataOffset > c.fileSize) {
      throw c.error(`file is truncated: the data section starts at ${dataOffset} (after alignment padding) but the file is ${c.fileSize} bytes`, {}, headerEnd);
    }

    const tensors: GgufTensorInfo[] = [];
    let expected = 0n;
    let previous: RawTensorInfo | undefined;
    for (const t of infos) {
      const loc = { tensor: printable(t.name) };
      const a = BigInt(alignment);
      if (t.offset % a !== 0n) {
        throw c.error(`tensor offset ${t.offset} is not a multiple of the alignment ${alignment}`, loc, t.offsetAt);
      }
      if (t.offset !== expected) {
        const order = 'tensor data must follow tensor-info order, each tensor padded to the alignment';
        if (!previous) throw c.error(`first tensor starts at data offset ${t.offset}, expected 0 (${order})`, loc, t.offsetAt);
        const how = t.offset < expected ? 'overlaps' : 'leaves a gap after';
        throw c.error(`tensor offset ${t.offset} ${how} the previous tensor '${printable(previous.name)}' (expected offset ${expected}; ${order})`, loc, t.offsetAt);
      }
      const end = BigInt(dataOffset) + t.offset + t.byteSize;
      if (end > BigInt(c.fileSize)) {
        throw c.error(`tensor data (data offset ${t.offset}, ${t.byteSize} bytes) runs past the end of the file: it ends at ${end} but the file is ${c.fileSize} bytes`, loc, t.offsetAt);
      }
      // Everything below fits in the file, so it is a safe integer.
      tensors.push({ name: t.name, type: t.type, shape: t.shape.map(Number), offset: Number(t.offset), byteSize: Number(t.byteSize) });
      expected = t.offset + ((t.byteSize + a - 1n) / a) * a;
      previous = t;
    }

    return { path: file, fileSize: c.fileSize, version, alignment, kv, tensors, dataOffset };
  }

  private alignment(kv: readonly GgufKv[], keyIndex: ReadonlyMap<string, number>): number {
    const i = keyIndex.get('general.alignment');
    if (i === undefined) return GGUF_DEFAULT_ALIGNMENT;
    const { type, value } = kv[i];
    const loc = { file: this.c.file, key: 'general.alignment' };
    if (type !== GgufValueType.UINT32 || typeof value !== 'number') {
      throw new QuantfitError(`general.alignment must be of type u32 but is ${ggufValueTypeName(type)}`, loc);
    }
    if (value === 0 || (value & (value - 1)) !== 0) {
      throw new QuantfitError(`general.alignment ${value} is not a power of two`, loc);
    }
    return value;
  }

  private async tensorInfo(i: number, names: Map<string, number>): Promise<RawTensorInfo> {
    const c = this.c;
    const at = c.pos;
    const name = await this.string(`the name of tensor #${i}`, {});
    const loc = { tensor: printable(name) };
    const nameBytes = Buffer.byteLength(name, 'utf8');
    if (nameBytes > GGML_MAX_NAME_BYTES) {
      throw c.error(`tensor name is ${nameBytes} bytes long; ggml allows at most ${GGML_MAX_NAME_BYTES}`, loc, at);
    }
    if (name.includes('\0')) throw c.error('tensor name contains a NUL byte', loc, at);
    const first = names.get(name);
    if (first !== undefined) throw c.error(`duplicate tensor name '${printable(name)}' (tensors #${first} and #${i})`, loc, at);
    names.set(name, i);

    const dimsAt = c.pos;
    await c.need(4, 'the number of dimensions', loc);
    const nDims = c.u32();
    if (nDims > GGML_MAX_DIMS) throw c.error(`tensor has ${nDims} dimensions; at most ${GGML_MAX_DIMS} are supported`, loc, dimsAt);
    await c.need(8 * nDims, 'the tensor shape', loc);
    const shape: bigint[] = [];
    for (let d = 0; d < nDims; d++) {
      const ne = c.i64();
      if (ne <= 0n) throw c.error(`dimension ${d} is ${ne}; every dimension must be at least 1`, loc, dimsAt + 4 + 8 * d);
      shape.push(ne);
    }
    let elements = 1n;
    for (const ne of shape) {
      elements *= ne;
      if (elements > INT64_MAX) {
        throw c.error(`tensor shape [${shape.join(', ')}] has more than 2^63-1 elements`, loc, dimsAt);
      }
    }

    const typeAt = c.pos;
    await c.need(4, 'the tensor type', loc);
    const type = c.i32();
    const info = ggmlTypeInfo(type);
    if (!info) {
      const removed = removedGgmlType(type);
      if (removed) throw c.error(`tensor type ${type} is no longer supported: ${removed.removed}`, loc, typeAt);
      throw c.error(`unknown tensor type ${type} (known ggml types are below ${GGML_TYPE_COUNT})`, loc, typeAt);
    }
    const rowLength = shape.length > 0 ? shape[0] : 1n;
    if (rowLength % BigInt(info.blockSize) !== 0n) {
      throw c.error(`row length ${rowLength} is not a multiple of the ${ggmlTypeName(type)} block size ${info.blockSize}`, loc, dimsAt);
    }
    const byteSize = (elements / BigInt(info.blockSize)) * BigInt(info.typeSize);
    if (byteSize > INT64_MAX) {
      throw c.error(`tensor size in bytes (${byteSize}) overflows 2^63`, loc, dimsAt);
    }

    const offsetAt = c.pos;
    await c.need(8, 'the tensor data offset', loc);
    const offset = c.u64();
    return { name, type, shape, offset, offsetAt, byteSize };
  }
}

interface RawTensorInfo {
  readonly name: string;
  readonly type: number;
  readonly shape: readonly bigint[];
  readonly offset: bigint;
  /** Absolute position of the offset field, for error messages. */
  readonly offsetAt: number;
  readonly byteSize: bigint;
}

function alignUp(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}

async function openForReading(path: string): Promise<{ fh: FileHandle; size: number }> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EACCES' ? 'permission denied' : e.message;
    throw new QuantfitError(`cannot open: ${why}`, { file: path }, { cause: err });
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new QuantfitError('not a regular file', { file: path });
    return { fh, size: st.size };
  } catch (err) {
    await fh.close();
    if (err instanceof QuantfitError) throw err;
    throw new QuantfitError(`cannot read: ${(err as Error).message}`, { file: path }, { cause: err });
  }
}

async function parseHeader(fh: FileHandle, path: string, size: number): Promise<GgufHeader> {
  return new HeaderParser(new Cursor(fh, path, size)).parse();
}

/** Reads and validates the header of a GGUF file (never its tensor data). */
export async function readGgufHeader(path: string): Promise<GgufHeader> {
  const { fh, size } = await openForReading(path);
  try {
    return await parseHeader(fh, path, size);
  } finally {
    await fh.close();
  }
}

/** An open GGUF file: the validated header plus ranged reads of tensor data. */
export class GgufReader {
  private closed = false;

  private constructor(private readonly fh: FileHandle, readonly header: GgufHeader) {}

  static async open(path: string): Promise<GgufReader> {
    const { fh, size } = await openForReading(path);
    try {
      return new GgufReader(fh, await parseHeader(fh, path, size));
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  /**
   * Bytes [byteStart, byteStart + byteLength) of one tensor's data. Pass `target` (at least byteLength
   * long) to read into a buffer you reuse; otherwise a new one is allocated.
   */
  async read(tensor: GgufTensorInfo, byteStart: number, byteLength: number, target?: Uint8Array): Promise<Uint8Array> {
    const file = this.header.path;
    if (this.closed) throw new QuantfitError('reader is closed', { file, tensor: tensor.name });
    if (!Number.isSafeInteger(byteStart) || !Number.isSafeInteger(byteLength) || byteStart < 0 || byteLength < 0 || byteStart + byteLength > tensor.byteSize) {
      throw new QuantfitError(`byte range ${byteStart}+${byteLength} is outside the tensor's ${tensor.byteSize} bytes`, { file, tensor: tensor.name });
    }
    const position = this.header.dataOffset + tensor.offset + byteStart;
    if (position + byteLength > this.header.fileSize) {
      throw new QuantfitError(`byte range ends at ${position + byteLength}, past the end of the file (${this.header.fileSize} bytes)`, { file, tensor: tensor.name, offset: position });
    }
    if (target && target.length < byteLength) {
      throw new QuantfitError(`target buffer holds ${target.length} bytes, ${byteLength} needed`, { file, tensor: tensor.name });
    }
    const out = target ? target.subarray(0, byteLength) : new Uint8Array(byteLength);
    await readExactly(this.fh, file, out, 0, byteLength, position);
    return out;
  }

  /** The whole data of one tensor. */
  readTensor(tensor: GgufTensorInfo): Promise<Uint8Array> {
    return this.read(tensor, 0, tensor.byteSize);
  }

  tensor(name: string): GgufTensorInfo | undefined {
    return this.header.tensors.find((t) => t.name === name);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close();
  }
}

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
import { QuantfitError, quantfitError, reasonOf, type ErrorLocation } from '../errors.ts';
import type { Message, MessageParams } from '../../../src-shared/message.ts';
import { msg, type MessageCode } from '../../../src-shared/messages/index.ts';
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
const SUPPORTED = { first: GGUF_SUPPORTED_VERSIONS[0]!, second: GGUF_SUPPORTED_VERSIONS[1]! };

/** Magics (as stored) of formats that are not GGUF but are often mistaken for it. */
const FOREIGN_MAGICS: Readonly<Record<string, MessageCode>> = {
  lmgg: 'gguf.hint.ggml',
  fmgg: 'gguf.hint.ggmf',
  tjgg: 'gguf.hint.ggjt',
  algg: 'gguf.hint.ggla',
  FUGG: 'gguf.hint.bigEndian',
};

// The header fields named in truncation errors, built once (the hot paths pass them per value).
const WHAT_STRING_VALUE = msg('gguf.what.stringValue');
const WHAT_ARRAY_ITEM = msg('gguf.what.arrayItem');

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
      throw quantfitError('gguf.readFailed', { error: reasonOf(err) }, { file, offset: position + done }, err);
    }
    if (bytesRead === 0) {
      throw quantfitError('gguf.endedEarly', { length }, { file, offset: position + done });
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
  async need(n: number, what: Message, loc: ErrorLocation = {}): Promise<void> {
    if (n > this.left()) {
      throw this.error(this.left() === 1 ? 'gguf.truncatedOneLeft' : 'gguf.truncated', { what, need: n, left: this.left() }, loc);
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

  error(code: MessageCode, params: MessageParams, loc: ErrorLocation = {}, offset: number = this.pos): QuantfitError {
    return quantfitError(code, params, { file: this.file, offset, ...loc });
  }
}

/** Parses and validates the header; all positions in errors are absolute file offsets. */
class HeaderParser {
  /** What is left of GGUF_MAX_HEADER_ITEMS, spent before anything is allocated for the items. */
  private itemsLeft = GGUF_MAX_HEADER_ITEMS;

  constructor(private readonly c: Cursor) {}

  private spendItems(n: number, what: Message, loc: ErrorLocation, offset: number): void {
    if (n > this.itemsLeft) {
      throw this.c.error('gguf.tooManyItems', { what, max: GGUF_MAX_HEADER_ITEMS }, loc, offset);
    }
    this.itemsLeft -= n;
  }

  /** A length-prefixed UTF-8 string, with the length checked before anything is allocated. */
  private async string(what: Message, loc: ErrorLocation): Promise<string> {
    const c = this.c;
    const start = c.pos;
    if (!c.ready(8)) await c.need(8, msg('gguf.what.lengthOf', { what }), loc);
    const n = this.stringLength(what, loc, start);
    await c.need(n, what, loc);
    return this.stringBytes(n, what, loc, start);
  }

  /** The same as string() without awaiting, or undefined (nothing consumed) when the window is short. */
  private stringInWindow(what: Message, loc: ErrorLocation): string | undefined {
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
  private stringLength(what: Message, loc: ErrorLocation, start: number): number {
    const c = this.c;
    // Two u32 halves: no bigint on the hot path of vocabularies.
    const n = c.u32();
    const high = c.u32();
    if (high !== 0 || n > GGUF_MAX_STRING_BYTES) {
      const len = (BigInt(high) << 32n) | BigInt(n);
      throw c.error('gguf.stringTooLong', { what, length: String(len), max: GGUF_MAX_STRING_BYTES }, loc, start);
    }
    if (n > c.left()) {
      throw c.error('gguf.stringPastEnd', { what, length: n, left: c.left() }, loc, start);
    }
    return n;
  }

  private stringBytes(n: number, what: Message, loc: ErrorLocation, start: number): string {
    const c = this.c;
    const text = c.utf8(n);
    // Decoding replaces invalid UTF-8 with U+FFFD, so only strings containing one need the strict
    // check. Invalid UTF-8 could not be written back unchanged: it is refused rather than replaced.
    if (text.includes('\uFFFD') && !isUtf8(c.bytesBefore(n))) throw c.error('gguf.notUtf8', { what }, loc, start + 8);
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
        if (b > 1) throw c.error('gguf.badBool', { value: b }, loc, c.pos - 1);
        return b === 1;
      }
      default:
        throw new Error(`internal: ${ggufValueTypeName(type)} is not a fixed-size type`);
    }
  }

  private async value(type: number, depth: number, loc: ErrorLocation): Promise<GgufValue> {
    const c = this.c;
    if (type === GgufValueType.STRING) return this.string(WHAT_STRING_VALUE, loc);
    if (type !== GgufValueType.ARRAY) {
      const size = GGUF_VALUE_TYPES[type].size;
      if (!c.ready(size)) await c.need(size, msg('gguf.what.value', { type: ggufValueTypeName(type) }), loc);
      return this.scalar(type, loc);
    }

    const start = c.pos;
    await c.need(12, msg('gguf.what.arrayHeader'), loc);
    const elementType = c.u32();
    if (!isGgufValueType(elementType)) {
      throw c.error('gguf.badArrayType', { type: elementType, max: GGUF_VALUE_TYPES.length - 1 }, loc, start);
    }
    if (elementType === GgufValueType.ARRAY && depth + 1 >= GGUF_MAX_ARRAY_DEPTH) {
      throw c.error('gguf.nestedTooDeep', { max: GGUF_MAX_ARRAY_DEPTH }, loc, start);
    }
    const count = c.u64();
    if (count > BigInt(GGUF_MAX_ARRAY_ITEMS)) {
      throw c.error('gguf.arrayTooLong', { count: String(count), max: GGUF_MAX_ARRAY_ITEMS }, loc, start + 4);
    }
    const n = Number(count);
    const minBytes = n * GGUF_VALUE_TYPES[elementType].minSize;
    if (minBytes > c.left()) {
      throw c.error('gguf.arrayPastEnd', { count: n, type: ggufValueTypeName(elementType), need: minBytes, left: c.left() }, loc, start + 4);
    }

    this.spendItems(n, msg('gguf.what.arrayOf', { count: n }), loc, start + 4);
    const items: GgufValue[] = new Array(n);
    const size = GGUF_VALUE_TYPES[elementType].size;
    if (size > 0) {
      // Fixed-size items: the whole array is known to fit, so only refill the window as needed.
      for (let i = 0; i < n; i++) {
        if (!c.ready(size)) await c.need(size, WHAT_ARRAY_ITEM, loc);
        items[i] = this.scalar(elementType, loc);
      }
    } else if (elementType === GgufValueType.STRING) {
      // Vocabularies hold hundreds of thousands of strings: parse them without an await each.
      for (let i = 0; i < n; i++) items[i] = this.stringInWindow(WHAT_STRING_VALUE, loc) ?? await this.string(WHAT_STRING_VALUE, loc);
    } else {
      for (let i = 0; i < n; i++) items[i] = await this.value(elementType, depth + 1, loc);
    }
    return { elementType, items };
  }

  async parse(): Promise<GgufHeader> {
    const c = this.c;
    const file = c.file;

    if (c.fileSize < 4) throw c.error(c.fileSize === 1 ? 'gguf.tooShortOne' : 'gguf.tooShort', { size: c.fileSize }, {}, 0);
    await c.need(4, msg('gguf.what.magic'));
    const magic = c.bytes(4);
    if (magic.toString('latin1') !== 'GGUF') {
      const shown = [...magic].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '?')).join('');
      const hint = FOREIGN_MAGICS[magic.toString('latin1')];
      const found = { shown, hex: magic.toString('hex') };
      throw hint ? c.error('gguf.badMagicHint', { ...found, hint: msg(hint) }, {}, 0) : c.error('gguf.badMagic', found, {}, 0);
    }

    await c.need(4, msg('gguf.what.version'));
    const version = c.u32();
    if (!GGUF_SUPPORTED_VERSIONS.includes(version)) {
      const code: MessageCode = version === 1 ? 'gguf.version1'
        : version !== 0 && (version & 0xffff) === 0 ? 'gguf.versionSwapped' : 'gguf.versionUnsupported';
      throw c.error(code, { version, ...SUPPORTED }, {}, 4);
    }

    await c.need(16, msg('gguf.what.counts'));
    const nTensors = c.i64();
    const nKv = c.i64();
    if (nTensors < 0n) throw c.error('gguf.negativeTensorCount', { count: String(nTensors) }, {}, 8);
    if (nKv < 0n) throw c.error('gguf.negativeKvCount', { count: String(nKv) }, {}, 16);
    const left = BigInt(c.left());
    if (nKv * BigInt(MIN_KV_BYTES) > left) {
      throw c.error('gguf.kvCountTooBig', { count: String(nKv), size: c.fileSize }, {}, 16);
    }
    if (nTensors * BigInt(MIN_TENSOR_INFO_BYTES) > left) {
      throw c.error('gguf.tensorCountTooBig', { count: String(nTensors), size: c.fileSize }, {}, 8);
    }
    if (nKv * BigInt(MIN_KV_BYTES) + nTensors * BigInt(MIN_TENSOR_INFO_BYTES) > left) {
      throw c.error('gguf.countsTooBig', { kv: String(nKv), tensors: String(nTensors), size: c.fileSize }, {}, 8);
    }

    // Both counts fit in the file (checked above), so they are safe integers.
    this.spendItems(Number(nKv) + Number(nTensors), msg('gguf.what.kvAndTensors', { kv: String(nKv), tensors: String(nTensors) }), {}, 8);

    const kv: GgufKv[] = [];
    const keyIndex = new Map<string, number>();
    for (let i = 0; i < Number(nKv); i++) {
      const at = c.pos;
      const key = await this.string(msg('gguf.what.key', { index: i }), {});
      if (key.length === 0) throw c.error('gguf.emptyKey', { index: i }, {}, at);
      const loc = { key: printable(key) };
      const first = keyIndex.get(key);
      if (first !== undefined) throw c.error('gguf.duplicateKey', { key: printable(key), first, second: i }, loc, at);
      keyIndex.set(key, i);
      const typeAt = c.pos;
      await c.need(4, msg('gguf.what.valueType'), loc);
      const type = c.u32();
      if (!isGgufValueType(type)) {
        throw c.error('gguf.badValueType', { type, max: GGUF_VALUE_TYPES.length - 1 }, loc, typeAt);
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
      throw c.error('gguf.dataPastEnd', { start: dataOffset, size: c.fileSize }, {}, headerEnd);
    }

    const tensors: GgufTensorInfo[] = [];
    let expected = 0n;
    let previous: RawTensorInfo | undefined;
    for (const t of infos) {
      const loc = { tensor: printable(t.name) };
      const a = BigInt(alignment);
      if (t.offset % a !== 0n) {
        throw c.error('gguf.offsetUnaligned', { offset: String(t.offset), alignment }, loc, t.offsetAt);
      }
      if (t.offset !== expected) {
        if (!previous) throw c.error('gguf.firstOffset', { offset: String(t.offset) }, loc, t.offsetAt);
        const params = { offset: String(t.offset), previous: printable(previous.name), expected: String(expected) };
        throw c.error(t.offset < expected ? 'gguf.offsetOverlaps' : 'gguf.offsetGap', params, loc, t.offsetAt);
      }
      const end = BigInt(dataOffset) + t.offset + t.byteSize;
      if (end > BigInt(c.fileSize)) {
        throw c.error('gguf.tensorPastEnd', { offset: String(t.offset), bytes: String(t.byteSize), end: String(end), size: c.fileSize }, loc, t.offsetAt);
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
      throw quantfitError('gguf.alignmentType', { type: ggufValueTypeName(type) }, loc);
    }
    if (value === 0 || (value & (value - 1)) !== 0) {
      throw quantfitError('gguf.alignmentNotPow2', { value }, loc);
    }
    return value;
  }

  private async tensorInfo(i: number, names: Map<string, number>): Promise<RawTensorInfo> {
    const c = this.c;
    const at = c.pos;
    const name = await this.string(msg('gguf.what.tensorName', { index: i }), {});
    const loc = { tensor: printable(name) };
    const nameBytes = Buffer.byteLength(name, 'utf8');
    if (nameBytes > GGML_MAX_NAME_BYTES) {
      throw c.error('gguf.nameTooLong', { bytes: nameBytes, max: GGML_MAX_NAME_BYTES }, loc, at);
    }
    if (name.includes('\0')) throw c.error('gguf.nameHasNul', {}, loc, at);
    const first = names.get(name);
    if (first !== undefined) throw c.error('gguf.duplicateTensor', { name: printable(name), first, second: i }, loc, at);
    names.set(name, i);

    const dimsAt = c.pos;
    await c.need(4, msg('gguf.what.dims'), loc);
    const nDims = c.u32();
    if (nDims > GGML_MAX_DIMS) throw c.error('gguf.tooManyDims', { dims: nDims, max: GGML_MAX_DIMS }, loc, dimsAt);
    await c.need(8 * nDims, msg('gguf.what.shape'), loc);
    const shape: bigint[] = [];
    for (let d = 0; d < nDims; d++) {
      const ne = c.i64();
      if (ne <= 0n) throw c.error('gguf.badDim', { index: d, value: String(ne) }, loc, dimsAt + 4 + 8 * d);
      shape.push(ne);
    }
    let elements = 1n;
    for (const ne of shape) {
      elements *= ne;
      if (elements > INT64_MAX) {
        throw c.error('gguf.tooManyElements', { shape: shape.join(', ') }, loc, dimsAt);
      }
    }

    const typeAt = c.pos;
    await c.need(4, msg('gguf.what.tensorType'), loc);
    const type = c.i32();
    const info = ggmlTypeInfo(type);
    if (!info) {
      const removed = removedGgmlType(type);
      if (removed) throw c.error('gguf.removedType', { type, why: removed.removed }, loc, typeAt);
      throw c.error('gguf.unknownType', { type, count: GGML_TYPE_COUNT }, loc, typeAt);
    }
    const rowLength = shape.length > 0 ? shape[0] : 1n;
    if (rowLength % BigInt(info.blockSize) !== 0n) {
      throw c.error('gguf.rowNotBlocks', { row: String(rowLength), type: ggmlTypeName(type), block: info.blockSize }, loc, dimsAt);
    }
    const byteSize = (elements / BigInt(info.blockSize)) * BigInt(info.typeSize);
    if (byteSize > INT64_MAX) {
      throw c.error('gguf.sizeOverflow', { bytes: String(byteSize) }, loc, dimsAt);
    }

    const offsetAt = c.pos;
    await c.need(8, msg('gguf.what.dataOffset'), loc);
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
    throw quantfitError('gguf.cannotOpen', { error: reasonOf(err) }, { file: path }, err);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw quantfitError('gguf.notRegularFile', {}, { file: path });
    return { fh, size: st.size };
  } catch (err) {
    await fh.close();
    if (err instanceof QuantfitError) throw err;
    throw quantfitError('gguf.cannotRead', { error: reasonOf(err) }, { file: path }, err);
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
    if (this.closed) throw quantfitError('gguf.readerClosed', {}, { file, tensor: tensor.name });
    if (!Number.isSafeInteger(byteStart) || !Number.isSafeInteger(byteLength) || byteStart < 0 || byteLength < 0 || byteStart + byteLength > tensor.byteSize) {
      throw quantfitError('gguf.rangeOutsideTensor', { start: byteStart, length: byteLength, size: tensor.byteSize }, { file, tensor: tensor.name });
    }
    const position = this.header.dataOffset + tensor.offset + byteStart;
    if (position + byteLength > this.header.fileSize) {
      throw quantfitError('gguf.rangePastEnd', { end: position + byteLength, size: this.header.fileSize }, { file, tensor: tensor.name, offset: position });
    }
    if (target && target.length < byteLength) {
      throw quantfitError('gguf.targetTooSmall', { have: target.length, need: byteLength }, { file, tensor: tensor.name });
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

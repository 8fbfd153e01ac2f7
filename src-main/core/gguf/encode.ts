// GGUF v3 header encoding: validation of what is about to be written, exact sizes (ggufLayout, no
// I/O) and the header bytes themselves. The byte layout is the one gguf_write_out produces: magic,
// version, counts, KVs, tensor infos, zero padding to the alignment; then each tensor's data followed
// by zero padding to the alignment (after the last tensor too).

import { quantfitError, type ErrorLocation, type QuantfitError } from '../errors.ts';
import type { Message } from '../../../src-shared/message.ts';
import { msg } from '../../../src-shared/messages/index.ts';
import { ggmlTypeInfo, ggmlTypeName, removedGgmlType } from './ggml-types.ts';
import {
  GGML_MAX_DIMS, GGML_MAX_NAME_BYTES, GGUF_DEFAULT_ALIGNMENT, GGUF_MAX_ARRAY_DEPTH, GGUF_MAX_ARRAY_ITEMS,
  GGUF_MAX_STRING_BYTES, GGUF_VALUE_TYPES, GGUF_WRITE_VERSION, GgufValueType, ggufValueTypeName, isGgufArray,
  isGgufValueType,
  type GgufKv, type GgufValue,
} from './types.ts';

/** What the writer needs to know about one tensor (its data is streamed separately). */
export interface GgufWriteTensor {
  readonly name: string;
  readonly type: number;
  /** ne[0] first; written as n_dims = shape.length entries. */
  readonly shape: readonly number[];
}

export interface GgufLayout {
  /** Bytes before the data section, alignment padding included (= the data section's file offset). */
  readonly headerBytes: number;
  /** Each tensor's offset relative to the data section. */
  readonly offsets: number[];
  /** Exact file size, padding after the last tensor included. */
  readonly totalBytes: number;
}

const INT_RANGES: Partial<Record<number, readonly [number, number]>> = {
  [GgufValueType.UINT8]: [0, 0xff],
  [GgufValueType.INT8]: [-0x80, 0x7f],
  [GgufValueType.UINT16]: [0, 0xffff],
  [GgufValueType.INT16]: [-0x8000, 0x7fff],
  [GgufValueType.UINT32]: [0, 0xffffffff],
  [GgufValueType.INT32]: [-0x80000000, 0x7fffffff],
};
const BIG_RANGES: Partial<Record<number, readonly [bigint, bigint]>> = {
  [GgufValueType.UINT64]: [0n, (1n << 64n) - 1n],
  [GgufValueType.INT64]: [-(1n << 63n), (1n << 63n) - 1n],
};

const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;

/** ggml_nbytes of a tensor with this type and shape; throws when the type or shape is invalid. */
export function ggufTensorByteSize(type: number, shape: readonly number[], loc: ErrorLocation = {}): number {
  const info = ggmlTypeInfo(type);
  if (!info) {
    const removed = removedGgmlType(type);
    throw removed ? quantfitError('gguf.removedType', { type, why: removed.removed }, loc) : quantfitError('gguf.unknownTypePlain', { type }, loc);
  }
  if (shape.length > GGML_MAX_DIMS) throw quantfitError('gguf.tooManyDims', { dims: shape.length, max: GGML_MAX_DIMS }, loc);
  let elements = 1;
  for (const [d, ne] of shape.entries()) {
    if (!Number.isSafeInteger(ne) || ne < 1) throw quantfitError('gguf.badDimWhole', { index: d, value: String(ne) }, loc);
    elements *= ne;
    if (!Number.isSafeInteger(elements)) throw quantfitError('gguf.shapeTooLarge', { shape: shape.join(', ') }, loc);
  }
  const row = shape.length > 0 ? shape[0] : 1;
  if (row % info.blockSize !== 0) {
    throw quantfitError('gguf.rowNotBlocks', { row, type: ggmlTypeName(type), block: info.blockSize }, loc);
  }
  const bytes = (elements / info.blockSize) * info.typeSize;
  if (!Number.isSafeInteger(bytes)) throw quantfitError('gguf.shapeTooLarge', { shape: shape.join(', ') }, loc);
  return bytes;
}

function hasLoneSurrogate(s: string): boolean {
  return !(s as string & { isWellFormed(): boolean }).isWellFormed();
}

const WHAT_STRING_VALUE = msg('gguf.what.stringValue');

function checkString(s: unknown, what: Message, loc: ErrorLocation): number {
  if (typeof s !== 'string') throw quantfitError('gguf.notString', { what }, loc);
  if (hasLoneSurrogate(s)) throw quantfitError('gguf.loneSurrogate', { what }, loc);
  const n = Buffer.byteLength(s, 'utf8');
  if (n > GGUF_MAX_STRING_BYTES) throw quantfitError('gguf.stringBytesTooMany', { what, bytes: n, max: GGUF_MAX_STRING_BYTES }, loc);
  return 8 + n;
}

function wrongType(type: number, value: unknown, loc: ErrorLocation): QuantfitError {
  return quantfitError('gguf.valueWrongType', { value: describeValue(value), type: ggufValueTypeName(type) }, loc);
}

/** Checks one value against its declared type and returns its encoded size. */
function valueSize(type: number, value: GgufValue, depth: number, loc: ErrorLocation): number {
  const ints = INT_RANGES[type];
  if (ints) {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < ints[0] || value > ints[1]) throw wrongType(type, value, loc);
    return GGUF_VALUE_TYPES[type].size;
  }
  const bigs = BIG_RANGES[type];
  if (bigs) {
    const v = typeof value === 'number' && Number.isSafeInteger(value) ? BigInt(value) : value;
    if (typeof v !== 'bigint' || v < bigs[0] || v > bigs[1]) throw wrongType(type, value, loc);
    return 8;
  }
  switch (type) {
    case GgufValueType.FLOAT32:
    case GgufValueType.FLOAT64:
      if (typeof value !== 'number') throw wrongType(type, value, loc);
      return GGUF_VALUE_TYPES[type].size;
    case GgufValueType.BOOL:
      if (typeof value !== 'boolean') throw wrongType(type, value, loc);
      return 1;
    case GgufValueType.STRING:
      return checkString(value, WHAT_STRING_VALUE, loc);
    case GgufValueType.ARRAY: {
      if (!isGgufArray(value)) throw wrongType(type, value, loc);
      const { elementType, items } = value;
      if (!isGgufValueType(elementType)) throw quantfitError('gguf.badArrayTypePlain', { type: String(elementType) }, loc);
      if (depth + 1 >= GGUF_MAX_ARRAY_DEPTH && elementType === GgufValueType.ARRAY) {
        throw quantfitError('gguf.nestedTooDeep', { max: GGUF_MAX_ARRAY_DEPTH }, loc);
      }
      if (!Array.isArray(items)) throw wrongType(type, value, loc);
      if (items.length > GGUF_MAX_ARRAY_ITEMS) throw quantfitError('gguf.arrayTooManyItems', { count: items.length, max: GGUF_MAX_ARRAY_ITEMS }, loc);
      return 12 + itemsSize(elementType, items, depth + 1, loc);
    }
    default:
      throw quantfitError('gguf.badValueTypePlain', { type }, loc);
  }
}

/**
 * The items of one array, checked and measured: the same checks as valueSize per item, with tight
 * loops for the element types of vocabularies (strings, f32 scores, i32 token types), which can
 * hold hundreds of thousands of items.
 */
function itemsSize(elementType: number, items: readonly GgufValue[], depth: number, loc: ErrorLocation): number {
  const ints = INT_RANGES[elementType];
  if (ints) {
    const [lo, hi] = ints;
    for (const v of items) if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) throw wrongType(elementType, v, loc);
    return items.length * GGUF_VALUE_TYPES[elementType].size;
  }
  if (elementType === GgufValueType.FLOAT32 || elementType === GgufValueType.FLOAT64) {
    for (const v of items) if (typeof v !== 'number') throw wrongType(elementType, v, loc);
    return items.length * GGUF_VALUE_TYPES[elementType].size;
  }
  let size = 0;
  if (elementType === GgufValueType.STRING) {
    for (const v of items) size += checkString(v, WHAT_STRING_VALUE, loc);
    return size;
  }
  for (const v of items) size += valueSize(elementType, v, depth, loc);
  return size;
}

/** A KV value already checked and measured, with what it was measured from. */
interface MeasuredValue {
  readonly type: number;
  readonly value: GgufValue;
  readonly items: readonly GgufValue[];
  readonly itemCount: number;
  readonly bytes: number;
}

/**
 * Encoded sizes of array-valued KVs, by KV object. GgufKv and GgufArray are readonly, so an entry
 * measured once keeps its size: planning every ftype of a model re-sizes the same vocabulary arrays
 * (tokens, merges: 100k+ strings each) dozens of times otherwise. Only successes are kept, so a bad
 * value throws every time. The type, value, items array and item count are compared on each hit as a
 * guard against an entry changed behind the readonly types (items replaced in place are not seen).
 */
const measuredValues = new WeakMap<GgufKv, MeasuredValue>();

/** valueSize of a KV's value, remembered per KV object for arrays. */
function kvValueSize(e: GgufKv, loc: ErrorLocation): number {
  const { type, value } = e;
  if (type !== GgufValueType.ARRAY || !isGgufArray(value)) return valueSize(type, value, 0, loc);
  const hit = measuredValues.get(e);
  if (hit !== undefined && hit.type === type && hit.value === value && hit.items === value.items && hit.itemCount === value.items.length) {
    return hit.bytes;
  }
  const bytes = valueSize(type, value, 0, loc);
  measuredValues.set(e, { type, value, items: value.items, itemCount: value.items.length, bytes });
  return bytes;
}

function describeValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'object' && v !== null) return 'array';
  return String(v);
}

/** The alignment a file with these KVs is read with: general.alignment (u32, power of two) or 32. */
export function ggufAlignment(kv: readonly GgufKv[], requested?: number, loc: ErrorLocation = {}): number {
  const entry = kv.find((e) => e.key === 'general.alignment');
  let fromKv: number | undefined;
  if (entry) {
    const kloc = { ...loc, key: 'general.alignment' };
    if (entry.type !== GgufValueType.UINT32 || typeof entry.value !== 'number') {
      throw quantfitError('gguf.alignmentType', { type: ggufValueTypeName(entry.type) }, kloc);
    }
    fromKv = entry.value;
  }
  const alignment = fromKv ?? GGUF_DEFAULT_ALIGNMENT;
  if (!Number.isInteger(alignment) || alignment <= 0 || (alignment & (alignment - 1)) !== 0 || alignment > 0x80000000) {
    throw quantfitError('gguf.alignmentBad', { value: alignment }, fromKv !== undefined ? { ...loc, key: 'general.alignment' } : loc);
  }
  // Readers take the alignment from the KV alone, so any other value would make the file unreadable.
  if (requested !== undefined && requested !== alignment) {
    throw fromKv === undefined
      ? quantfitError('gguf.alignmentMismatchDefault', { requested, alignment }, loc)
      : quantfitError('gguf.alignmentMismatch', { requested, alignment, fromKv }, loc);
  }
  return alignment;
}

interface Checked {
  readonly alignment: number;
  readonly kvBytes: number[];
  readonly tensorBytes: number[];
  readonly tensorInfoBytes: number[];
}

/** Validates the KVs and tensor infos and measures them; throws QuantfitError naming the key or tensor. */
function check(kv: readonly GgufKv[], tensors: readonly GgufWriteTensor[], alignment: number | undefined, loc: ErrorLocation): Checked {
  const keys = new Set<string>();
  const kvBytes = kv.map((e) => {
    const kloc = { ...loc, key: e.key };
    checkString(e.key, msg('gguf.what.keyField'), kloc);
    if (e.key.length === 0) throw quantfitError('gguf.keyEmpty', {}, kloc);
    if (keys.has(e.key)) throw quantfitError('gguf.duplicateKeyPlain', { key: e.key }, kloc);
    keys.add(e.key);
    if (!isGgufValueType(e.type)) throw quantfitError('gguf.badValueTypePlain', { type: String(e.type) }, kloc);
    return 8 + Buffer.byteLength(e.key, 'utf8') + 4 + kvValueSize(e, kloc);
  });
  const names = new Set<string>();
  const tensorBytes: number[] = [];
  const tensorInfoBytes = tensors.map((t) => {
    const tloc = { ...loc, tensor: t.name };
    const n = checkString(t.name, msg('gguf.what.tensorNameField'), tloc) - 8;
    if (n > GGML_MAX_NAME_BYTES) throw quantfitError('gguf.nameTooLong', { bytes: n, max: GGML_MAX_NAME_BYTES }, tloc);
    if (t.name.includes('\0')) throw quantfitError('gguf.nameHasNul', {}, tloc);
    if (names.has(t.name)) throw quantfitError('gguf.duplicateTensorPlain', { name: t.name }, tloc);
    names.add(t.name);
    tensorBytes.push(ggufTensorByteSize(t.type, t.shape, tloc));
    return 8 + n + 4 + 8 * t.shape.length + 4 + 8;
  });
  return { alignment: ggufAlignment(kv, alignment, loc), kvBytes, tensorBytes, tensorInfoBytes };
}

function layoutOf(c: Checked): GgufLayout & { tensorBytes: number[] } {
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const headerBytes = alignUp(24 + sum(c.kvBytes) + sum(c.tensorInfoBytes), c.alignment);
  const offsets: number[] = [];
  let data = 0;
  for (const bytes of c.tensorBytes) {
    offsets.push(data);
    data += alignUp(bytes, c.alignment);
  }
  return { headerBytes, offsets, totalBytes: headerBytes + data, tensorBytes: c.tensorBytes };
}

/**
 * Exact sizes of the GGUF v3 file the writer would produce, without any I/O. The alignment is
 * general.alignment from `kv` when present, else 32; passing a different `alignment` is an error.
 */
export function ggufLayout(kv: readonly GgufKv[], tensors: readonly GgufWriteTensor[], alignment?: number): GgufLayout {
  const { headerBytes, offsets, totalBytes } = layoutOf(check(kv, tensors, alignment, {}));
  return { headerBytes, offsets, totalBytes };
}

/** Little-endian writes into a preallocated buffer of exactly the right size. */
class ByteSink {
  readonly buf: Buffer;
  pos = 0;
  constructor(size: number) {
    this.buf = Buffer.alloc(size);
  }
  u8(v: number) { this.pos = this.buf.writeUInt8(v, this.pos); }
  i8(v: number) { this.pos = this.buf.writeInt8(v, this.pos); }
  u16(v: number) { this.pos = this.buf.writeUInt16LE(v, this.pos); }
  i16(v: number) { this.pos = this.buf.writeInt16LE(v, this.pos); }
  u32(v: number) { this.pos = this.buf.writeUInt32LE(v, this.pos); }
  i32(v: number) { this.pos = this.buf.writeInt32LE(v, this.pos); }
  f32(v: number) { this.pos = this.buf.writeFloatLE(v, this.pos); }
  f64(v: number) { this.pos = this.buf.writeDoubleLE(v, this.pos); }
  u64(v: bigint) { this.pos = this.buf.writeBigUInt64LE(v, this.pos); }
  i64(v: bigint) { this.pos = this.buf.writeBigInt64LE(v, this.pos); }
  str(s: string) {
    const n = Buffer.byteLength(s, 'utf8');
    this.u64(BigInt(n));
    this.pos += this.buf.write(s, this.pos, n, 'utf8');
  }
}

function encodeValue(out: ByteSink, type: number, value: GgufValue): void {
  switch (type) {
    case GgufValueType.UINT8: return out.u8(value as number);
    case GgufValueType.INT8: return out.i8(value as number);
    case GgufValueType.UINT16: return out.u16(value as number);
    case GgufValueType.INT16: return out.i16(value as number);
    case GgufValueType.UINT32: return out.u32(value as number);
    case GgufValueType.INT32: return out.i32(value as number);
    case GgufValueType.FLOAT32: return out.f32(value as number);
    case GgufValueType.FLOAT64: return out.f64(value as number);
    case GgufValueType.UINT64: return out.u64(BigInt(value as bigint | number));
    case GgufValueType.INT64: return out.i64(BigInt(value as bigint | number));
    case GgufValueType.BOOL: return out.u8(value ? 1 : 0);
    case GgufValueType.STRING: return out.str(value as string);
    case GgufValueType.ARRAY: {
      const { elementType, items } = value as { elementType: number; items: readonly GgufValue[] };
      out.u32(elementType);
      out.u64(BigInt(items.length));
      for (const item of items) encodeValue(out, elementType, item);
      return;
    }
  }
}

export interface EncodedHeader {
  /** Header bytes, padded to the alignment. */
  readonly bytes: Buffer;
  readonly alignment: number;
  readonly layout: GgufLayout;
  /** Each tensor's data size in bytes (without padding). */
  readonly tensorBytes: readonly number[];
}

/** Validates and encodes a GGUF v3 header; `loc` is added to every error (e.g. the output file). */
export function encodeGgufHeader(kv: readonly GgufKv[], tensors: readonly GgufWriteTensor[], alignment?: number, loc: ErrorLocation = {}): EncodedHeader {
  const checked = check(kv, tensors, alignment, loc);
  const { headerBytes, offsets, totalBytes, tensorBytes } = layoutOf(checked);
  const out = new ByteSink(headerBytes);
  out.buf.write('GGUF', 0, 'latin1');
  out.pos = 4;
  out.u32(GGUF_WRITE_VERSION);
  out.i64(BigInt(tensors.length));
  out.i64(BigInt(kv.length));
  for (const e of kv) {
    out.str(e.key);
    out.u32(e.type);
    encodeValue(out, e.type, e.value);
  }
  tensors.forEach((t, i) => {
    out.str(t.name);
    out.u32(t.shape.length);
    for (const ne of t.shape) out.i64(BigInt(ne));
    out.i32(t.type);
    out.u64(BigInt(offsets[i]));
  });
  // The rest of the buffer is already zero: that is the alignment padding.
  return { bytes: out.buf, alignment: checked.alignment, layout: { headerBytes, offsets, totalBytes }, tensorBytes };
}

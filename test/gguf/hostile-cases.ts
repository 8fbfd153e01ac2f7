// The malformed GGUF files of the hostile-input suite, shared by hostile.test.ts (our reader, the CLI)
// and llama-parity.test.ts (llama.cpp's own parser on the same bytes). Not a test file itself.

import { GgufValueType as T } from '../../src-main/core/gguf/types.ts';
import { GgmlType } from '../../src-main/core/gguf/ggml-types.ts';
import { buildRawGguf, mulberry32, type ByteBuilder, type RawGgufSpec, type RawKv, type RawTensor } from '../support/synthetic-gguf.ts';

// ---------------------------------------------------------------------------------------------------
// A small valid file to mutate: 4 KVs, 3 tensors (F32 [4,2] = 32 B, Q8_0 [32,1] = 34 B, F16 [3] = 6 B).

const str = (s: string | Uint8Array) => (b: ByteBuilder) => { b.str(s); };
const u32 = (v: number) => (b: ByteBuilder) => { b.u32(v); };
const arrayOf = (elementType: number, n: number | bigint, items: (b: ByteBuilder) => void) => (b: ByteBuilder) => { b.u32(elementType).u64(n); items(b); };

const BASE_KV: RawKv[] = [
  { key: 'general.architecture', type: T.STRING, value: str('llama') },
  { key: 'general.alignment', type: T.UINT32, value: u32(32) },
  { key: 'test.numbers', type: T.ARRAY, value: arrayOf(T.UINT32, 3, (b) => b.u32(1).u32(2).u32(3)) },
  { key: 'test.words', type: T.ARRAY, value: arrayOf(T.STRING, 2, (b) => b.str('a').str('bc')) },
];
const BASE_TENSORS: RawTensor[] = [
  { name: 'a.weight', dims: [4, 2], type: GgmlType.F32, offset: 0 },
  { name: 'b.weight', dims: [32, 1], type: GgmlType.Q8_0, offset: 32 },
  { name: 'c.weight', dims: [3], type: GgmlType.F16, offset: 96 },
];
const DATA_BYTES = 96 + 6;
export const DATA = Buffer.alloc(128, 0);
for (let i = 0; i < DATA_BYTES; i++) DATA[i] = (i * 37 + 11) & 0xff;
DATA.fill(0, 32 + 34, 96);
DATA.fill(0, DATA_BYTES);

function spec(over: Partial<RawGgufSpec> = {}): RawGgufSpec {
  return { kv: BASE_KV, tensors: BASE_TENSORS, data: DATA, ...over };
}
const withKv = (i: number, kv: Partial<RawKv>): RawKv[] => BASE_KV.map((e, j) => (j === i ? { ...e, ...kv } : e));
const withTensor = (i: number, t: Partial<RawTensor>): RawTensor[] => BASE_TENSORS.map((e, j) => (j === i ? { ...e, ...t } : e));
const BASE = buildRawGguf(spec());

// ---------------------------------------------------------------------------------------------------
// The cases

export interface Case {
  readonly name: string;
  readonly bytes: Buffer;
  /** Required message (undefined: any QuantfitError, or acceptance when `mayAccept`). */
  readonly message?: RegExp;
  readonly key?: string;
  readonly tensor?: string;
  readonly offset?: number;
  readonly mayAccept?: boolean;
  /** Must be accepted (positive controls). */
  readonly valid?: boolean;
}

function targetedCases(): Case[] {
  const c: Case[] = [];
  const add = (name: string, s: RawGgufSpec | Buffer, expect: Omit<Case, 'name' | 'bytes'>) =>
    c.push({ name, bytes: Buffer.isBuffer(s) ? s : buildRawGguf(s), ...expect });

  // Positive controls: these are valid and must be accepted.
  add('valid base', BASE, { valid: true });
  add('valid without trailing padding', BASE.subarray(0, BASE.length - (128 - DATA_BYTES)), { valid: true });
  add('valid v2', spec({ version: 2 }), { valid: true });
  add('valid no tensors, no padding', spec({ tensors: [], data: undefined, padTo: 0 }), { valid: true });
  add('valid nested array', spec({ kv: [...BASE_KV, { key: 'n', type: T.ARRAY, value: arrayOf(T.ARRAY, 2, (b) => { b.u32(T.INT8).u64(1).i8(-1); b.u32(T.STRING).u64(0); }) }] }), { valid: true });
  add('valid 1 KiB alignment', spec({ kv: withKv(1, { value: u32(1024) }), tensors: withTensor(1, { offset: 1024 }).map((t, i) => (i === 2 ? { ...t, offset: 2048 } : t)), padTo: 1024, data: Buffer.alloc(2048 + 6) }), { valid: true });

  // Magic
  for (const m of ['GGML', 'ggjt', 'FUGG', 'GGUf', '\0\0\0\0', 'lmgg']) {
    add(`magic ${JSON.stringify(m)}`, spec({ magic: m }), { message: /not a GGUF file: magic is .* expected 'GGUF'/, offset: 0 });
  }
  add('legacy ggjt magic', spec({ magic: 'tjgg' }), { message: /legacy GGJT file \(pre-GGUF\)/, offset: 0 });
  add('legacy ggml magic', spec({ magic: 'lmgg' }), { message: /legacy GGML file/, offset: 0 });
  add('empty file', Buffer.alloc(0), { message: /not a GGUF file: it is only 0 bytes/ });
  add('3-byte file', Buffer.from('GGU'), { message: /not a GGUF file: it is only 3 bytes long/ });

  // Version
  add('version 0', spec({ version: 0 }), { message: /unsupported GGUF version 0 \(supported versions: 2 and 3\)/, offset: 4 });
  add('version 1', spec({ version: 1 }), { message: /version 1 is no longer supported \(supported versions: 2 and 3\)/, offset: 4 });
  add('version 4', spec({ version: 4 }), { message: /unsupported GGUF version 4 \(supported versions: 2 and 3\)/, offset: 4 });
  add('version 99', spec({ version: 99 }), { message: /unsupported GGUF version 99/, offset: 4 });
  add('version byte-swapped 3', spec({ version: 0x03000000 }), { message: /byte-swapped: big-endian GGUF files are not supported/, offset: 4 });
  add('version 0xffffffff', spec({ version: 0xffffffff }), { message: /unsupported GGUF version 4294967295/ });

  // Counts
  add('tensor count negative', spec({ nTensors: -1n }), { message: /tensor count -1 is negative/, offset: 8 });
  add('tensor count 2^62', spec({ nTensors: 1n << 62n }), { message: /tensor count 4611686018427387904 cannot fit in the file/, offset: 8 });
  add('tensor count 1e9', spec({ nTensors: 1_000_000_000 }), { message: /tensor count 1000000000 cannot fit/ });
  add('kv count negative', spec({ nKv: -5n }), { message: /key\/value count -5 is negative/, offset: 16 });
  add('kv count max int64', spec({ nKv: (1n << 63n) - 1n }), { message: /key\/value count 9223372036854775807 cannot fit/, offset: 16 });
  add('kv count 100', spec({ nKv: 100 }), { message: /key\/value count 100 cannot fit/ });
  add('kv count one too many', spec({ nKv: 5 }), {});
  add('tensor count one too many', spec({ nTensors: 4 }), {});
  add('counts jointly too big', spec({ nKv: 20, nTensors: 10 }), { message: /20 key\/values and 10 tensors cannot fit/ });

  // String lengths
  add('key length over 16 MiB', spec({ kv: withKv(0, { keyLength: 16 * 1024 * 1024 + 1 }) }), { message: /key #0 has length 16777217, over the maximum of 16777216 bytes/, offset: 24 });
  add('key length 2^64-1', spec({ kv: withKv(0, { keyLength: (1n << 64n) - 1n }) }), { message: /key #0 has length 18446744073709551615, over the maximum/, offset: 24 });
  add('key length past end', spec({ kv: withKv(1, { keyLength: 5000 }) }), { message: /key #1 has length 5000 but only \d+ bytes are left/ });
  add('key length too short', spec({ kv: withKv(0, { keyLength: 3 }) }), {});
  add('string value past end', spec({ kv: withKv(0, { value: (b) => b.str('llama', 9999) }) }), { message: /string value has length 9999 but only \d+ bytes are left/, key: 'general.architecture' });
  add('string value over 16 MiB', spec({ kv: withKv(0, { value: (b) => b.str('llama', 1n << 40n) }) }), { message: /string value has length 1099511627776, over the maximum/, key: 'general.architecture' });
  add('array string item past end', spec({ kv: withKv(3, { value: arrayOf(T.STRING, 2, (b) => b.str('a').str('bc', 1n << 20n)) }) }), { message: /string value has length 1048576 but only/, key: 'test.words' });
  add('tensor name length past end', spec({ tensors: withTensor(2, { nameLength: 4000 }) }), { message: /the name of tensor #2 has length 4000 but only \d+ bytes are left/ });

  // Array lengths
  add('array length over 64 Mi', spec({ kv: withKv(2, { value: arrayOf(T.UINT8, 64 * 1024 * 1024 + 1, () => {}) }) }), { message: /array length 67108865 is over the maximum of 67108864 items/, key: 'test.numbers' });
  add('array length 2^64-1', spec({ kv: withKv(2, { value: arrayOf(T.UINT32, (1n << 64n) - 1n, () => {}) }) }), { message: /array length 18446744073709551615 is over the maximum/, key: 'test.numbers' });
  add('u64 array past end', spec({ kv: withKv(2, { value: arrayOf(T.UINT64, 1_000_000, () => {}) }) }), { message: /array of 1000000 u64 items needs at least 8000000 bytes but only \d+ are left/, key: 'test.numbers' });
  add('string array past end', spec({ kv: withKv(3, { value: arrayOf(T.STRING, 60_000_000, () => {}) }) }), { message: /array of 60000000 string items needs at least 480000000 bytes/, key: 'test.words' });
  add('nested array count past end', spec({ kv: withKv(2, { value: arrayOf(T.ARRAY, 40_000, () => {}) }) }), { message: /array of 40000 array items needs at least 480000 bytes/, key: 'test.numbers' });
  add('array count one too many', spec({ kv: withKv(2, { value: arrayOf(T.UINT32, 4, (b) => b.u32(1).u32(2).u32(3)) }) }), {});

  // Value types
  for (const t of [13, 100, 0xffffffff, 0x80000000]) {
    add(`value type ${t}`, spec({ kv: withKv(1, { type: t }) }), { message: new RegExp(`invalid value type ${t} \\(valid types are 0 to 12\\)`), key: 'general.alignment' });
  }
  for (const t of [13, 255, 0xffffffff]) {
    add(`element type ${t}`, spec({ kv: withKv(2, { value: arrayOf(t, 3, (b) => b.u32(1).u32(2).u32(3)) }) }), { message: new RegExp(`invalid array element type ${t}`), key: 'test.numbers' });
  }
  const deep = (depth: number) => (b: ByteBuilder) => {
    for (let i = 0; i < depth; i++) b.u32(T.ARRAY).u64(1);
    b.u32(T.UINT8).u64(0);
  };
  add('arrays nested 8 deep', spec({ kv: [...BASE_KV, { key: 'deep', type: T.ARRAY, value: deep(8) }] }), { message: /arrays are nested more than 8 deep/, key: 'deep' });
  add('arrays nested 20000 deep', spec({ kv: [...BASE_KV, { key: 'deep', type: T.ARRAY, value: deep(20_000) }] }), { message: /arrays are nested more than 8 deep/, key: 'deep' });
  add('arrays nested 7 deep', spec({ kv: [...BASE_KV, { key: 'deep', type: T.ARRAY, value: deep(6) }] }), { valid: true });
  add('bool value 2', spec({ kv: [...BASE_KV, { key: 'flag', type: T.BOOL, value: (b) => { b.u8(2); } }] }), { message: /invalid bool value 2/, key: 'flag' });
  add('bool array item 255', spec({ kv: [...BASE_KV, { key: 'flags', type: T.ARRAY, value: arrayOf(T.BOOL, 2, (b) => b.u8(1).u8(255)) }] }), { message: /invalid bool value 255/, key: 'flags' });
  add('invalid UTF-8 key', spec({ kv: withKv(3, { key: Buffer.from([0x74, 0xff, 0x74]) }) }), { message: /key #3 is not valid UTF-8/ });
  add('invalid UTF-8 value', spec({ kv: withKv(0, { value: str(Buffer.from([0xc3, 0x28])) }) }), { message: /string value is not valid UTF-8/, key: 'general.architecture' });
  add('overlong UTF-8 value', spec({ kv: withKv(0, { value: str(Buffer.from([0xc0, 0xaf])) }) }), { message: /not valid UTF-8/ });

  // Duplicate and empty keys
  add('duplicate key', spec({ kv: [...BASE_KV, BASE_KV[2]] }), { message: /duplicate key 'test.numbers' \(keys #2 and #4\)/, key: 'test.numbers' });
  add('duplicate alignment key', spec({ kv: [BASE_KV[1], ...BASE_KV] }), { message: /duplicate key 'general.alignment'/, key: 'general.alignment' });
  add('empty key', spec({ kv: withKv(2, { key: '' }) }), { message: /key #2 is empty/ });

  // Alignment
  for (const [t, v] of [[T.INT32, u32(32)], [T.UINT64, (b: ByteBuilder) => { b.u64(32); }], [T.STRING, str('32')], [T.UINT16, (b: ByteBuilder) => { b.u16(32); }]] as const) {
    add(`alignment type ${t}`, spec({ kv: withKv(1, { type: t, value: v }) }), { message: /general.alignment must be of type u32 but is/, key: 'general.alignment' });
  }
  for (const v of [0, 3, 48, 0xffffffff, 0x80000001]) {
    add(`alignment ${v}`, spec({ kv: withKv(1, { value: u32(v) }) }), { message: new RegExp(`general.alignment ${v} is not a power of two`), key: 'general.alignment' });
  }
  add('alignment 64 with 32-aligned offsets', spec({ kv: withKv(1, { value: u32(64) }), padTo: 64 }), { message: /tensor offset 32 is not a multiple of the alignment 64/, tensor: 'b.weight' });

  // Tensor names
  add('duplicate tensor name', spec({ tensors: withTensor(2, { name: 'a.weight' }) }), { message: /duplicate tensor name 'a.weight' \(tensors #0 and #2\)/, tensor: 'a.weight' });
  add('tensor name 64 bytes', spec({ tensors: withTensor(0, { name: 'x'.repeat(64) }) }), { message: /tensor name is 64 bytes long; ggml allows at most 63/ });
  add('tensor name 63 bytes', spec({ tensors: withTensor(0, { name: 'x'.repeat(63) }) }), { valid: true });
  add('tensor name with NUL', spec({ tensors: withTensor(0, { name: 'a\0b' }) }), { message: /tensor name contains a NUL byte/, tensor: 'a\\x00b' });
  add('duplicate tensor name with control chars', spec({ tensors: withTensor(0, { name: 'c\n' }).map((t, i) => (i === 1 ? { ...t, name: 'c\n' } : t)) }), { message: /duplicate tensor name 'c\\x0a'/, tensor: 'c\\x0a' });
  add('tensor name invalid UTF-8', spec({ tensors: withTensor(0, { name: Buffer.from([0x61, 0x80]) }) }), { message: /the name of tensor #0 is not valid UTF-8/ });
  add('tensor name length huge', spec({ tensors: [] , nTensors: 1, padTo: 0, data: Buffer.from(new BigUint64Array([1n << 62n]).buffer) }), { message: /the name of tensor #0 has length 4611686018427387904, over the maximum/ });

  // Dimensions
  for (const n of [5, 8, 0xffffffff]) {
    add(`n_dims ${n}`, spec({ tensors: withTensor(1, { nDims: n }) }), { message: new RegExp(`tensor has ${n} dimensions; at most 4 are supported`), tensor: 'b.weight' });
  }
  add('n_dims 0 (scalar) with F32', spec({ tensors: withTensor(2, { dims: [], type: GgmlType.F32 }) }), { valid: true });
  for (const d of [0n, -1n, -(1n << 63n)]) {
    add(`dimension ${d}`, spec({ tensors: withTensor(0, { dims: [4, d] }) }), { message: new RegExp(`dimension 1 is ${d}; every dimension must be at least 1`), tensor: 'a.weight' });
  }
  add('first dimension 0', spec({ tensors: withTensor(0, { dims: [0, 2] }) }), { message: /dimension 0 is 0/, tensor: 'a.weight' });
  add('element count overflow', spec({ tensors: withTensor(2, { dims: [1n << 40n, 1n << 40n] }) }), { message: /has more than 2\^63-1 elements/, tensor: 'c.weight' });
  add('element count overflow 4 dims', spec({ tensors: withTensor(2, { dims: [65536, 65536, 65536, 65536] }) }), { message: /has more than 2\^63-1 elements/, tensor: 'c.weight' });
  add('byte size overflow', spec({ tensors: withTensor(0, { dims: [1n << 31n, 1n << 31n] }) }), { message: /size in bytes \(18446744073709551616\) overflows 2\^63/, tensor: 'a.weight' });
  add('last tensor huge but not overflowing', spec({ tensors: withTensor(2, { dims: [1_000_000_000] }) }), { message: /runs past the end of the file/, tensor: 'c.weight' });

  // Tensor types
  for (const t of [43, 99, -1, 0x7fffffff]) {
    add(`tensor type ${t}`, spec({ tensors: withTensor(2, { type: t }) }), { message: new RegExp(`unknown tensor type ${t}`), tensor: 'c.weight' });
  }
  for (const t of [4, 5, 31, 32, 33, 36, 37, 38]) {
    add(`removed tensor type ${t}`, spec({ tensors: withTensor(2, { type: t, dims: [256] }) }), { message: new RegExp(`tensor type ${t} is no longer supported`), tensor: 'c.weight' });
  }
  add('Q8_0 row 33', spec({ tensors: withTensor(1, { dims: [33, 1] }) }), { message: /row length 33 is not a multiple of the Q8_0 block size 32/, tensor: 'b.weight' });
  add('Q4_K row 64', spec({ tensors: withTensor(1, { dims: [64, 1], type: GgmlType.Q4_K }) }), { message: /row length 64 is not a multiple of the Q4_K block size 256/, tensor: 'b.weight' });
  add('IQ2_XXS row 32', spec({ tensors: withTensor(1, { type: GgmlType.IQ2_XXS }) }), { message: /not a multiple of the IQ2_XXS block size 256/, tensor: 'b.weight' });

  // Offsets
  add('misaligned offset', spec({ tensors: withTensor(1, { offset: 33 }) }), { message: /tensor offset 33 is not a multiple of the alignment 32/, tensor: 'b.weight' });
  add('overlapping offset', spec({ tensors: withTensor(1, { offset: 0 }) }), { message: /tensor offset 0 overlaps the previous tensor 'a.weight' \(expected offset 32/, tensor: 'b.weight' });
  add('gap before tensor', spec({ tensors: withTensor(2, { offset: 128 }) }), { message: /tensor offset 128 leaves a gap after the previous tensor 'b.weight' \(expected offset 96/, tensor: 'c.weight' });
  add('first tensor not at 0', spec({ tensors: withTensor(0, { offset: 32 }) }), { message: /first tensor starts at data offset 32, expected 0/, tensor: 'a.weight' });
  add('offsets out of order', spec({ tensors: [BASE_TENSORS[1], BASE_TENSORS[0], BASE_TENSORS[2]] }), { message: /first tensor starts at data offset 32, expected 0/, tensor: 'b.weight' });
  add('offset 2^63', spec({ tensors: withTensor(2, { offset: 1n << 63n }) }), { message: /leaves a gap/, tensor: 'c.weight' });
  add('offset 2^64-32', spec({ tensors: withTensor(2, { offset: (1n << 64n) - 32n }) }), { message: /leaves a gap/, tensor: 'c.weight' });
  add('same offsets (shared data)', spec({ tensors: withTensor(2, { offset: 32 }) }), { message: /overlaps the previous tensor 'b.weight'/, tensor: 'c.weight' });

  // Data past the end
  add('last tensor 1 byte short', BASE.subarray(0, BASE.length - (128 - DATA_BYTES) - 1), { message: /tensor data \(data offset 96, 6 bytes\) runs past the end of the file/, tensor: 'c.weight' });
  add('no data section at all', spec({ data: undefined }), { message: /runs past the end of the file/, tensor: 'a.weight' });
  add('header ends before padding', spec({ data: undefined, padTo: 0 }), { message: /data section starts at \d+ \(after alignment padding\) but the file is/ });
  return c;
}

function truncationCases(): Case[] {
  const h = BASE.length;
  const needed = h - (128 - DATA_BYTES);
  const out: Case[] = [];
  const headerEnd = h - 128;
  for (let cut = 0; cut < h; cut++) {
    // Every byte inside the header and around the data boundaries; every 7th inside the data.
    if (cut > headerEnd + 8 && cut < needed - 8 && cut % 7 !== 0) continue;
    out.push({ name: `truncated to ${cut} bytes`, bytes: BASE.subarray(0, cut), valid: cut >= needed, mayAccept: cut >= needed });
  }
  return out;
}

function flipCases(count: number): Case[] {
  const rnd = mulberry32(20261122);
  const headerEnd = BASE.length - 128;
  const out: Case[] = [];
  for (let i = 0; i < count; i++) {
    const bytes = Buffer.from(BASE);
    const flips = 1 + Math.floor(rnd() * 4);
    for (let f = 0; f < flips; f++) {
      const at = Math.floor(rnd() * headerEnd);
      // Half the flips set a whole byte (big length/count changes), half flip one bit.
      bytes[at] = rnd() < 0.5 ? Math.floor(rnd() * 256) : bytes[at] ^ (1 << Math.floor(rnd() * 8));
    }
    out.push({ name: `byte flips #${i}`, bytes, mayAccept: true });
  }
  return out;
}

/** Every case: targeted ones (each validation class), truncations, seeded byte flips. */
export function hostileCases(flips = 300): Case[] {
  return [...targetedCases(), ...truncationCases(), ...flipCases(flips)];
}

// Synthetic GGUF files for tests.
//
// Two levels:
//  1. Valid models through the real writer:
//       const spec = tinyLlama({ nLayer: 2, type: 'F16' });        // a llama-shaped SyntheticModel
//       await writeSyntheticGguf(join(dir, 'tiny.gguf'), spec);      // → { path, bytes, sha256 }
//     or your own: writeSyntheticGguf(path, { arch: 'llama', hparams: { block_count: 1, ... },
//       tensors: [{ name: 'token_embd.weight', shape: [64, 32], type: 'F16' }] }).
//     Tensor data defaults to seeded pseudo-random values; pass `data` (Float32Array for F32/F16,
//     raw bytes for any type) to choose it. `syntheticTensorData(spec, i)` gives back the exact bytes.
//  2. Raw bytes for malformed files (no validation at all): buildRawGguf(spec) with RawGgufSpec, whose
//     every field (magic, version, counts, key types, dims, offsets, padding) can be set to anything.
//
// Temp folders: `const dir = await makeTempDir('name')` (removed by `removeTempDir(dir)`).

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GgufWriter, type GgufWriteResult } from '../../src-main/core/gguf/writer.ts';
import { GgufValueType, type GgufKv, type GgufValue } from '../../src-main/core/gguf/types.ts';
import { GgmlType, ggmlTypeByName, ggmlTypeInfo } from '../../src-main/core/gguf/ggml-types.ts';
import { ggufTensorByteSize } from '../../src-main/core/gguf/encode.ts';
import { mulberry32 } from './random.ts';

// ---------------------------------------------------------------------------------------------------
// Small utilities

/** Deterministic PRNG (mulberry32): returns floats in [0, 1). Re-exported from ./random.ts. */
export { mulberry32 };

/** IEEE half bits of a float (round to nearest even), enough for test data. */
export function f32ToF16Bits(value: number): number {
  const f = new Float32Array([value]);
  const x = new Uint32Array(f.buffer)[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    let h = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1))) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++;
  return sign | h;
}

export async function makeTempDir(name: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `quantfit-${name}-`));
}

export async function removeTempDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------------
// Valid models

export interface SyntheticTensor {
  readonly name: string;
  /** ne[0] first (row length). */
  readonly shape: readonly number[];
  /** 'F32' (default), 'F16', any ggml type name, or a ggml type id. */
  readonly type?: string | number;
  /** F32/F16: Float32Array of the values (F16 rounds them). Any type: the raw bytes. Default: seeded random. */
  readonly data?: Float32Array | Uint8Array;
  /** Scale of the default random values (uniform in [-scale, scale)); default 0.5. */
  readonly scale?: number;
}

export interface SyntheticModel {
  /** general.architecture (default 'llama'); hparams keys are prefixed with it. */
  readonly arch?: string;
  /**
   * Architecture hyperparameters without the prefix: { block_count: 2 } → 'llama.block_count'.
   * Whole numbers become u32, except keys ending in epsilon/freq_base/factor/scale/softcapping
   * which are f32 like every other non-integer; strings, booleans and bigints (u64) as such.
   */
  readonly hparams?: Readonly<Record<string, number | string | boolean | bigint>>;
  /** Extra KVs, written after general.* and the hparams, in order (full keys, explicit types). */
  readonly kv?: readonly GgufKv[];
  readonly tensors: readonly SyntheticTensor[];
  /** Written as general.alignment when given. */
  readonly alignment?: number;
  /** Seed of the default tensor data (default 1). */
  readonly seed?: number;
  /** general.name (default 'synthetic'). */
  readonly name?: string;
}

const FLOAT_SUFFIXES = ['epsilon', 'freq_base', 'factor', 'scale', 'softcapping'];

function hparamKv(key: string, v: number | string | boolean | bigint): GgufKv {
  if (typeof v === 'string') return { key, type: GgufValueType.STRING, value: v };
  if (typeof v === 'boolean') return { key, type: GgufValueType.BOOL, value: v };
  if (typeof v === 'bigint') return { key, type: GgufValueType.UINT64, value: v };
  const isFloat = !Number.isInteger(v) || v < 0 || FLOAT_SUFFIXES.some((s) => key.endsWith(s));
  return isFloat ? { key, type: GgufValueType.FLOAT32, value: Math.fround(v) } : { key, type: GgufValueType.UINT32, value: v };
}

export function tensorTypeId(type: string | number | undefined): number {
  if (type === undefined) return GgmlType.F32;
  if (typeof type === 'number') return type;
  const info = ggmlTypeByName(type);
  if (!info) throw new Error(`synthetic-gguf: unknown tensor type ${type}`);
  return info.id;
}

/** The full KV list a SyntheticModel is written with. */
export function syntheticKv(model: SyntheticModel): GgufKv[] {
  const arch = model.arch ?? 'llama';
  const out: GgufKv[] = [
    { key: 'general.architecture', type: GgufValueType.STRING, value: arch },
    { key: 'general.name', type: GgufValueType.STRING, value: model.name ?? 'synthetic' },
  ];
  if (model.alignment !== undefined) out.push({ key: 'general.alignment', type: GgufValueType.UINT32, value: model.alignment });
  for (const [k, v] of Object.entries(model.hparams ?? {})) out.push(hparamKv(`${arch}.${k}`, v));
  out.push(...(model.kv ?? []));
  return out;
}

/** The exact data bytes tensor `index` of `model` is written with. */
export function syntheticTensorData(model: SyntheticModel, index: number): Uint8Array {
  const t = model.tensors[index];
  const type = tensorTypeId(t.type);
  const bytes = ggufTensorByteSize(type, t.shape);
  if (t.data instanceof Uint8Array) {
    if (t.data.length !== bytes) throw new Error(`synthetic-gguf: ${t.name} needs ${bytes} bytes, got ${t.data.length}`);
    return t.data;
  }
  const count = t.shape.reduce((a, b) => a * b, 1);
  let values = t.data;
  if (!values) {
    const rnd = mulberry32(((model.seed ?? 1) * 1000003 + index * 7919) >>> 0);
    const scale = t.scale ?? 0.5;
    values = new Float32Array(count);
    for (let i = 0; i < count; i++) values[i] = (rnd() * 2 - 1) * scale;
  }
  if (values.length !== count) throw new Error(`synthetic-gguf: ${t.name} needs ${count} values, got ${values.length}`);
  if (type === GgmlType.F32) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  if (type === GgmlType.F16) {
    const h = new Uint16Array(count);
    for (let i = 0; i < count; i++) h[i] = f32ToF16Bits(values[i]);
    return new Uint8Array(h.buffer);
  }
  if (t.data === undefined && ggmlTypeInfo(type)) {
    // Other types get random bytes: fine for format tests, not meaningful weights.
    const rnd = mulberry32(((model.seed ?? 1) * 31 + index) >>> 0);
    const out = new Uint8Array(bytes);
    for (let i = 0; i < bytes; i++) out[i] = Math.floor(rnd() * 256);
    return out;
  }
  throw new Error(`synthetic-gguf: ${t.name}: pass raw bytes for type ${t.type}`);
}

/** Writes `model` with the project's GgufWriter (GGUF v3). */
export async function writeSyntheticGguf(path: string, model: SyntheticModel): Promise<GgufWriteResult> {
  const tensors = model.tensors.map((t) => ({ name: t.name, type: tensorTypeId(t.type), shape: t.shape }));
  const w = await GgufWriter.create(path, { kv: syntheticKv(model), tensors });
  try {
    for (let i = 0; i < tensors.length; i++) await w.writeTensorData(syntheticTensorData(model, i));
    return await w.finish();
  } catch (err) {
    await w.abort();
    throw err;
  }
}

export interface TinyLlamaOptions {
  nEmbd?: number; nLayer?: number; nHead?: number; nHeadKv?: number; nFf?: number; nVocab?: number; nCtx?: number;
  /** Type of the 2-D weights (norms stay F32, as llama.cpp's converters do). Default 'F32'. */
  type?: 'F32' | 'F16';
  seed?: number;
}

/**
 * A llama-shaped model (llama.cpp tensor names, hparams and a SentencePiece-style vocab) with random
 * weights: valid for the loaders, meaningless as a language model. Defaults are tiny (~40K params).
 */
export function tinyLlama(o: TinyLlamaOptions = {}): SyntheticModel {
  const nEmbd = o.nEmbd ?? 64, nLayer = o.nLayer ?? 2, nHead = o.nHead ?? 4, nHeadKv = o.nHeadKv ?? 2;
  const nFf = o.nFf ?? 128, nVocab = o.nVocab ?? 64, nCtx = o.nCtx ?? 256;
  const type = o.type ?? 'F32';
  const headDim = nEmbd / nHead;
  if (!Number.isInteger(headDim)) throw new Error('tinyLlama: nEmbd must be a multiple of nHead');
  const tokens: GgufValue[] = [];
  const scores: GgufValue[] = [];
  const tokenTypes: GgufValue[] = [];
  for (let i = 0; i < nVocab; i++) {
    if (i < 3) {
      tokens.push(['<unk>', '<s>', '</s>'][i]);
      tokenTypes.push(i === 0 ? 2 : 3);
    } else if (i < 3 + 256 && i < nVocab / 2) {
      tokens.push(`<0x${(i - 3).toString(16).toUpperCase().padStart(2, '0')}>`);
      tokenTypes.push(6);
    } else {
      tokens.push(`▁t${i}`);
      tokenTypes.push(1);
    }
    scores.push(i < 3 ? 0 : -i);
  }
  const tensors: SyntheticTensor[] = [
    { name: 'token_embd.weight', shape: [nEmbd, nVocab], type },
    { name: 'output_norm.weight', shape: [nEmbd], scale: 1 },
    { name: 'output.weight', shape: [nEmbd, nVocab], type },
  ];
  for (let b = 0; b < nLayer; b++) {
    tensors.push(
      { name: `blk.${b}.attn_q.weight`, shape: [nEmbd, nEmbd], type },
      { name: `blk.${b}.attn_k.weight`, shape: [nEmbd, headDim * nHeadKv], type },
      { name: `blk.${b}.attn_v.weight`, shape: [nEmbd, headDim * nHeadKv], type },
      { name: `blk.${b}.attn_output.weight`, shape: [nEmbd, nEmbd], type },
      { name: `blk.${b}.attn_norm.weight`, shape: [nEmbd], scale: 1 },
      { name: `blk.${b}.ffn_gate.weight`, shape: [nEmbd, nFf], type },
      { name: `blk.${b}.ffn_down.weight`, shape: [nFf, nEmbd], type },
      { name: `blk.${b}.ffn_up.weight`, shape: [nEmbd, nFf], type },
      { name: `blk.${b}.ffn_norm.weight`, shape: [nEmbd], scale: 1 },
    );
  }
  return {
    arch: 'llama',
    name: 'tiny-llama',
    seed: o.seed ?? 1,
    hparams: {
      context_length: nCtx, embedding_length: nEmbd, feed_forward_length: nFf, block_count: nLayer,
      'attention.head_count': nHead, 'attention.head_count_kv': nHeadKv, 'rope.dimension_count': headDim,
      'attention.layer_norm_rms_epsilon': 1e-5, 'rope.freq_base': 10000, vocab_size: nVocab,
    },
    kv: [
      { key: 'general.file_type', type: GgufValueType.UINT32, value: type === 'F16' ? 1 : 0 },
      { key: 'tokenizer.ggml.model', type: GgufValueType.STRING, value: 'llama' },
      { key: 'tokenizer.ggml.tokens', type: GgufValueType.ARRAY, value: { elementType: GgufValueType.STRING, items: tokens } },
      { key: 'tokenizer.ggml.scores', type: GgufValueType.ARRAY, value: { elementType: GgufValueType.FLOAT32, items: scores } },
      { key: 'tokenizer.ggml.token_type', type: GgufValueType.ARRAY, value: { elementType: GgufValueType.INT32, items: tokenTypes } },
      { key: 'tokenizer.ggml.bos_token_id', type: GgufValueType.UINT32, value: 1 },
      { key: 'tokenizer.ggml.eos_token_id', type: GgufValueType.UINT32, value: 2 },
      { key: 'tokenizer.ggml.unknown_token_id', type: GgufValueType.UINT32, value: 0 },
    ],
    tensors,
  };
}

// ---------------------------------------------------------------------------------------------------
// Raw bytes (for malformed files): nothing is checked, every field is taken as given.

/** Little-endian byte builder. */
export class ByteBuilder {
  private readonly parts: Buffer[] = [];
  length = 0;
  push(b: Uint8Array): this {
    const buf = Buffer.from(b);
    this.parts.push(buf);
    this.length += buf.length;
    return this;
  }
  private num(size: number, write: (b: Buffer) => void): this {
    const b = Buffer.alloc(size);
    write(b);
    return this.push(b);
  }
  u8(v: number) { return this.num(1, (b) => b.writeUInt8(v & 0xff)); }
  i8(v: number) { return this.num(1, (b) => b.writeInt8(v)); }
  u16(v: number) { return this.num(2, (b) => b.writeUInt16LE(v)); }
  i16(v: number) { return this.num(2, (b) => b.writeInt16LE(v)); }
  u32(v: number) { return this.num(4, (b) => b.writeUInt32LE(v >>> 0)); }
  i32(v: number) { return this.num(4, (b) => b.writeInt32LE(v | 0)); }
  f32(v: number) { return this.num(4, (b) => b.writeFloatLE(v)); }
  f64(v: number) { return this.num(8, (b) => b.writeDoubleLE(v)); }
  u64(v: number | bigint) { return this.num(8, (b) => b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(v)))); }
  i64(v: number | bigint) { return this.num(8, (b) => b.writeBigInt64LE(BigInt.asIntN(64, BigInt(v)))); }
  /** u64 length + bytes; `lengthOverride` writes a different length than the bytes given. */
  str(s: string | Uint8Array, lengthOverride?: number | bigint) {
    const bytes = typeof s === 'string' ? Buffer.from(s, 'utf8') : Buffer.from(s);
    return this.u64(lengthOverride ?? bytes.length).push(bytes);
  }
  zeros(n: number) { return this.push(Buffer.alloc(n)); }
  padTo(alignment: number) { return this.zeros((alignment - (this.length % alignment)) % alignment); }
  build(): Buffer { return Buffer.concat(this.parts); }
}

export interface RawKv {
  readonly key: string | Uint8Array;
  /** Written key length when it should differ from the key's bytes. */
  readonly keyLength?: number | bigint;
  /** Written as u32. */
  readonly type: number;
  /** Writes the value bytes (after the type). */
  readonly value: (b: ByteBuilder) => void;
}

export interface RawTensor {
  readonly name: string | Uint8Array;
  /** Written name length when it should differ from the name's bytes. */
  readonly nameLength?: number | bigint;
  readonly dims: readonly (number | bigint)[];
  /** Written n_dims (default dims.length). */
  readonly nDims?: number;
  readonly type: number;
  readonly offset: number | bigint;
}

export interface RawGgufSpec {
  readonly magic?: string | Uint8Array;
  readonly version?: number;
  /** Written counts (default: the list lengths). */
  readonly nTensors?: number | bigint;
  readonly nKv?: number | bigint;
  readonly kv: readonly RawKv[];
  readonly tensors: readonly RawTensor[];
  /** Padding after the tensor infos (default 32); 0 = none. */
  readonly padTo?: number;
  /** The data section, appended after the padding. */
  readonly data?: Uint8Array;
}

export function buildRawGguf(spec: RawGgufSpec): Buffer {
  const b = new ByteBuilder();
  const magic = spec.magic ?? 'GGUF';
  b.push(typeof magic === 'string' ? Buffer.from(magic, 'latin1') : magic);
  b.u32(spec.version ?? 3);
  b.i64(spec.nTensors ?? spec.tensors.length);
  b.i64(spec.nKv ?? spec.kv.length);
  for (const kv of spec.kv) {
    b.str(kv.key, kv.keyLength);
    b.u32(kv.type);
    kv.value(b);
  }
  for (const t of spec.tensors) {
    b.str(t.name, t.nameLength);
    b.u32(t.nDims ?? t.dims.length);
    for (const d of t.dims) b.i64(d);
    b.i32(t.type);
    b.u64(t.offset);
  }
  const pad = spec.padTo ?? 32;
  if (pad > 0) b.padTo(pad);
  if (spec.data) b.push(spec.data);
  return b.build();
}

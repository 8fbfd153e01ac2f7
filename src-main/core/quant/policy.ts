// Which type every tensor gets, in which order tensors are written, and which metadata the output
// carries: the decisions of llama.cpp's llama_model_quantize (src/llama-quant.cpp of the reference
// build), made from the header alone. Pure and fast, so the advisor can predict exact file sizes.

import type { GgufHeader, GgufKv, GgufTensorInfo, GgufValue } from '../gguf/types.ts';
import { GgufValueType, isGgufArray } from '../gguf/types.ts';
import { ggufAlignment, ggufLayout } from '../gguf/writer.ts';
import { GgmlType, ggmlTypeByName, ggmlTypeInfo, ggmlTypeName } from '../gguf/ggml-types.ts';
import { errorMessage, quantfitError } from '../errors.ts';
import type { Message } from '../../../src-shared/message.ts';
import { msg } from '../../../src-shared/messages/index.ts';
import { type Ftype, LlamaFtype as F, LLAMA_FTYPE_GUESSED, parseFtype } from './ftypes.ts';

const T = GgmlType;

/** One `--override-kv KEY=TYPE:VALUE`, already parsed. */
export type KvOverride =
  | { key: string; type: 'int'; value: bigint }
  | { key: string; type: 'float'; value: number }
  | { key: string; type: 'bool'; value: boolean }
  | { key: string; type: 'str'; value: string };

/** One `--tensor-type REGEX=TYPE`: the first pattern found in a tensor's name decides its type. */
export interface TensorTypeOverride {
  /** An ECMAScript regular expression, searched for (not anchored) in the tensor name. */
  pattern: string;
  /** ggml type id. */
  type: number;
}

export interface QuantizeOptions {
  /** The llama-quantize type: a name (`Q4_K_M`, case-insensitive), a numeric id, or a parsed Ftype. */
  ftype: Ftype | string | number;
  /** --pure: every quantizable tensor gets the default type (no k-quant mixture). */
  pure?: boolean;
  /** --output-tensor-type (ggml type id). */
  outputTensorType?: number;
  /** --token-embedding-type (ggml type id). */
  tokenEmbeddingType?: number;
  /** --tensor-type, in command-line order. */
  tensorTypes?: readonly TensorTypeOverride[];
  /** --leave-output-tensor: output.weight keeps its type. */
  leaveOutputTensor?: boolean;
  /** --allow-requantize: quantized tensors may be dequantized and quantized again. */
  allowRequantize?: boolean;
  /** --override-kv, in command-line order. */
  overrideKv?: readonly KvOverride[];
  /** Importance matrix: per-column weights by tensor name (ne0 × experts floats). */
  imatrix?: ReadonlyMap<string, Float32Array>;
  /** Plan as if an importance matrix were given (for size predictions without loading one). */
  hasImatrix?: boolean;
}

export interface PlannedTensor {
  readonly name: string;
  readonly sourceType: number;
  readonly targetType: number;
  /** Output shape: ne0 first, trailing 1s dropped as ggml_n_dims does. */
  readonly shape: readonly number[];
  /** The input tensor (offset relative to the input's data section, byte size). */
  readonly source: GgufTensorInfo;
  /** Bytes of this tensor's data in the output (without padding). */
  readonly byteSize: number;
  /** Data offset in the output, relative to its data section. */
  readonly offset: number;
  /** True when the data is converted (target type differs from the source type); false: copied. */
  readonly quantize: boolean;
  /** The importance-matrix entry this tensor is quantized with, if any. */
  readonly imatrixName?: string;
}

export interface QuantPlan {
  readonly ftype: Ftype;
  /** The general.file_type written. */
  readonly fileType: number;
  /** Final output metadata, in order. */
  readonly kv: readonly GgufKv[];
  /** Output tensors, in output order. */
  readonly tensors: readonly PlannedTensor[];
  /** Alignment of the output data. */
  readonly alignment: number;
  /** Exact output file size in bytes. */
  readonly fileBytes: number;
  /** Bytes before the data section. */
  readonly headerBytes: number;
  /** Tensors whose shape forced a fallback type (llama.cpp's "required fallback quantization"). */
  readonly fallbacks: number;
  readonly inputDataBytes: number;
}

const GGML_QNT_VERSION = 2;

// ---------------------------------------------------------------------------------------------
// Option parsing shared by the CLI and the app (the forms llama-quantize accepts)

/** A ggml type by its ggml name, case-insensitively (`q4_K`, `Q8_0`, `f16`), or undefined. */
export function parseGgmlTypeName(name: string): number | undefined {
  return ggmlTypeByName(name)?.id;
}

/**
 * `REGEX=TYPE` as llama-quantize's --tensor-type parses it: split at the first '=', the pattern
 * lower-cased (tensor names are lower-case), the type a ggml type name.
 */
export function parseTensorTypeOption(text: string): TensorTypeOverride {
  const eq = text.indexOf('=');
  if (eq < 0) throw quantfitError('quant.tensorTypeMalformed', { text });
  if (eq === 0) throw quantfitError('quant.tensorTypeNoName', { text });
  const typeName = text.slice(eq + 1);
  if (typeName === '') throw quantfitError('quant.tensorTypeNoType', { text });
  const type = parseGgmlTypeName(typeName);
  if (type === undefined) throw quantfitError('quant.tensorTypeBadType', { type: typeName, text });
  return { pattern: text.slice(0, eq).toLowerCase(), type };
}

/** C atol: white space, a sign, decimal digits; 0 when there are none; clamped to int64. */
function atol(s: string): bigint {
  const m = /^[\t\n\v\f\r ]*([+-]?)(\d+)/.exec(s);
  if (!m) return 0n;
  let v = BigInt(m[2]!);
  if (m[1] === '-') v = -v;
  const max = (1n << 63n) - 1n;
  const min = -(1n << 63n);
  return v > max ? max : v < min ? min : v;
}

/** C atof (strtod): decimal and hexadecimal floats, inf/infinity, nan; 0 when nothing parses. */
function atof(s: string): number {
  const t = s.replace(/^[\t\n\v\f\r ]+/, '');
  const special = /^([+-]?)(inf(inity)?|nan)/i.exec(t);
  if (special) {
    const neg = special[1] === '-';
    if (/^nan/i.test(special[2]!)) return NaN;
    return neg ? -Infinity : Infinity;
  }
  const hex = /^([+-]?)0x([0-9a-f]*)(?:\.([0-9a-f]*))?(?:p([+-]?\d+))?/i.exec(t);
  if (hex && (hex[2]! + (hex[3] ?? '')).length > 0) {
    const digits = hex[2]! + (hex[3] ?? '');
    let mant = 0;
    for (const d of digits) mant = mant * 16 + parseInt(d, 16);
    const exp = (hex[4] ? Number(hex[4]) : 0) - 4 * (hex[3] ?? '').length;
    const v = mant * 2 ** exp;
    return hex[1] === '-' ? -v : v;
  }
  const m = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?/i.exec(t);
  return m ? Number(m[0]) : 0;
}

/** `KEY=TYPE:VALUE` with TYPE int, float, bool or str, as llama.cpp's string_parse_kv_override reads it. */
export function parseKvOverride(text: string): KvOverride {
  const eq = text.indexOf('=');
  if (eq < 0) throw quantfitError('quant.kvMalformed', { text });
  if (Buffer.byteLength(text.slice(0, eq)) >= 128) throw quantfitError('quant.kvKeyTooLong', { text });
  const key = text.slice(0, eq);
  if (key === '') throw quantfitError('quant.kvEmptyKey', { text });
  const rest = text.slice(eq + 1);
  if (rest.startsWith('int:')) return { key, type: 'int', value: atol(rest.slice(4)) };
  if (rest.startsWith('float:')) return { key, type: 'float', value: atof(rest.slice(6)) };
  if (rest.startsWith('bool:')) {
    const v = rest.slice(5);
    if (v === 'true') return { key, type: 'bool', value: true };
    if (v === 'false') return { key, type: 'bool', value: false };
    throw quantfitError('quant.kvBadBool', { text });
  }
  if (rest.startsWith('str:')) {
    const v = rest.slice(4);
    if (Buffer.byteLength(v) > 127) throw quantfitError('quant.kvValueTooLong', { text });
    return { key, type: 'str', value: v };
  }
  throw quantfitError('quant.kvBadType', { text });
}

/** The metadata entry an override writes: ints as u32 of |value| (llama.cpp, PR 14182), floats as f32. */
function overrideToKv(o: KvOverride): GgufKv {
  switch (o.type) {
    case 'int': {
      const abs = o.value < 0n ? -o.value : o.value;
      return { key: o.key, type: GgufValueType.UINT32, value: Number(abs & 0xffffffffn) };
    }
    case 'float':
      return { key: o.key, type: GgufValueType.FLOAT32, value: Math.fround(o.value) };
    case 'bool':
      return { key: o.key, type: GgufValueType.BOOL, value: o.value };
    case 'str':
      return { key: o.key, type: GgufValueType.STRING, value: o.value };
  }
}

// ---------------------------------------------------------------------------------------------
// Tensor order: llama_model_loader's weights_map comparer

const utf8 = new TextEncoder();

/** sscanf(name, "blk.%d.") as the comparer uses it: the layer number, or -1. */
function layerOf(name: string): number {
  const m = /^blk\.[\t\n\v\f\r ]*([+-]?\d+)/.exec(name);
  if (!m) return -1;
  // %d into an int: glibc wraps nothing here; names with absurd numbers are not worth a special case.
  return Number(m[1]);
}

/** Byte-wise comparison, as std::string's operator< compares. */
function compareBytes(a: string, b: string): number {
  // ASCII names compare the same as UTF-16 strings; only non-ASCII names need the byte view.
  if (/^[\x00-\x7f]*$/.test(a) && /^[\x00-\x7f]*$/.test(b)) return a < b ? -1 : a > b ? 1 : 0;
  const x = utf8.encode(a);
  const y = utf8.encode(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

/** Output order: by layer number (non-layer tensors first), then by name. */
export function compareTensorNames(a: string, b: string): number {
  const la = layerOf(a);
  const lb = layerOf(b);
  if (la !== lb) return la - lb;
  return compareBytes(a, b);
}

// ---------------------------------------------------------------------------------------------
// Model hyper-parameters the selection looks at, read as llama.cpp's loader reads them

interface Hparams {
  arch: string;
  nLayerAll: number;
  nExpert: number;
  /** n_head / n_head_kv of layer 0 (0 when n_head_kv is 0). */
  nGqa: number;
  is70B: boolean;
}

/** llama.cpp's model-size guesses that matter here: only LLM_TYPE_70B changes a type. */
const SEVENTY_B: ReadonlyArray<{ arch: string; nLayer: number; needsGqa: boolean }> = [
  { arch: 'llama', nLayer: 80, needsGqa: true },
  { arch: 'qwen2', nLayer: 80, needsGqa: false },
  { arch: 'deci', nLayer: 80, needsGqa: false },
  { arch: 'olmo', nLayer: 80, needsGqa: false },
  { arch: 'jais2', nLayer: 68, needsGqa: false },
];

function kvFind(h: GgufHeader, key: string): GgufKv | undefined {
  return h.kv.find((k) => k.key === key);
}

function asNumber(v: GgufValue): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  return undefined;
}

function readHparams(h: GgufHeader, overrides: ReadonlyMap<string, KvOverride>): Hparams {
  const archOverride = overrides.get('general.architecture');
  const archKv = kvFind(h, 'general.architecture');
  const arch = archOverride?.type === 'str' ? archOverride.value : typeof archKv?.value === 'string' ? archKv.value : '';
  if (arch === '') throw quantfitError('quant.noArchitecture', {}, { file: h.path, key: 'general.architecture' });

  // get_key: an int override wins (even for a key the file lacks), then the file's value.
  const u32 = (key: string): number | undefined => {
    const o = overrides.get(key);
    if (o?.type === 'int') return Number(BigInt.asUintN(32, o.value));
    const kv = kvFind(h, key);
    return kv === undefined ? undefined : asNumber(kv.value);
  };
  // get_key_or_arr: the key must be in the file; an array gives its elements, a scalar goes through get_key.
  const firstOfKeyOrArr = (key: string): number | undefined => {
    const kv = kvFind(h, key);
    if (kv === undefined) return undefined;
    if (isGgufArray(kv.value)) {
      const first = kv.value.items[0];
      return first === undefined ? undefined : asNumber(first);
    }
    return u32(key);
  };

  const nLayerAll = u32(`${arch}.block_count`);
  if (nLayerAll === undefined) throw quantfitError('quant.keyNotFound', { key: `${arch}.block_count` }, { file: h.path, key: `${arch}.block_count` });
  const nLayerNextn = u32(`${arch}.nextn_predict_layers`) ?? 0;
  const nExpert = u32(`${arch}.expert_count`) ?? 0;
  const nHead = firstOfKeyOrArr(`${arch}.attention.head_count`) ?? 0;
  const nHeadKv = firstOfKeyOrArr(`${arch}.attention.head_count_kv`) ?? nHead;
  const nGqa = nHeadKv === 0 ? 0 : Math.floor(nHead / nHeadKv);
  const nLayer = nLayerAll - nLayerNextn;
  const is70B = SEVENTY_B.some((r) => r.arch === arch && r.nLayer === nLayer && (!r.needsGqa || nHead !== nHeadKv));
  return { arch, nLayerAll, nExpert, nGqa, is70B };
}

// ---------------------------------------------------------------------------------------------
// Which tensors may be quantized (tensor_allows_quantization)

/** Name fragments that keep a tensor in its own type wherever they occur. */
const NEVER_QUANTIZED_FRAGMENTS: readonly string[] = [
  '_norm.weight',
  'ffn_gate_inp.weight', // MoE router
  'ffn_gate_tid2eid.weight', // DeepSeek-V4 token → expert table
  'altup', 'laurel', 'per_layer_model_proj', // small Gemma-3n tensors
  'ssm_conv1d', 'shortconv.conv.weight',
  'indexer.k_proj.weight', 'indexer.q_proj.weight',
  'time_mix_first.weight', 'time_mix_w0.weight', 'time_mix_w1.weight', 'time_mix_w2.weight',
  'time_mix_v0.weight', 'time_mix_v1.weight', 'time_mix_v2.weight', 'time_mix_a0.weight',
  'time_mix_a1.weight', 'time_mix_a2.weight', 'time_mix_g1.weight', 'time_mix_g2.weight',
  'time_mix_decay_w1.weight', 'time_mix_decay_w2.weight', 'time_mix_lerp_fused.weight',
  'attn_rel_b.weight',
  '.position_embd', 'sam.pos_embd', 'sam.neck.', 'sam.net_', '.rel_pos', '.patch_embd', '.patch_merger',
  'a.rvq.codebook', 'mm.a.code_embd',
];
/** Whole names never quantized (positional embeddings and BERT token types). */
const NEVER_QUANTIZED_NAMES: readonly string[] = ['position_embd.weight', 'token_types.weight'];

/** ggml_n_dims: dimensions up to the last one that is not 1 (at least 1). */
function nDims(shape: readonly number[]): number {
  let n = shape.length;
  while (n > 1 && shape[n - 1] === 1) n--;
  return Math.max(1, n);
}

/** The part of tensor_allows_quantization that depends on the tensor alone (not on the options). */
function tensorMayBeQuantized(name: string, shape: readonly number[]): boolean {
  if (nDims(shape) < 2) return false;
  // llama.cpp tests `rfind("weight") == size - 6`; for a 5-byte name both sides are npos, so such
  // names count as weights too.
  if (!name.endsWith('weight') && Buffer.byteLength(name) !== 5) return false;
  if (NEVER_QUANTIZED_FRAGMENTS.some((f) => name.includes(f))) return false;
  return !NEVER_QUANTIZED_NAMES.includes(name);
}

// ---------------------------------------------------------------------------------------------
// Type selection (llama_tensor_get_type and its _impl)

const enum Cat { TokenEmbd, AttnQ, AttnV, AttnK, AttnQkv, AttnKvB, AttnOutput, FfnUp, FfnGate, FfnDown, Output, Other }

function categoryOf(name: string): Cat {
  if (name === 'output.weight') return Cat.Output;
  if (isTokenEmbd(name)) return Cat.TokenEmbd;
  if (name.includes('attn_qkv.weight')) return Cat.AttnQkv;
  if (name.includes('attn_kv_b.weight')) return Cat.AttnKvB;
  if (name.includes('attn_v.weight')) return Cat.AttnV;
  if (name.includes('attn_k.weight')) return Cat.AttnK;
  if (name.includes('attn_q.weight')) return Cat.AttnQ;
  if (name.includes('attn_output.weight')) return Cat.AttnOutput;
  if (name.includes('ffn_up')) return Cat.FfnUp;
  if (name.includes('ffn_gate')) return Cat.FfnGate;
  if (name.includes('ffn_down')) return Cat.FfnDown;
  return Cat.Other;
}

function isTokenEmbd(name: string): boolean {
  return name === 'token_embd.weight' || name === 'per_layer_token_embd.weight';
}

const isAttnVLike = (c: Cat): boolean => c === Cat.AttnV || c === Cat.AttnQkv || c === Cat.AttnKvB;

/** The running state llama.cpp keeps while it walks the tensors in output order. */
interface SelectionState {
  readonly hp: Hparams;
  readonly ftype: number;
  readonly hasImatrix: boolean;
  readonly tiedEmbeddings: boolean;
  readonly outputTensorType?: number;
  readonly nAttentionWv: number;
  iAttentionWv: number;
  iFfnDown: number;
  iFfnGate: number;
  iFfnUp: number;
  fallbacks: number;
}

const useMoreBits = (i: number, n: number): boolean =>
  i < Math.trunc(n / 8) || i >= Math.trunc((7 * n) / 8) || (i - Math.trunc(n / 8)) % 3 === 2;

const blockSize = (type: number): number => ggmlTypeInfo(type)?.blockSize ?? 1;

/** The layer an FFN tensor belongs to: the running counter, or for MoE models the number in its name. */
function layerInfo(st: SelectionState, counter: number, name: string): [number, number] {
  const n = st.hp.nLayerAll;
  if (Math.max(1, st.hp.nExpert) > 1) {
    const m = /^blk\.[\t\n\v\f\r ]*([+-]?\d+)/.exec(name);
    if (!m) throw quantfitError('quant.noLayer', { name }, { tensor: name });
    const layer = Number(m[1]);
    if (layer < 0 || layer >= n) throw quantfitError('quant.badLayer', { layer, name, count: n }, { tensor: name });
    return [layer, n];
  }
  return [counter, n];
}

/** ftype is one of ids. (Module-level: a closure made per tensor showed in profiles.) */
function oneOf(ftype: number, ...ids: number[]): boolean {
  return ids.includes(ftype);
}

function selectTypeImpl(st: SelectionState, newType: number, name: string, shape: readonly number[], cat: Cat): number {
  const { hp, ftype } = st;
  const falcon = hp.arch === 'falcon';

  if (cat === Cat.Output || (st.tiedEmbeddings && cat === Cat.TokenEmbd)) {
    if (st.outputTensorType !== undefined) return st.outputTensorType;
    if (ftype === F.MOSTLY_MXFP4_MOE) return T.Q8_0;
    if (falcon || shape[0]! % blockSize(newType) !== 0) return T.Q8_0;
    if (oneOf(ftype, F.MOSTLY_IQ2_XXS, F.MOSTLY_IQ2_XS, F.MOSTLY_IQ3_XXS, F.MOSTLY_IQ1_S, F.MOSTLY_IQ2_S, F.MOSTLY_IQ2_M, F.MOSTLY_IQ1_M)) return T.Q5_K;
    return newType !== T.Q8_0 ? T.Q6_K : newType;
  }
  if (ftype === F.MOSTLY_MXFP4_MOE) {
    // MoE expert tensors (3-D) get MXFP4; for BailingMoE3 only the FFN experts (its MLA tensors are 3-D too).
    const ffn = cat === Cat.FfnUp || cat === Cat.FfnGate || cat === Cat.FfnDown;
    return (shape[2] ?? 1) > 1 && (hp.arch !== 'bailingmoe3' || ffn) ? T.MXFP4 : T.Q8_0;
  }
  if (cat === Cat.TokenEmbd) {
    // Only reached with untied embeddings and no --token-embedding-type.
    if (oneOf(ftype, F.MOSTLY_IQ2_XXS, F.MOSTLY_IQ2_XS, F.MOSTLY_IQ1_S, F.MOSTLY_IQ1_M)) return T.Q2_K;
    if (oneOf(ftype, F.MOSTLY_IQ2_S, F.MOSTLY_IQ2_M, F.MOSTLY_IQ3_XXS)) return T.IQ3_S;
    if (oneOf(ftype, F.MOSTLY_TQ1_0, F.MOSTLY_TQ2_0, F.MOSTLY_Q2_0)) return T.Q4_K;
    return newType;
  }
  if (oneOf(ftype, F.MOSTLY_IQ2_XXS, F.MOSTLY_IQ2_XS, F.MOSTLY_IQ1_S, F.MOSTLY_IQ2_S, F.MOSTLY_IQ2_M, F.MOSTLY_IQ1_M)) {
    const iq2sm = oneOf(ftype, F.MOSTLY_IQ2_S, F.MOSTLY_IQ2_M);
    if (isAttnVLike(cat)) {
      newType = hp.nGqa >= 4 || hp.nExpert >= 4 ? T.Q4_K : iq2sm ? T.IQ3_S : T.Q2_K;
      st.iAttentionWv++;
    } else if (hp.nExpert === 8 && cat === Cat.AttnK) {
      newType = T.Q4_K;
    } else if (cat === Cat.FfnDown) {
      if (st.iFfnDown < Math.trunc(hp.nLayerAll / 8)) newType = iq2sm ? T.IQ3_S : T.Q2_K;
      st.iFfnDown++;
    } else if (cat === Cat.AttnOutput) {
      if (hp.nExpert === 8) newType = T.Q5_K;
      else if (oneOf(ftype, F.MOSTLY_IQ1_S, F.MOSTLY_IQ1_M)) newType = T.IQ2_XXS;
      else if (iq2sm) newType = T.IQ3_S;
    }
    return newType;
  }
  if (isAttnVLike(cat)) {
    const i = st.iAttentionWv;
    if (ftype === F.MOSTLY_Q2_K) newType = hp.nGqa >= 4 ? T.Q4_K : T.Q3_K;
    else if (ftype === F.MOSTLY_Q2_K_S && hp.nGqa >= 4) newType = T.Q4_K;
    else if (ftype === F.MOSTLY_IQ3_XXS) newType = hp.nGqa >= 4 ? T.Q4_K : !st.hasImatrix ? T.IQ3_S : T.IQ3_XXS;
    else if (oneOf(ftype, F.MOSTLY_IQ3_XS, F.MOSTLY_IQ3_S) && hp.nGqa >= 4) newType = T.Q4_K;
    else if (ftype === F.MOSTLY_IQ3_M) newType = T.Q4_K;
    else if (ftype === F.MOSTLY_Q3_K_M) newType = i < 2 ? T.Q5_K : T.Q4_K;
    else if (ftype === F.MOSTLY_Q3_K_L) newType = T.Q5_K;
    else if (oneOf(ftype, F.MOSTLY_IQ4_NL, F.MOSTLY_IQ4_XS) && hp.nGqa >= 4) newType = T.Q5_K;
    else if (oneOf(ftype, F.MOSTLY_Q4_K_M, F.MOSTLY_Q5_K_M) && useMoreBits(i, st.nAttentionWv)) newType = T.Q6_K;
    else if (ftype === F.MOSTLY_Q4_K_S && i < 4) newType = T.Q5_K;
    // 70B: attn_v is 8× smaller than attn_q, so more bits cost little.
    if (hp.is70B && (newType === T.Q3_K || newType === T.Q4_K)) newType = T.Q5_K;
    if (hp.nExpert === 8) newType = T.Q8_0;
    st.iAttentionWv++;
    return newType;
  }
  if (cat === Cat.AttnK) {
    if (hp.nExpert === 8) return T.Q8_0;
    if (ftype === F.MOSTLY_IQ3_XS) return T.IQ3_XXS;
    if (ftype === F.MOSTLY_IQ3_XXS) return T.IQ2_S;
    return newType;
  }
  if (cat === Cat.AttnQ) {
    if (ftype === F.MOSTLY_IQ3_XS) return T.IQ3_XXS;
    if (ftype === F.MOSTLY_IQ3_XXS) return T.IQ2_S;
    return newType;
  }
  if (cat === Cat.FfnDown) {
    const [i, n] = layerInfo(st, st.iFfnDown, name);
    const n8 = Math.trunc(n / 8);
    const n16 = Math.trunc(n / 16);
    if (ftype === F.MOSTLY_Q2_K) newType = T.Q3_K;
    else if (ftype === F.MOSTLY_Q2_K_S) {
      if (i < n8) newType = T.Q4_K;
    } else if (ftype === F.MOSTLY_IQ3_XXS && !st.hasImatrix) newType = i < n8 ? T.Q4_K : T.Q3_K;
    else if (ftype === F.MOSTLY_Q3_K_M) newType = i < n16 ? T.Q5_K : !falcon || useMoreBits(i, n) ? T.Q4_K : T.Q3_K;
    else if (ftype === F.MOSTLY_IQ3_M && (i < n8 || (hp.nExpert === 8 && useMoreBits(i, n)))) newType = T.Q4_K;
    else if (ftype === F.MOSTLY_Q3_K_L) newType = falcon ? T.Q4_K : T.Q5_K;
    else if (ftype === F.MOSTLY_Q4_K_M) {
      if (falcon) newType = i < n16 ? T.Q6_K : useMoreBits(i, n) ? T.Q5_K : T.Q4_K;
      else if (useMoreBits(i, n)) newType = T.Q6_K;
    } else if (i < n8 && oneOf(ftype, F.MOSTLY_IQ4_NL, F.MOSTLY_IQ4_XS) && !st.hasImatrix) newType = T.Q5_K;
    else if (ftype === F.MOSTLY_Q5_K_M && useMoreBits(i, n)) newType = T.Q6_K;
    else if (ftype === F.MOSTLY_Q4_K_S && !falcon && i < n8) newType = T.Q5_K;
    else if (oneOf(ftype, F.MOSTLY_Q4_0, F.MOSTLY_Q5_0) && st.hasImatrix && i < n8) {
      // Only with an imatrix, so that plain Q4_0/Q5_0 stay what they always were.
      newType = ftype === F.MOSTLY_Q4_0 ? T.Q4_1 : T.Q5_1;
    }
    st.iFfnDown++;
    return newType;
  }
  if (cat === Cat.AttnOutput) {
    if (!falcon) {
      if (hp.nExpert === 8) {
        if (oneOf(ftype, F.MOSTLY_Q2_K, F.MOSTLY_IQ3_XS, F.MOSTLY_IQ3_XXS, F.MOSTLY_Q3_K_S, F.MOSTLY_Q3_K_M, F.MOSTLY_IQ4_NL,
          F.MOSTLY_Q4_K_S, F.MOSTLY_Q4_K_M, F.MOSTLY_IQ3_S, F.MOSTLY_IQ3_M, F.MOSTLY_IQ4_XS)) newType = T.Q5_K;
      } else if (ftype === F.MOSTLY_Q2_K) newType = T.Q3_K;
      else if (ftype === F.MOSTLY_IQ3_XXS) newType = T.IQ3_S;
      else if (ftype === F.MOSTLY_Q3_K_M) newType = T.Q4_K;
      else if (ftype === F.MOSTLY_Q3_K_L) newType = T.Q5_K;
      else if (ftype === F.MOSTLY_IQ3_M) newType = T.Q4_K;
    } else if (ftype === F.MOSTLY_Q3_K_L) newType = T.Q4_K;
    return newType;
  }
  // (attn_qkv is attn_v-like and was handled above, so llama.cpp's own attn_qkv branch never runs.)
  if (cat === Cat.FfnGate || cat === Cat.FfnUp) {
    const isGate = cat === Cat.FfnGate;
    const [i, n] = layerInfo(st, isGate ? st.iFfnGate : st.iFfnUp, name);
    if (ftype === F.MOSTLY_IQ3_XS && i >= Math.trunc(n / 8) && i < Math.trunc((7 * n) / 8)) newType = T.IQ3_XXS;
    if (isGate) st.iFfnGate++;
    else st.iFfnUp++;
    return newType;
  }
  return newType;
}

/** tensor_type_fallback: a type whose block fits the row length. */
function fallbackType(st: SelectionState, name: string, ncols: number, target: number): number {
  const qk = blockSize(target);
  if (ncols % qk === 0) return target;
  st.fallbacks++;
  let ret: number;
  switch (target) {
    case T.IQ1_S: case T.IQ1_M: case T.IQ2_XXS: case T.IQ2_XS: case T.IQ2_S: case T.IQ3_XXS: case T.IQ3_S: case T.IQ4_XS:
      ret = T.IQ4_NL; break;
    case T.Q2_0: case T.Q2_K: case T.Q3_K: case T.TQ1_0: case T.TQ2_0:
      ret = T.Q4_0; break;
    case T.Q4_K: ret = T.Q5_0; break;
    case T.Q5_K: ret = T.Q5_1; break;
    case T.Q6_K: ret = T.Q8_0; break;
    default:
      if (qk <= 32) { ret = target; break; }
      throw quantfitError('quant.noFallback', { type: ggmlTypeName(target), row: ncols }, { tensor: name });
  }
  if (ncols % blockSize(ret) !== 0) ret = T.F16;
  return ret;
}

// ---------------------------------------------------------------------------------------------
// What planning knows about a header's tensors before any option is looked at

/** The tensors in output order with what selection needs of each, none of it depending on the options. */
interface TensorFacts {
  /** The tensor list these facts were made from, copied: a hit must see the same tensors in the same places. */
  readonly source: readonly GgufTensorInfo[];
  /** weights_map order. */
  readonly ordered: readonly GgufTensorInfo[];
  /** By position in `ordered`. */
  readonly categories: readonly Cat[];
  readonly mayBeQuantized: readonly boolean[];
  /** Output shapes (trailing 1s dropped), by position in `ordered`. */
  readonly shapes: readonly (readonly number[])[];
  readonly nAttentionWv: number;
  readonly tiedEmbeddings: boolean;
}

/**
 * By tensor list (GgufHeader.tensors is readonly, and so are its entries): the advisor plans ~30
 * ftypes of one header, and sorting and classifying its tensors is most of what a plan costs once
 * the metadata sizes are known (see kvValueSize in gguf/encode.ts).
 */
const tensorFactsCache = new WeakMap<readonly GgufTensorInfo[], TensorFacts>();

function tensorFacts(tensors: readonly GgufTensorInfo[]): TensorFacts {
  const hit = tensorFactsCache.get(tensors);
  if (hit !== undefined && hit.source.length === tensors.length && hit.source.every((t, i) => t === tensors[i])) return hit;
  const ordered = [...tensors].sort((a, b) => compareTensorNames(a.name, b.name));
  const categories = ordered.map((t) => categoryOf(t.name));
  const facts: TensorFacts = {
    source: [...tensors],
    ordered,
    categories,
    mayBeQuantized: ordered.map((t) => tensorMayBeQuantized(t.name, t.shape)),
    shapes: ordered.map((t) => t.shape.slice(0, nDims(t.shape))),
    nAttentionWv: categories.filter(isAttnVLike).length,
    tiedEmbeddings: !ordered.some((t) => t.name === 'output.weight'),
  };
  tensorFactsCache.set(tensors, facts);
  return facts;
}

// ---------------------------------------------------------------------------------------------
// The plan

/** llama_model_loader's file-type guess (used by COPY): general.file_type, else the commonest tensor type. */
function loaderFileType(h: GgufHeader, ordered: readonly GgufTensorInfo[], overrides: ReadonlyMap<string, KvOverride>): number {
  const o = overrides.get('general.file_type');
  if (o?.type === 'int') return Number(BigInt.asUintN(32, o.value));
  const kv = kvFind(h, 'general.file_type');
  const fromKv = kv === undefined ? undefined : asNumber(kv.value);
  if (fromKv !== undefined) return fromKv >>> 0;
  const counts = new Map<number, number>();
  let max = 0;
  let typeMax: number = T.F32;
  for (const t of ordered) {
    const c = (counts.get(t.type) ?? 0) + 1;
    counts.set(t.type, c);
    if (max < c) { max = c; typeMax = t.type; }
  }
  const byType: Record<number, number> = {
    [T.F32]: F.ALL_F32, [T.F16]: F.MOSTLY_F16, [T.BF16]: F.MOSTLY_BF16, [T.Q4_0]: F.MOSTLY_Q4_0, [T.Q4_1]: F.MOSTLY_Q4_1,
    [T.Q5_0]: F.MOSTLY_Q5_0, [T.Q5_1]: F.MOSTLY_Q5_1, [T.Q8_0]: F.MOSTLY_Q8_0, [T.Q2_K]: F.MOSTLY_Q2_K,
    [T.Q3_K]: F.MOSTLY_Q3_K_M, [T.Q4_K]: F.MOSTLY_Q4_K_M, [T.Q5_K]: F.MOSTLY_Q5_K_M, [T.Q6_K]: F.MOSTLY_Q6_K,
    [T.TQ1_0]: F.MOSTLY_TQ1_0, [T.TQ2_0]: F.MOSTLY_TQ2_0, [T.IQ2_XXS]: F.MOSTLY_IQ2_XXS, [T.IQ2_XS]: F.MOSTLY_IQ2_XS,
    [T.IQ2_S]: F.MOSTLY_IQ2_S, [T.IQ3_XXS]: F.MOSTLY_IQ3_XXS, [T.IQ1_S]: F.MOSTLY_IQ1_S, [T.IQ1_M]: F.MOSTLY_IQ1_M,
    [T.IQ4_NL]: F.MOSTLY_IQ4_NL, [T.IQ4_XS]: F.MOSTLY_IQ4_XS, [T.IQ3_S]: F.MOSTLY_IQ3_S, [T.NVFP4]: F.MOSTLY_NVFP4,
    [T.Q1_0]: F.MOSTLY_Q1_0, [T.Q2_0]: F.MOSTLY_Q2_0,
  };
  return (byType[typeMax] ?? F.ALL_F32) | LLAMA_FTYPE_GUESSED;
}

/** tensor_requires_imatrix. */
function requiresImatrix(name: string, type: number, ftype: number): boolean {
  if (isTokenEmbd(name) || name === 'output.weight') return false;
  switch (type) {
    case T.IQ3_XXS: case T.IQ2_XXS: case T.IQ2_XS: case T.IQ2_S: case T.IQ1_M: case T.IQ1_S:
      return true;
    case T.Q2_K:
      return ftype === F.MOSTLY_Q2_K_S;
    default:
      return false;
  }
}

function checkTypeOption(value: number | undefined, option: Message): number | undefined {
  if (value === undefined) return undefined;
  if (!ggmlTypeInfo(value)) throw quantfitError('quant.unknownGgmlType', { option, type: ggmlTypeName(value) });
  return value;
}

function rowCount(shape: readonly number[]): number {
  let n = 1;
  for (let i = 1; i < shape.length; i++) n *= shape[i]!;
  return n;
}

/** ggml_nbytes of a (contiguous) tensor of this type and shape. */
export function tensorBytes(type: number, shape: readonly number[]): number {
  const info = ggmlTypeInfo(type);
  if (!info) throw quantfitError('quant.unknownTensorType', { type });
  return ((shape[0]! / info.blockSize) * info.typeSize) * rowCount(shape);
}

export function planQuantization(header: GgufHeader, options: QuantizeOptions): QuantPlan {
  const ftype = typeof options.ftype === 'object' ? options.ftype : parseFtype(options.ftype);
  const onlyCopy = ftype.onlyCopy === true;
  const defaultType = ftype.defaultType;
  const outputTensorType = checkTypeOption(options.outputTensorType, msg('quant.option.output'));
  const tokenEmbeddingType = checkTypeOption(options.tokenEmbeddingType, msg('quant.option.tokenEmbedding'));
  const overrides = options.overrideKv ?? [];
  const overrideMap = new Map<string, KvOverride>();
  for (const o of overrides) if (!overrideMap.has(o.key)) overrideMap.set(o.key, o); // the loader keeps the first

  const splitCount = kvFind(header, 'split.count');
  if (splitCount && (asNumber(splitCount.value) ?? 1) > 1) {
    throw quantfitError('quant.splitFile', {}, { file: header.path, key: 'split.count' });
  }

  const patterns = (options.tensorTypes ?? []).map((t) => {
    checkTypeOption(t.type, msg('quant.option.tensorType', { pattern: t.pattern }));
    try {
      return { re: new RegExp(t.pattern), type: t.type };
    } catch (err) {
      throw quantfitError('quant.badPattern', { pattern: t.pattern, error: errorMessage(err) });
    }
  });
  const imatrix = options.imatrix;
  for (const [name, values] of imatrix ?? []) {
    for (const v of values) {
      if (!Number.isFinite(v)) throw quantfitError('quant.imatrixNotFinite', { value: String(v), name });
    }
  }
  const hasImatrix = (imatrix !== undefined && imatrix.size > 0) || options.hasImatrix === true;

  const hp = readHparams(header, overrideMap);
  const facts = tensorFacts(header.tensors);
  const { ordered } = facts;
  const st: SelectionState = {
    hp, ftype: ftype.id, hasImatrix,
    tiedEmbeddings: facts.tiedEmbeddings,
    outputTensorType,
    nAttentionWv: facts.nAttentionWv,
    iAttentionWv: 0, iFfnDown: 0, iFfnGate: 0, iFfnUp: 0, fallbacks: 0,
  };
  const quantizeOutput = !options.leaveOutputTensor;
  const defaultIsQuantized = ggmlTypeInfo(defaultType)?.quantized === true;

  const selectType = (t: GgufTensorInfo, shape: readonly number[], cat: Cat): number => {
    if (tokenEmbeddingType !== undefined && cat === Cat.TokenEmbd) {
      // per_layer_token_embd is a large table of its own: an explicit --tensor-type naming it wins.
      const named = t.name === 'per_layer_token_embd.weight' && patterns.some((p) => p.re.test(t.name));
      if (!named) return tokenEmbeddingType;
    }
    if (outputTensorType !== undefined && cat === Cat.Output) return outputTensorType;
    let type = defaultType;
    if (!defaultIsQuantized) return type;
    let manual = false;
    for (const p of patterns) {
      if (p.re.test(t.name)) {
        type = p.type;
        manual = true;
        break;
      }
    }
    if (!manual && !options.pure) type = selectTypeImpl(st, type, t.name, shape, cat);
    return fallbackType(st, t.name, shape[0]!, type);
  };

  // Output offsets are known once every type is: filled in after the layout (one object per tensor).
  const out: Array<Omit<PlannedTensor, 'offset'> & { offset: number }> = [];
  for (const [i, t] of ordered.entries()) {
    const shape = facts.shapes[i]!;
    // tensor_allows_quantization: the options' part here, the tensor's own part computed once.
    const allowed = !onlyCopy && (quantizeOutput || t.name !== 'output.weight') && facts.mayBeQuantized[i]!;
    const targetType = allowed ? selectType(t, shape, facts.categories[i]!) : t.type;
    const convert = targetType !== t.type;
    if (convert) {
      const tinfo = ggmlTypeInfo(targetType);
      if (!tinfo || shape[0]! % tinfo.blockSize !== 0) {
        throw quantfitError('quant.rowNotStorable', { row: shape[0]!, type: ggmlTypeName(targetType), block: tinfo?.blockSize ?? '?' }, { tensor: t.name });
      }
      const sinfo = ggmlTypeInfo(t.type);
      if (sinfo?.quantized && !options.allowRequantize) {
        throw quantfitError('quant.alreadyQuantized', { from: ggmlTypeName(t.type), to: ggmlTypeName(targetType) }, { file: header.path, tensor: t.name });
      }
      if (!sinfo || (!sinfo.quantized && t.type !== T.F32 && t.type !== T.F16 && t.type !== T.BF16)) {
        throw quantfitError('quant.cannotConvert', { from: ggmlTypeName(t.type), to: ggmlTypeName(targetType) }, { file: header.path, tensor: t.name });
      }
    }
    const needsImatrix = allowed && requiresImatrix(t.name, targetType, ftype.id);
    let imatrixName: string | undefined;
    if (convert && imatrix !== undefined) {
      const entry = imatrix.get(t.name);
      const want = shape[0]! * (shape[2] ?? 1);
      if (entry !== undefined) {
        if (entry.length === want) imatrixName = t.name;
        else if (!isTokenEmbd(t.name)) {
          throw quantfitError('quant.imatrixSize', { have: entry.length, want }, { tensor: t.name });
        }
      }
    }
    // Checked before any data is written, as llama.cpp does: first "needs an imatrix at all", then
    // (for tensors actually converted) "has an entry for this tensor".
    if (needsImatrix && !hasImatrix) {
      throw quantfitError('quant.needsImatrix', { ftype: ftype.name, type: ggmlTypeName(targetType) }, { file: header.path, tensor: t.name });
    }
    if (needsImatrix && convert && imatrix !== undefined && imatrixName === undefined) {
      throw quantfitError('quant.imatrixMissingTensor', { type: ggmlTypeName(targetType) }, { tensor: t.name });
    }
    out.push({
      name: t.name, sourceType: t.type, targetType, shape, source: t,
      byteSize: convert ? tensorBytes(targetType, shape) : t.byteSize,
      quantize: convert, imatrixName, offset: 0,
    });
  }

  // Metadata: the input's keys in order, then the keys llama.cpp sets (each set moves its key to the end).
  const fileType = onlyCopy ? loaderFileType(header, ordered, overrideMap) : ftype.id;
  const kv: GgufKv[] = [...header.kv];
  const setKv = (entry: GgufKv): void => {
    removeKv(kv, entry.key);
    kv.push(entry);
  };
  setKv({ key: 'general.quantization_version', type: GgufValueType.UINT32, value: GGML_QNT_VERSION });
  setKv({ key: 'general.file_type', type: GgufValueType.UINT32, value: fileType >>> 0 });
  for (const key of ['split.no', 'split.count', 'split.tensors.count']) removeKv(kv, key);
  for (const o of overrides) setKv(overrideToKv(o));

  // llama.cpp lays its output out with 32 even when general.alignment says otherwise (a file it then
  // cannot read back); we follow the key, which is the same whenever the key is absent or 32.
  const alignment = ggufAlignment(kv, undefined, { file: header.path });
  const layout = ggufLayout(kv, out.map((t) => ({ name: t.name, type: t.targetType, shape: t.shape })), alignment);
  for (const [i, t] of out.entries()) t.offset = layout.offsets[i]!;
  const tensors: readonly PlannedTensor[] = out;
  return {
    ftype, fileType, kv, tensors, alignment,
    fileBytes: layout.totalBytes, headerBytes: layout.headerBytes, fallbacks: st.fallbacks,
    inputDataBytes: header.tensors.reduce((s, t) => s + t.byteSize, 0),
  };
}

function removeKv(kv: GgufKv[], key: string): void {
  const i = kv.findIndex((k) => k.key === key);
  if (i >= 0) kv.splice(i, 1);
}

/** Count of output tensors per target type name (`{ Q4_K: 193, F32: 65 }`). */
export function tensorTypeCounts(plan: QuantPlan): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const t of plan.tensors) {
    const name = ggmlTypeName(t.targetType);
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}

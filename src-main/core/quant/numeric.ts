// Shared numeric helpers for the quantization kernels. ggml computes in IEEE binary32 (no FMA) and
// rounds with several distinct rules; every helper here reproduces one of those rules bit for bit.
// Rule of thumb for callers: wrap every + - * / and sqrt of float operands in `fround` (computing in
// f64 and rounding once is exact for these operations), keep ggml's evaluation order, and use the
// rounding helper named after the C construct being reproduced. In hot loops bind what you use to
// module-local consts (`const { fp32ToFp16 } = numeric`): under tsx an imported name is a getter call
// on every use, which cost the kernels 2-4x.

export const fround = Math.fround;

// One scratch word for reinterpreting float32 bits; single-threaded JS makes module scope safe.
const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);
const I32 = new Int32Array(F32.buffer);

/** The IEEE binary32 bit pattern of `f` (after rounding it to float32), as an unsigned 32-bit number. */
export function f32Bits(f: number): number {
  F32[0] = f;
  return U32[0];
}

/** The float32 whose bit pattern is `bits`. */
export function f32FromBits(bits: number): number {
  U32[0] = bits >>> 0;
  return F32[0];
}

// ---------------------------------------------------------------------------------------------
// fp16

/**
 * fp32 → fp16 bits, equal to ggml_compute_fp32_to_fp16 (round to nearest even, subnormals kept,
 * |x| ≥ 65520 → ±inf, NaN → 0x7E00 with the sign kept, −0 → 0x8000). Integer-only formulation.
 */
export function fp32ToFp16(f: number): number {
  F32[0] = f;
  return fp16FromF32Bits(U32[0]);
}

/** fp16 bits from float32 bits (see fp32ToFp16); for callers that already hold the bits. */
export function fp16FromF32Bits(u: number): number {
  const sign = (u >>> 16) & 0x8000;
  const a = u & 0x7fffffff;
  if (a >= 0x38800000) {
    // fp16 normal range (≥ 2^-14) or beyond.
    if (a >= 0x477ff000) return sign | (a > 0x7f800000 ? 0x7e00 : 0x7c00);
    const v = a - 0x38000000; // rebias the exponent from 127 to 15
    return sign | ((v + 0xfff + ((v >>> 13) & 1)) >>> 13);
  }
  // fp16 subnormal (units of 2^-24) or zero: shift the full mantissa, round half to even.
  const e = a >>> 23;
  const shift = 126 - e;
  if (shift > 24) return sign;
  const m = (a & 0x7fffff) | 0x800000;
  let q = m >>> shift;
  const rem = m & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  if (rem > half || (rem === half && (q & 1) !== 0)) q++;
  return sign | q;
}

function fp16ToFp32Slow(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 31) return m === 0 ? sign * Infinity : NaN;
  return sign * (1024 + m) * 2 ** (e - 25);
}

/** fp16 bits → float32 value for all 65536 patterns, as ggml_compute_fp16_to_fp32 gives it (exact). */
export const FP16_TO_FP32: Float32Array = (() => {
  const t = new Float32Array(65536);
  const tu = new Uint32Array(t.buffer);
  for (let h = 0; h < 65536; h++) {
    if (((h >>> 10) & 0x1f) === 31 && (h & 0x3ff) !== 0) {
      // ggml's conversion passes NaNs through a float multiply: payload shifted up by 13, made quiet.
      tu[h] = (((h & 0x8000) << 16) | 0x7fc00000 | ((h & 0x3ff) << 13)) >>> 0;
    } else t[h] = fp16ToFp32Slow(h);
  }
  return t;
})();

/** fp16 bits → float32 (ggml_compute_fp16_to_fp32; exact). */
export function fp16ToFp32(h: number): number {
  return FP16_TO_FP32[h & 0xffff];
}

/** Round a float32 value through fp16 and back (what a stored fp16 scale reads back as). */
export function roundTripFp16(f: number): number {
  return FP16_TO_FP32[fp32ToFp16(f)];
}

// ---------------------------------------------------------------------------------------------
// bf16

/** fp32 → bf16 bits, equal to ggml_compute_fp32_to_bf16 (RNE; NaN forced quiet with `| 0x40`). */
export function fp32ToBf16(f: number): number {
  F32[0] = f;
  return bf16FromF32Bits(U32[0]);
}

/** bf16 bits from float32 bits (see fp32ToBf16). */
export function bf16FromF32Bits(u: number): number {
  if ((u & 0x7fffffff) > 0x7f800000) return ((u >>> 16) | 64) & 0xffff;
  // u is at most 0xFF800000 here, so the sum stays below 2^32 and `>>> 16` sees it unchanged.
  return (u + 0x7fff + ((u >>> 16) & 1)) >>> 16;
}

/** bf16 bits → float32 (exact). */
export function bf16ToFp32(h: number): number {
  U32[0] = (h & 0xffff) << 16;
  return F32[0];
}

// ---------------------------------------------------------------------------------------------
// Rounding rules

const MAGIC = 12582912; // 1.5 · 2^23

/**
 * ggml's nearest_int: `(bits(f + 1.5·2^23) & 0x7FFFFF) − 0x400000` with a float32 add. Rounds half
 * to even for |f| < 2^22; outside that range it returns ggml's (meaningless but deterministic) value.
 */
export function nearestInt(f: number): number {
  const v = fround(f + MAGIC);
  // In range the float sum is an integer in [2^23, 2^24) and its mantissa is v − 2^23.
  if (v >= 8388608 && v < 16777216) return v - MAGIC;
  F32[0] = v;
  return (I32[0] & 0x7fffff) - 0x400000;
}

/**
 * C roundf/lroundf: round half away from zero (JS Math.round is wrong for negative ties). For a float32
 * value this equals trunc(2f − trunc(f)), a branch-free form the kernels inline.
 */
export function roundHalfAway(f: number): number {
  return f >= 0 ? Math.floor(f + 0.5) : -Math.floor(0.5 - f);
}

/** C float→int cast: truncate toward zero (for values that fit in int32). */
export function truncToInt(f: number): number {
  return f < 0 ? Math.ceil(f) : Math.floor(f);
}

/**
 * `(int)f` as x86-64 compiles it (cvttss2si): truncation toward zero, and INT_MIN for NaN and for
 * values outside int32 (C leaves those undefined; ggml hits them when 1/d overflows to inf).
 * JS `f | 0` differs there: it wraps modulo 2^32 and maps NaN/±inf to 0.
 */
export function cvtToInt32(f: number): number {
  return f > -2147483649 && f < 2147483648 ? f | 0 : -2147483648;
}

/** (int8_t) cast of an integer: keep the low 8 bits, signed. */
export function wrapInt8(i: number): number {
  return (i << 24) >> 24;
}

/** (uint8_t) cast of an integer: keep the low 8 bits. */
export function wrapUint8(i: number): number {
  return i & 0xff;
}

// ---------------------------------------------------------------------------------------------
// Input checks

/** Index of the first NaN or ±Inf in `src`, or −1 when every value is finite. */
export function findNonFinite(src: Float32Array): number {
  const n = src.length;
  for (let i = 0; i < n; i++) {
    const v = src[i];
    // v − v is 0 for every finite v and NaN for NaN/±Inf.
    if (v - v !== 0) return i;
  }
  return -1;
}

// ---------------------------------------------------------------------------------------------
// Table search shared by several families (the scale searches live in scale-search.ts)

/** GROUP_MAX_EPS (1e-15f): groups whose largest |x| is below this quantize to all zeros. */
export const GROUP_MAX_EPS = fround(1e-15);

/**
 * best_index_int8: index of the entry of the ascending table `values` nearest to `x`; a value exactly
 * halfway between two entries goes to the upper one. The differences are float32 as in ggml.
 */
export function bestIndexInt8(n: number, values: Int8Array, x: number): number {
  if (x <= values[0]) return 0;
  if (x >= values[n - 1]) return n - 1;
  let ml = 0;
  let mu = n - 1;
  while (mu - ml > 1) {
    const mav = (ml + mu) >> 1;
    if (x < values[mav]) mu = mav;
    else ml = mav;
  }
  return fround(x - values[mu - 1]) < fround(values[mu] - x) ? mu - 1 : mu;
}

// ---------------------------------------------------------------------------------------------
// Little-endian byte helpers for block fields (dst may sit at any byte offset)

/** Store a 16-bit value little-endian at dst[o], dst[o+1]. */
export function putU16(dst: Uint8Array, o: number, v: number): void {
  dst[o] = v & 0xff;
  dst[o + 1] = (v >>> 8) & 0xff;
}

/** Read a little-endian 16-bit value at src[o]. */
export function getU16(src: Uint8Array, o: number): number {
  return src[o] | (src[o + 1] << 8);
}

/** Store a 32-bit value little-endian at dst[o..o+3]. */
export function putU32(dst: Uint8Array, o: number, v: number): void {
  dst[o] = v & 0xff;
  dst[o + 1] = (v >>> 8) & 0xff;
  dst[o + 2] = (v >>> 16) & 0xff;
  dst[o + 3] = (v >>> 24) & 0xff;
}

/** Read a little-endian unsigned 32-bit value at src[o]. */
export function getU32(src: Uint8Array, o: number): number {
  return (src[o] | (src[o + 1] << 8) | (src[o + 2] << 16) | (src[o + 3] << 24)) >>> 0;
}

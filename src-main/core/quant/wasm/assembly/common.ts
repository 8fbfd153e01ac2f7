// Shared numerics for the WebAssembly kernels. Every f32 operation in wasm is one IEEE binary32
// operation (no FMA contraction, no excess precision), so writing ggml's expressions in its order
// gives its bits. SIMD helpers work lane by lane and are exact per lane.

export const QK_K: i32 = 256;
export const GROUP_MAX_EPS: f32 = <f32>1e-15;
const MAGIC: f32 = 12582912.0; // 1.5 · 2^23, ggml's nearest_int constant

/** ggml's nearest_int: bits of (f + 1.5·2^23), low 23 bits, minus 2^22. */
// @ts-ignore: decorator
@inline export function nearestInt(f: f32): i32 {
  return (reinterpret<i32>(f + MAGIC) & 0x7fffff) - 0x400000;
}

/** nearest_int on four lanes. */
// @ts-ignore: decorator
@inline export function nearestIntV(v: v128): v128 {
  return i32x4.sub(v128.and(f32x4.add(v, f32x4.splat(MAGIC)), i32x4.splat(0x7fffff)), i32x4.splat(0x400000));
}

/** max(lo, min(hi, l)) on i32 lanes. */
// @ts-ignore: decorator
@inline export function clampV(l: v128, lo: i32, hi: i32): v128 {
  return i32x4.max_s(i32x4.min_s(l, i32x4.splat(hi)), i32x4.splat(lo));
}

/** `(int)f` as x86-64 compiles it: truncation, INT_MIN for NaN and out-of-range values. */
export function cvtToInt32(f: f32): i32 {
  const d = <f64>f;
  return d > -2147483649.0 && d < 2147483648.0 ? <i32>d : i32.MIN_VALUE;
}

/** ggml_compute_fp32_to_fp16: round to nearest even, subnormals kept, overflow to inf, NaN quiet. */
export function fp32ToFp16(f: f32): u32 {
  const u = reinterpret<u32>(f);
  const sign = (u >> 16) & 0x8000;
  const a = u & 0x7fffffff;
  if (a >= 0x38800000) {
    if (a >= 0x477ff000) return sign | (a > 0x7f800000 ? 0x7e00 : 0x7c00);
    const v = a - 0x38000000; // rebias the exponent from 127 to 15
    return sign | ((v + 0xfff + ((v >> 13) & 1)) >> 13);
  }
  const e = a >> 23;
  const shift = 126 - <i32>e;
  if (shift > 24) return sign;
  const m = (a & 0x7fffff) | 0x800000;
  let q = m >> <u32>shift;
  const rem = m & ((1 << <u32>shift) - 1);
  const half: u32 = 1 << <u32>(shift - 1);
  if (rem > half || (rem == half && (q & 1) != 0)) q++;
  return sign | q;
}

/** ggml_compute_fp16_to_fp32 (exact; NaN payload shifted up and made quiet). */
export function fp16ToFp32(h: u32): f32 {
  const sign = (h & 0x8000) << 16;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e == 0) {
    const v = <f32>m * <f32>5.9604644775390625e-8; // m · 2^-24, exact
    return sign != 0 ? -v : v;
  }
  if (e == 31) return reinterpret<f32>(sign | (m == 0 ? 0x7f800000 : 0x7fc00000 | (m << 13)));
  return reinterpret<f32>(sign | ((e + 112) << 23) | (m << 13));
}

// @ts-ignore: decorator
@inline export function storeF16(p: usize, f: f32): void {
  store<u16>(p, <u16>fp32ToFp16(f));
}

// @ts-ignore: decorator
@inline export function loadF16(p: usize): f32 {
  return fp16ToFp32(<u32>load<u16>(p));
}

/**
 * Four lanes from four sources: row i of the result holds (a[i], b[i], c[i], d[i]) for i < n, at
 * dst + 16·i. The SIMD searches run four independent groups side by side this way.
 */
export function gather4(dst: usize, a: usize, b: usize, c: usize, d: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    let v = v128.load32_zero(a + o);
    v = v128.load32_lane(b + o, v, 1);
    v = v128.load32_lane(c + o, v, 2);
    v = v128.load32_lane(d + o, v, 3);
    v128.store(dst + (<usize>i << 4), v);
  }
}

/** The inverse for i32 lanes narrowed to bytes: lane k of row i goes to outK[i]. */
export function scatter4Bytes(src: usize, a: usize, b: usize, c: usize, d: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const v = v128.load(src + (<usize>i << 4));
    store<u8>(a + i, <u8>i32x4.extract_lane(v, 0));
    store<u8>(b + i, <u8>i32x4.extract_lane(v, 1));
    store<u8>(c + i, <u8>i32x4.extract_lane(v, 2));
    store<u8>(d + i, <u8>i32x4.extract_lane(v, 3));
  }
}

/** Σ x² over n values in order (float32). */
export function sumSquares(x: usize, n: i32): f32 {
  let s: f32 = 0;
  for (let i = 0; i < n; i++) {
    const v = load<f32>(x + (<usize>i << 2));
    s += v * v;
  }
  return s;
}

/** F16 → F32 for n values (exact, ggml_fp16_to_fp32_row). */
export function f16RowToF32(src: usize, dst: usize, n: i32): void {
  // Normal and subnormal halves: shift into float32 position and scale by 2^112 (exact). Inf/NaN
  // (exponent 31) get the float32 all-ones exponent, NaN made quiet as ggml's conversion does.
  const scale = f32x4.splat(<f32>5.192296858534828e33); // 2^112
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const h = v128.load(src + (<usize>i << 1));
    const lo = i32x4.extend_low_i16x8_u(h);
    const hi = i32x4.extend_high_i16x8_u(h);
    v128.store(dst + (<usize>i << 2), half4(lo, scale));
    v128.store(dst + (<usize>i << 2) + 16, half4(hi, scale));
  }
  for (; i < n; i++) store<f32>(dst + (<usize>i << 2), fp16ToFp32(<u32>load<u16>(src + (<usize>i << 1))));
}

// @ts-ignore: decorator
@inline function half4(h: v128, scale: v128): v128 {
  const sign = i32x4.shl(v128.and(h, i32x4.splat(0x8000)), 16);
  const mag = v128.and(h, i32x4.splat(0x7fff));
  const finite = f32x4.mul(i32x4.shl(mag, 13), scale);
  const special = i32x4.ge_s(mag, i32x4.splat(0x7c00));
  const m = v128.and(h, i32x4.splat(0x3ff));
  const nanBits = v128.or(i32x4.splat(0x7fc00000), i32x4.shl(m, 13));
  const infNan = v128.bitselect(i32x4.splat(0x7f800000), nanBits, i32x4.eq(m, i32x4.splat(0)));
  return v128.or(sign, v128.bitselect(infNan, finite, special));
}

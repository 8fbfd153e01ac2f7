// The reference library's per-type conversion functions, from ggml_get_type_traits(type): to_float
// (what ggml dequantizes with) and from_float_ref (the reference quantizer of a row), called through
// koffi. For tests only; needs a loaded oracle (test/support/oracle.ts).

import type * as KoffiNs from 'koffi';
import type { Oracle } from './oracle.ts';

export interface GgmlTraits {
  /** ggml's type name for the id (`q4_0`). */
  typeName(type: number): string;
  /** to_float over `n` values of `q`, or undefined when the type has none (F32, Q8_1). */
  toFloat(type: number, q: Uint8Array, n: number): Float32Array | undefined;
  /** from_float_ref over all of `src` into `bytes` bytes, or undefined when the type has none. */
  fromFloatRef(type: number, src: Float32Array, bytes: number): Uint8Array | undefined;
}

interface TraitsRecord { type_name: string; to_float: unknown; from_float_ref: unknown }

let bound: GgmlTraits | undefined;

/** Binds once per process (koffi type and prototype names are process-global). */
export function ggmlTraits(oracle: Oracle): GgmlTraits {
  if (bound) return bound;
  const koffi = oracle.koffi as typeof KoffiNs;
  const base = oracle.ggmlBase as KoffiNs.LibraryHandle;
  const Traits = koffi.struct('qf_ggml_type_traits', {
    type_name: 'const char *', blck_size: 'int64_t', blck_size_interleave: 'int64_t', type_size: 'size_t',
    is_quantized: 'bool', to_float: 'void *', from_float_ref: 'void *',
  });
  const getTraits = base.func('ggml_get_type_traits', koffi.pointer(Traits), ['int']);
  const toFloatProto = koffi.proto('void qf_to_float_t(const uint8_t *x, _Out_ float *y, int64_t k)');
  const fromFloatProto = koffi.proto('void qf_from_float_t(const float *x, _Out_ uint8_t *y, int64_t k)');
  const traits = (type: number): TraitsRecord => koffi.decode(getTraits(type), Traits) as TraitsRecord;
  bound = {
    typeName: (type) => traits(type).type_name,
    toFloat(type, q, n) {
      const fn = traits(type).to_float;
      if (fn === null) return undefined;
      const y = new Float32Array(n);
      koffi.call(fn, toFloatProto, q, y, n);
      return y;
    },
    fromFloatRef(type, src, bytes) {
      const fn = traits(type).from_float_ref;
      if (fn === null) return undefined;
      const y = new Uint8Array(bytes);
      koffi.call(fn, fromFloatProto, src, y, src.length);
      return y;
    },
  };
  return bound;
}

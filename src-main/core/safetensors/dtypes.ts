// The safetensors dtype names (the format's own spelling) with their sizes. Data, not a switch: the
// header reader checks byte lengths against it, the converter picks what it can read from it.

export interface SafetensorsDtypeInfo {
  readonly name: string;
  /** Bits per element (F4 and F6 pack several elements per byte). */
  readonly bits: number;
  /** The converter reads these as floats; others are refused by name. */
  readonly float: boolean;
}

const dtype = (name: string, bits: number, float = false): SafetensorsDtypeInfo => ({ name, bits, float });

/** Every dtype the safetensors format defines (safetensors' `Dtype` enum). */
export const SAFETENSORS_DTYPES: ReadonlyMap<string, SafetensorsDtypeInfo> = new Map([
  dtype('BOOL', 8), dtype('U8', 8), dtype('I8', 8), dtype('U16', 16), dtype('I16', 16),
  dtype('U32', 32), dtype('I32', 32), dtype('U64', 64), dtype('I64', 64),
  dtype('F4', 4), dtype('F6_E2M3', 6), dtype('F6_E3M2', 6),
  dtype('F8_E5M2', 8), dtype('F8_E4M3', 8), dtype('F8_E8M0', 8),
  dtype('F16', 16, true), dtype('BF16', 16, true), dtype('F32', 32, true), dtype('F64', 64),
  dtype('C64', 64),
].map((d) => [d.name, d]));

/** The dtypes conversion reads (exactly, like torch's upcast to float32). */
export const CONVERTIBLE_DTYPES: readonly string[] = ['F32', 'F16', 'BF16'];

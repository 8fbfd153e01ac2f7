// Safetensors files for tests: valid ones laid out as the safetensors library writes them (8-byte
// length, JSON header padded with spaces to 8 bytes, data tiled in header order), and raw bytes
// for malformed ones.

export interface StTensor {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly data: Uint8Array;
}

/** A valid safetensors file holding `tensors` in the given order. */
export function encodeSafetensors(tensors: readonly StTensor[], metadata?: Record<string, string>): Buffer {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let at = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [at, at + t.data.length] };
    at += t.data.length;
  }
  return rawSafetensors(JSON.stringify(header), Buffer.concat(tensors.map((t) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.length))));
}

/** Length prefix + header text (space-padded to a multiple of 8) + data, with no checks at all. */
export function rawSafetensors(headerJson: string | Uint8Array, data: Uint8Array = new Uint8Array(0), lengthOverride?: bigint): Buffer {
  let json = typeof headerJson === 'string' ? Buffer.from(headerJson, 'utf8') : Buffer.from(headerJson);
  const pad = (8 - (json.length % 8)) % 8;
  if (typeof headerJson === 'string' && pad) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(lengthOverride ?? BigInt(json.length));
  return Buffer.concat([prefix, json, Buffer.from(data)]);
}

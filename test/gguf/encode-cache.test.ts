// The encoder remembers each array KV's checked size by KV object (planning ~30 ftypes of one model
// would otherwise re-measure a 100k-token vocabulary each time). These tests pin what that memo must
// not change: every size is what a fresh measurement (or an independent count) gives, whichever lists
// an entry was measured in before; a bad value is refused every time; an entry changed behind its
// readonly type is measured again.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeGgufHeader, ggufLayout } from '../../src-main/core/gguf/encode.ts';
import { GgufValueType as V, type GgufKv, type GgufValue } from '../../src-main/core/gguf/types.ts';
import { QuantfitError } from '../../src-main/core/errors.ts';

const utf8Length = (s: string) => new TextEncoder().encode(s).length;

/** Encoded size of a value, counted independently of the encoder. */
function expectedValueSize(type: number, value: GgufValue): number {
  switch (type) {
    case V.UINT8: case V.INT8: case V.BOOL: return 1;
    case V.UINT16: case V.INT16: return 2;
    case V.UINT32: case V.INT32: case V.FLOAT32: return 4;
    case V.UINT64: case V.INT64: case V.FLOAT64: return 8;
    case V.STRING: return 8 + utf8Length(value as string);
    case V.ARRAY: {
      const { elementType, items } = value as { elementType: number; items: readonly GgufValue[] };
      return 12 + items.reduce<number>((s, item) => s + expectedValueSize(elementType, item), 0);
    }
    default: throw new Error(`type ${type}`);
  }
}

/** Header bytes of a KV list without tensors: alignment 1 (general.alignment below), so no padding hides a difference. */
const expectedHeaderBytes = (kv: readonly GgufKv[]) => 24 + kv.reduce((s, e) => s + 8 + utf8Length(e.key) + 4 + expectedValueSize(e.type, e.value), 0);

const arr = (key: string, elementType: number, items: readonly GgufValue[]): GgufKv => ({ key, type: V.ARRAY, value: { elementType, items } });
const ALIGN1: GgufKv = { key: 'general.alignment', type: V.UINT32, value: 1 };

function caught(fn: () => unknown): QuantfitError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof QuantfitError, `expected a QuantfitError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected an error');
}

test('KV lists sharing entries each get exact sizes, whichever was measured first', () => {
  // Multi-byte UTF-8 (Ġ, CJK, an emoji's surrogate pair) so that byte and character counts differ.
  const tokens = arr('tokenizer.ggml.tokens', V.STRING, ['<s>', 'Ġthe', '日本語', '😀', 'a', '']);
  const scores = arr('tokenizer.ggml.scores', V.FLOAT32, [0, -1.5, -2, -3, -4, -5]);
  const types = arr('tokenizer.ggml.token_type', V.INT32, [3, 1, 1, 1, 1, 1]);
  const merges = arr('tokenizer.ggml.merges', V.STRING, ['Ġ t', 'h e', 'Ġt he', '日 本']);
  const nested = arr('x.nested', V.ARRAY, [
    { elementType: V.STRING, items: ['ab', 'Ġ'] },
    { elementType: V.UINT64, items: [1n, 2n, 3n] },
    { elementType: V.BOOL, items: [] },
  ]);
  const arch: GgufKv = { key: 'general.architecture', type: V.STRING, value: 'llama' };
  const lists: Record<string, readonly GgufKv[]> = {
    a: [ALIGN1, arch, tokens, scores],
    b: [ALIGN1, merges, tokens, nested],
    c: [ALIGN1, tokens, merges, scores, types, arch],
    d: [ALIGN1, nested, types],
  };
  for (const name of ['a', 'b', 'c', 'a', 'd', 'c', 'b', 'd']) {
    const kv = lists[name]!;
    const expected = expectedHeaderBytes(kv);
    assert.equal(ggufLayout(kv, []).headerBytes, expected, `list ${name}`);
    // Fresh objects, equal content: nothing remembered applies to them.
    assert.equal(ggufLayout(structuredClone(kv), []).headerBytes, expected, `list ${name}, copied`);
    // The encoder writes exactly that many bytes (a size too small would overflow its buffer).
    const encoded = encodeGgufHeader(kv, []);
    assert.equal(encoded.bytes.length, expected);
    assert.deepEqual(encoded.bytes, encodeGgufHeader(structuredClone(kv), []).bytes, `list ${name}: same bytes as from a copy`);
  }
});

test('a measured entry does not stand in for another entry with the same key', () => {
  const good = arr('tokenizer.ggml.tokens', V.STRING, ['a', 'b']);
  const longer = arr('tokenizer.ggml.tokens', V.STRING, ['a', 'bbbb']);
  const bad = arr('tokenizer.ggml.tokens', V.STRING, ['a', '\uD800']);
  const base = ggufLayout([ALIGN1, good], []).headerBytes;
  assert.equal(ggufLayout([ALIGN1, longer], []).headerBytes, base + 3);
  const err = caught(() => ggufLayout([ALIGN1, bad], []));
  assert.match(err.message, /lone UTF-16 surrogate/);
  assert.equal(err.location.key, 'tokenizer.ggml.tokens');
});

test('a bad value is refused every time; list-level checks still run for a measured entry', () => {
  const bad = arr('tokenizer.ggml.token_type', V.INT32, [1, 2, 2 ** 31]);
  for (let i = 0; i < 2; i++) assert.match(caught(() => ggufLayout([bad], [])).message, /does not fit type i32/);
  const good = arr('tokenizer.ggml.tokens', V.STRING, ['a']);
  ggufLayout([good], []);
  assert.match(caught(() => ggufLayout([good, good], [])).message, /duplicate key/);
  // The alignment is read from the list it is in, not from where an entry was measured before.
  assert.equal(ggufLayout([ALIGN1, good], []).headerBytes, expectedHeaderBytes([ALIGN1, good]));
  assert.equal(ggufLayout([good], []).headerBytes % 32, 0);
});

test('an entry changed behind its readonly type is measured again', () => {
  const items = ['a', 'b'];
  const entry = { key: 'tokenizer.ggml.tokens', type: V.ARRAY as number, value: { elementType: V.STRING as number, items } as GgufValue };
  const size = () => ggufLayout([ALIGN1, entry], []).headerBytes;
  assert.equal(size(), expectedHeaderBytes([ALIGN1, entry]));

  items.push('ccc'); // more items in the same array
  assert.equal(size(), expectedHeaderBytes([ALIGN1, entry]));

  entry.value = { elementType: V.STRING, items: ['Ġlonger', 'x'] }; // another value object
  assert.equal(size(), expectedHeaderBytes([ALIGN1, entry]));

  entry.value = { elementType: V.STRING, items: ['a', '\uDC00'] };
  assert.match(caught(size).message, /lone UTF-16 surrogate/);

  const value = { elementType: V.UINT8 as number, items: [1, 2, 3] as GgufValue[] };
  entry.value = value;
  assert.equal(size(), expectedHeaderBytes([ALIGN1, entry]));
  value.items = [1, 2, 3, 4, 5, 6, 7, 8]; // another items array in the same value object
  assert.equal(size(), expectedHeaderBytes([ALIGN1, entry]));

  entry.type = V.UINT32; // the declared type changed: an array does not fit
  assert.match(caught(size).message, /value array does not fit type u32/);
});

test('array items are refused with the same message as a scalar of their element type', () => {
  const cases: ReadonlyArray<[number, GgufValue, GgufValue]> = [
    [V.UINT8, 1, 300], [V.INT8, 1, -129], [V.UINT16, 1, -1], [V.INT16, 1, 40000], [V.UINT32, 1, 2 ** 32],
    [V.INT32, 1, 1.5], [V.FLOAT32, 1.5, 'x'], [V.FLOAT64, 2.5, true], [V.BOOL, true, 1], [V.STRING, 'a', 5],
    [V.UINT64, 1n, -1n], [V.INT64, -1n, 2n ** 63n],
  ];
  for (const [type, good, bad] of cases) {
    const scalar = caught(() => ggufLayout([{ key: 'k', type, value: bad }], []));
    const inArray = caught(() => ggufLayout([arr('k', type, [good, good, bad])], []));
    assert.equal(inArray.message, scalar.message, `element type ${type}`);
    assert.equal(inArray.location.key, 'k');
    // And the good items alone are measured as scalars are.
    assert.equal(ggufLayout([ALIGN1, arr('k', type, [good, good])], []).headerBytes, expectedHeaderBytes([ALIGN1, arr('k', type, [good, good])]));
  }
});

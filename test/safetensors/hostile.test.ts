// Hostile safetensors headers: well over a hundred malformed files (every check of the header
// reader, truncations, seeded byte flips). Each is refused with a QuantfitError naming the file, or
// accepted cleanly with every tensor inside the file; never a crash, a hang, or a modified input.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { readSafetensorsHeader, SafetensorsFile, type SafetensorsHeader } from '../../src-main/core/safetensors/header.ts';
import { QuantfitError } from '../../src-main/core/errors.ts';
import { makeTempDir, removeTempDir, mulberry32 } from '../support/synthetic-gguf.ts';
import { encodeSafetensors, rawSafetensors } from '../support/safetensors-files.ts';

interface Case { name: string; bytes: Buffer; message?: RegExp; tensor?: string; valid?: boolean; mayAccept?: boolean }

const f32 = (n: number) => new Uint8Array(new Float32Array(Array.from({ length: n }, (_, i) => i * 0.5 - 1)).buffer);
const BASE_TENSORS = [
  { name: 'model.embed_tokens.weight', dtype: 'BF16', shape: [4, 8], data: new Uint8Array(64).map((_, i) => i) },
  { name: 'model.norm.weight', dtype: 'F32', shape: [8], data: f32(8) },
  { name: 'lm_head.weight', dtype: 'F16', shape: [2, 8], data: new Uint8Array(32).fill(0x3c) },
];
const BASE = encodeSafetensors(BASE_TENSORS, { format: 'pt' });
const DATA = Buffer.concat(BASE_TENSORS.map((t) => Buffer.from(t.data)));
const entry = (dtype: string, shape: unknown, offsets: unknown) => ({ dtype, shape, data_offsets: offsets });
const header = (o: Record<string, unknown>) => JSON.stringify(o);

function targetedCases(): Case[] {
  const c: Case[] = [];
  const add = (name: string, bytes: Buffer, expect: Omit<Case, 'name' | 'bytes'> = {}) => c.push({ name, bytes, ...expect });
  add('valid base', BASE, { valid: true });
  add('valid empty', rawSafetensors('{}'), { valid: true });
  add('valid zero-size tensor', encodeSafetensors([{ name: 'z', dtype: 'F32', shape: [0, 4], data: new Uint8Array(0) }, ...BASE_TENSORS]), { valid: true });
  add('valid F8_E4M3 header (refused later, by the converter)', encodeSafetensors([{ name: 'w', dtype: 'F8_E4M3', shape: [4], data: new Uint8Array(4) }]), { valid: true });
  add('empty file', Buffer.alloc(0), { message: /too short/ });
  add('7 bytes', Buffer.alloc(7), { message: /too short/ });
  add('length 0', rawSafetensors('', new Uint8Array(0), 0n), { message: /header length is 0/ });
  add('length past end', rawSafetensors('{}', new Uint8Array(0), 1000n), { message: /past the end of the file/ });
  add('length 2^64-1', rawSafetensors('{}', new Uint8Array(0), (1n << 64n) - 1n), { message: /exceeds the 100000000-byte limit/ });
  add('length just over the limit', rawSafetensors('{}', new Uint8Array(0), 100_000_001n), { message: /exceeds/ });
  add('not JSON', rawSafetensors('{not json}'), { message: /not valid JSON/ });
  add('JSON array', rawSafetensors('[1,2,3]'), { message: /does not start with a JSON object/ });
  add('JSON string', rawSafetensors('"x"'), { message: /does not start with a JSON object/ });
  add('object then garbage', rawSafetensors('{} x'), { message: /not valid JSON/ });
  add('invalid UTF-8', rawSafetensors(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])), { message: /not valid UTF-8/ });
  add('NUL padding', rawSafetensors(Buffer.concat([Buffer.from('{}'), Buffer.alloc(6)])), { message: /not valid JSON/ });
  add('entry not an object', rawSafetensors(header({ a: 5 })), { message: /is not an object/, tensor: 'a' });
  add('entry null', rawSafetensors(header({ a: null })), { message: /is not an object/, tensor: 'a' });
  add('no dtype', rawSafetensors(header({ a: { shape: [1], data_offsets: [0, 4] } }), f32(1)), { message: /has no dtype/ });
  add('unknown dtype', rawSafetensors(header({ a: entry('F12', [1], [0, 4]) }), f32(1)), { message: /unknown dtype 'F12'/ });
  add('lower-case dtype', rawSafetensors(header({ a: entry('f32', [1], [0, 4]) }), f32(1)), { message: /unknown dtype/ });
  add('dtype number', rawSafetensors(header({ a: entry(7 as unknown as string, [1], [0, 4]) }), f32(1)), { message: /has no dtype/ });
  add('no shape', rawSafetensors(header({ a: { dtype: 'F32', data_offsets: [0, 4] } }), f32(1)), { message: /has no shape/ });
  add('shape string', rawSafetensors(header({ a: entry('F32', '1', [0, 4]) }), f32(1)), { message: /has no shape/ });
  add('negative dim', rawSafetensors(header({ a: entry('F32', [-1], [0, 4]) }), f32(1)), { message: /bad dimension -1/ });
  add('fractional dim', rawSafetensors(header({ a: entry('F32', [1.5], [0, 6]) }), f32(2)), { message: /bad dimension 1.5/ });
  add('string dim', rawSafetensors(header({ a: entry('F32', ['1'], [0, 4]) }), f32(1)), { message: /bad dimension/ });
  add('huge dim', rawSafetensors(header({ a: entry('F32', [2 ** 60], [0, 4]) }), f32(1)), { message: /bad dimension|needs/ });
  add('dims multiply past 2^64', rawSafetensors(header({ a: entry('F32', [2 ** 40, 2 ** 40], [0, 4]) }), f32(1)), { message: /needs \d+ bytes/ });
  add('too many dims', rawSafetensors(header({ a: entry('F32', [1, 1, 1, 1, 1, 1, 1, 1, 1], [0, 4]) }), f32(1)), { message: /9 dimensions/ });
  add('no offsets', rawSafetensors(header({ a: { dtype: 'F32', shape: [1] } }), f32(1)), { message: /no \[begin, end\]/ });
  add('three offsets', rawSafetensors(header({ a: entry('F32', [1], [0, 4, 8]) }), f32(1)), { message: /no \[begin, end\]/ });
  add('end before begin', rawSafetensors(header({ a: entry('F32', [1], [4, 0]) }), f32(1)), { message: /bad data_offsets/ });
  add('negative begin', rawSafetensors(header({ a: entry('F32', [1], [-4, 0]) }), f32(1)), { message: /bad data_offsets/ });
  add('offset string', rawSafetensors(header({ a: entry('F32', [1], ['0', 4]) }), f32(1)), { message: /bad data_offsets/ });
  add('offset past 2^53', rawSafetensors(header({ a: entry('F32', [1], [2 ** 60, 2 ** 60 + 4]) }), f32(1)), { message: /bad data_offsets/ });
  add('size disagrees with shape', rawSafetensors(header({ a: entry('F32', [2], [0, 4]) }), f32(1)), { message: /needs 8 bytes, data_offsets give 4/ });
  add('F4 odd count', rawSafetensors(header({ a: entry('F4', [3], [0, 2]) }), new Uint8Array(2)), { message: /whole number of bytes/ });
  add('offsets past end of file', rawSafetensors(header({ a: entry('F32', [4], [0, 16]) }), f32(2)), { message: /past the end of the file/, tensor: 'a' });
  add('overlap', rawSafetensors(header({ a: entry('F32', [2], [0, 8]), b: entry('F32', [2], [4, 12]) }), f32(3)), { message: /overlaps/, tensor: 'b' });
  add('identical ranges', rawSafetensors(header({ a: entry('F32', [2], [0, 8]), b: entry('F32', [2], [0, 8]) }), f32(2)), { message: /overlaps/ });
  add('gap at start', rawSafetensors(header({ a: entry('F32', [1], [4, 8]) }), f32(2)), { message: /gap in the data section/, tensor: 'a' });
  add('gap between', rawSafetensors(header({ a: entry('F32', [1], [0, 4]), b: entry('F32', [1], [8, 12]) }), f32(3)), { message: /gap/, tensor: 'b' });
  add('trailing bytes', rawSafetensors(header({ a: entry('F32', [1], [0, 4]) }), f32(2)), { message: /4 bytes after the last tensor/ });
  add('data missing entirely', rawSafetensors(header({ a: entry('F32', [4], [0, 16]) })), { message: /past the end of the file/ });
  add('metadata not object', rawSafetensors(header({ __metadata__: 'x' })), { message: /__metadata__/ });
  add('metadata number value', rawSafetensors(header({ __metadata__: { format: 1 } })), { message: /not a string/ });
  add('empty tensor name', rawSafetensors(header({ '': entry('F32', [1], [0, 4]) }), f32(1)), { message: /empty name/ });
  add('duplicate name (first entry lost)', rawSafetensors('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', f32(2)), { message: /gap/ });
  add('too many items', rawSafetensors(`{"a":[${'0,'.repeat(4_000_001)}0]}`), { message: /JSON items/ });
  add('deep nesting', rawSafetensors(`{"a":${'['.repeat(200_000)}${']'.repeat(200_000)}}`), {});
  // Truncated copies of the valid file: every prefix length class.
  for (const cut of [1, 4, 8, 9, 12, 20, 40, BASE.length - DATA.length - 1, BASE.length - DATA.length, BASE.length - 1, BASE.length - 17]) {
    add(`truncated to ${cut}`, BASE.subarray(0, cut), {});
  }
  add('one byte appended', Buffer.concat([BASE, Buffer.from([0])]), { message: /1 bytes after the last tensor/ });
  return c;
}

/** Seeded flips of header bytes (and a few of the length prefix). */
function flipCases(n: number): Case[] {
  const rand = mulberry32(1234);
  const headerEnd = BASE.length - DATA.length;
  const out: Case[] = [];
  for (let i = 0; i < n; i++) {
    const b = Buffer.from(BASE);
    const flips = 1 + Math.floor(rand() * 3);
    for (let k = 0; k < flips; k++) {
      const at = i % 10 === 0 ? Math.floor(rand() * 8) : 8 + Math.floor(rand() * (headerEnd - 8));
      b[at] = Math.floor(rand() * 256);
    }
    out.push({ name: `flip ${i}`, bytes: b, mayAccept: true });
  }
  return out;
}

let dir = '';
const files: Array<Case & { path: string; sha: string }> = [];
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

before(async () => {
  dir = await makeTempDir('st-hostile');
  for (const [i, c] of [...targetedCases(), ...flipCases(120)].entries()) {
    const path = join(dir, `case-${String(i).padStart(4, '0')}.safetensors`);
    await writeFile(path, c.bytes);
    files.push({ ...c, path, sha: sha256(c.bytes) });
  }
});
after(async () => { await removeTempDir(dir); });

async function readGuarded(path: string): Promise<{ header?: SafetensorsHeader; error?: unknown }> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`hang: ${path}`)), 5000); });
  try {
    return { header: await Promise.race([readSafetensorsHeader(path), hang]) };
  } catch (error) {
    if (error instanceof Error && error.message.startsWith('hang:')) throw error;
    return { error };
  } finally {
    clearTimeout(timer);
  }
}

test('the suite has well over 100 malformed headers', () => {
  assert.ok(files.filter((f) => !f.valid).length >= 150);
  assert.ok(files.filter((f) => f.message).length >= 45);
});

test('every malformed header is refused with a clear QuantfitError naming the file, or accepted consistently; inputs unchanged', async () => {
  let refused = 0;
  for (const f of files) {
    const { header: h, error } = await readGuarded(f.path);
    if (error !== undefined) {
      assert.ok(error instanceof QuantfitError, `${f.name}: not a QuantfitError: ${String((error as Error)?.stack ?? error)}`);
      assert.equal(error.location.file, f.path, f.name);
      assert.equal(error.code, 'safetensors.invalid', f.name);
      assert.ok(!f.valid, `${f.name} is valid but was refused: ${error.message}`);
      if (f.message) assert.match(error.message, f.message, f.name);
      if (f.tensor !== undefined) assert.equal(error.location.tensor, f.tensor, f.name);
      assert.ok(!error.message.includes('\n') && !/undefined|NaN|\[object/.test(error.message), `${f.name}: ${error.message}`);
      refused++;
    } else {
      assert.ok(f.valid || f.mayAccept, `${f.name} was accepted but must be refused`);
      let end = h!.dataOffset;
      for (const t of h!.tensors) {
        assert.ok(t.fileOffset >= h!.dataOffset && t.fileOffset + t.byteSize <= h!.fileSize, `${f.name}: ${t.name}`);
        end = Math.max(end, t.fileOffset + t.byteSize);
      }
      assert.equal(end, h!.fileSize, f.name);
    }
    assert.equal(sha256(await readFile(f.path)), f.sha, `${f.name}: input modified`);
  }
  assert.ok(refused >= 100, `${refused} refused`);
});

test('the valid file reads back: names in header order, shapes, data by byte range', async () => {
  const path = files[0]!.path;
  const st = await SafetensorsFile.open(path);
  try {
    assert.deepEqual(st.header.tensors.map((t) => [t.name, t.dtype, t.shape]), BASE_TENSORS.map((t) => [t.name, t.dtype, t.shape]));
    assert.deepEqual(st.header.metadata, { format: 'pt' });
    const norm = st.tensor('model.norm.weight')!;
    assert.deepEqual(await st.read(norm, 4, 8), BASE_TENSORS[1]!.data.subarray(4, 12));
    const target = new Uint8Array(100);
    const emb = await st.read(st.tensor('model.embed_tokens.weight')!, 16, 16, target);
    assert.equal(emb.buffer, target.buffer);
    assert.deepEqual(emb, BASE_TENSORS[0]!.data.subarray(16, 32));
    await assert.rejects(st.read(norm, 30, 4), (e: unknown) => e instanceof QuantfitError && /outside the tensor's 32 bytes/.test(e.message));
  } finally {
    await st.close();
  }
});

test('a missing file and a folder are one clear line each', async () => {
  await assert.rejects(readSafetensorsHeader(join(dir, 'nope.safetensors')), (e: unknown) => e instanceof QuantfitError && /no such file/.test(e.message));
  await assert.rejects(readSafetensorsHeader(dir), (e: unknown) => e instanceof QuantfitError && /not a regular file|EISDIR/.test(e.message));
});

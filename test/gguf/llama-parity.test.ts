// "At least as strict as llama.cpp": every hostile file our reader accepts must also be accepted by
// llama.cpp's own parser (gguf_init_from_file in the reference libggml-base, through koffi), and the
// two must agree on the counts. The one deliberate difference: arrays of arrays are legal GGUF and we
// read them, while llama.cpp refuses them — such files are checked separately.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type * as KoffiNs from 'koffi';
import { loadOracle, oracleUnavailableReason } from '../support/oracle.ts';
import { readGgufHeader } from '../../src-main/core/gguf/reader.ts';
import { GgufValueType, isGgufArray, type GgufHeader } from '../../src-main/core/gguf/types.ts';
import { kv } from '../../src-main/core/gguf/metadata.ts';
import { makeTempDir, removeTempDir, tinyLlama, writeSyntheticGguf, type SyntheticModel } from '../support/synthetic-gguf.ts';
import { hostileCases } from './hostile-cases.ts';

const skip = oracleUnavailableReason() ?? false;
if (skip) console.log(`# skipping llama.cpp parser parity: ${skip}`);

/** What llama.cpp's parser reports about a file, in the same terms as our GgufHeader. */
interface LlamaView {
  readonly dataOffset: number;
  readonly keys: Array<{ key: string; type: number }>;
  readonly tensors: Array<{ name: string; type: number; offset: number; byteSize: number }>;
}

function ourView(h: GgufHeader): LlamaView {
  return {
    dataOffset: h.dataOffset,
    keys: h.kv.map((e) => ({ key: e.key, type: e.type })),
    tensors: h.tensors.map((t) => ({ name: t.name, type: t.type, offset: t.offset, byteSize: t.byteSize })),
  };
}

interface LlamaGguf {
  /** undefined when llama.cpp refuses the file. */
  parse(path: string): LlamaView | undefined;
  /** What llama.cpp logged during the last parse. */
  lastLog(): string;
}

let bound: LlamaGguf | undefined;
function bindLlamaGguf(): LlamaGguf {
  if (bound) return bound;
  const oracle = loadOracle()!;
  const koffi = oracle.koffi as typeof KoffiNs;
  const lib = oracle.ggmlBase as KoffiNs.LibraryHandle;
  koffi.struct('qf_gguf_init_params', { no_alloc: 'bool', ctx: 'void *' });
  const init = lib.func('void *gguf_init_from_file(const char *fname, qf_gguf_init_params params)');
  const free = lib.func('void gguf_free(void *ctx)');
  const nTensors = lib.func('int64_t gguf_get_n_tensors(void *ctx)');
  const nKv = lib.func('int64_t gguf_get_n_kv(void *ctx)');
  const dataOffset = lib.func('size_t gguf_get_data_offset(void *ctx)');
  const key = lib.func('const char *gguf_get_key(void *ctx, int64_t id)');
  const kvType = lib.func('int gguf_get_kv_type(void *ctx, int64_t id)');
  const tensorName = lib.func('const char *gguf_get_tensor_name(void *ctx, int64_t id)');
  const tensorType = lib.func('int gguf_get_tensor_type(void *ctx, int64_t id)');
  const tensorOffset = lib.func('size_t gguf_get_tensor_offset(void *ctx, int64_t id)');
  const tensorSize = lib.func('size_t gguf_get_tensor_size(void *ctx, int64_t id)');
  // Capture ggml's log instead of letting hundreds of refusals scroll past on stderr.
  const LogCallback = koffi.proto('void qf_ggml_log_callback(int level, const char *text, void *user)');
  const logSet = lib.func('void ggml_log_set(qf_ggml_log_callback *cb, void *user)');
  let log = '';
  const callback = koffi.register((_level: number, text: string) => { log += text; }, koffi.pointer(LogCallback));
  logSet(callback, null);
  bound = {
    parse(path) {
      log = '';
      const ctx = init(path, { no_alloc: true, ctx: null });
      if (!ctx) return undefined;
      try {
        const keys = Array.from({ length: Number(nKv(ctx)) }, (_, id) => ({ key: key(ctx, id) as string, type: kvType(ctx, id) as number }));
        const tensors = Array.from({ length: Number(nTensors(ctx)) }, (_, id) => ({
          name: tensorName(ctx, id) as string,
          type: tensorType(ctx, id) as number,
          offset: Number(tensorOffset(ctx, id)),
          byteSize: Number(tensorSize(ctx, id)),
        }));
        return { dataOffset: Number(dataOffset(ctx)), keys, tensors };
      } finally {
        free(ctx);
      }
    },
    lastLog: () => log,
  };
  return bound;
}

function hasNestedArray(h: GgufHeader): boolean {
  return h.kv.some((e) => isGgufArray(e.value) && e.value.elementType === GgufValueType.ARRAY);
}

test('every file our reader accepts, llama.cpp accepts too, with the same keys, tensors, offsets and sizes', { skip }, async () => {
  const llama = bindLlamaGguf();
  const dir = await makeTempDir('gguf-parity');
  try {
    let bothAccept = 0;
    let stricter = 0;
    let nested = 0;
    for (const [i, c] of hostileCases().entries()) {
      const path = join(dir, `case-${i}.gguf`);
      await writeFile(path, c.bytes);
      let ours: GgufHeader | undefined;
      try {
        ours = await readGgufHeader(path);
      } catch {
        ours = undefined;
      }
      const theirs = llama.parse(path);
      if (!ours) {
        if (theirs) stricter++;
        continue;
      }
      if (hasNestedArray(ours)) {
        // Legal GGUF that llama.cpp does not read: the documented exception.
        assert.equal(theirs, undefined, `${c.name}: llama.cpp now reads nested arrays`);
        assert.match(llama.lastLog(), /invalid GGUF type 9/, c.name);
        nested++;
        continue;
      }
      assert.ok(theirs, `${c.name}: accepted by quantfit but refused by llama.cpp: ${llama.lastLog().trim()}`);
      assert.deepEqual(theirs, ourView(ours), c.name);
      bothAccept++;
    }
    console.log(`# llama.cpp parity: ${bothAccept} accepted by both, ${stricter} refused only by quantfit, ${nested} with nested arrays`);
    assert.ok(bothAccept >= 10);
    assert.ok(nested >= 1);
  } finally {
    await removeTempDir(dir);
  }
});

test('llama.cpp reads what our writer writes exactly as our reader does (tiny llama, every scalar type, alignment 64)', { skip }, async () => {
  const llama = bindLlamaGguf();
  const dir = await makeTempDir('gguf-parity');
  try {
    const T = GgufValueType;
    const scalars = [
      kv.u8('t.u8', 7), kv.i8('t.i8', -7), kv.u16('t.u16', 700), kv.i16('t.i16', -700), kv.u32('t.u32', 70000),
      kv.i32('t.i32', -70000), kv.f32('t.f32', 0.5), kv.bool('t.bool', true), kv.u64('t.u64', 1n << 40n),
      kv.i64('t.i64', -(1n << 40n)), kv.f64('t.f64', 0.25), kv.array('t.arr', T.UINT16, [1, 2, 3]),
    ];
    const models: Array<[string, SyntheticModel]> = [
      ['tiny-f32', tinyLlama({ nLayer: 2 })],
      ['tiny-f16', tinyLlama({ nLayer: 1, type: 'F16' })],
      ['scalars', { alignment: 64, kv: scalars, tensors: [{ name: 'q', shape: [64, 3], type: 'Q8_0' }, { name: 'k', shape: [256], type: 'Q6_K' }, { name: 's', shape: [5] }] }],
    ];
    for (const [name, model] of models) {
      const path = join(dir, `${name}.gguf`);
      await writeSyntheticGguf(path, model);
      const ours = await readGgufHeader(path);
      const theirs = llama.parse(path);
      assert.ok(theirs, `${name}: ${llama.lastLog()}`);
      assert.deepEqual(theirs, ourView(ours), name);
    }
  } finally {
    await removeTempDir(dir);
  }
});

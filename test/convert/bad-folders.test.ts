// Bad Hugging Face folders: each is refused before any output exists, with one clear line naming
// what and where; the folder is left exactly as it was.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile, rm, truncate, mkdir, stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { QuantfitError } from '../../src-main/core/errors.ts';
import { convertFolder, quantizeFolder } from '../../src-main/core/convert/write.ts';
import { makeTempDir, removeTempDir } from '../support/synthetic-gguf.ts';
import { llamaTensors, writeLlamaFolder, writeWeights } from '../support/hf-folders.ts';
import { encodeSafetensors, rawSafetensors } from '../support/safetensors-files.ts';

let root = '';
before(async () => { root = await makeTempDir('convert-bad'); });
after(async () => { await removeTempDir(root); });

const SMALL = { hidden: 64, intermediate: 128, heads: 2, kvHeads: 1, vocab: 32000, layers: 1 } as const;

async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const name of (await readdir(dir)).sort()) {
    const p = join(dir, name);
    if ((await stat(p)).isFile()) out.set(name, createHash('sha256').update(await readFile(p)).digest('hex'));
  }
  return out;
}

type Breaker = (dir: string) => Promise<void>;
const CASES: ReadonlyArray<{ name: string; shards?: number; breaks: Breaker; message: RegExp; code: string }> = [
  { name: 'no config.json', breaks: (d) => rm(join(d, 'config.json')), message: /no config\.json/, code: 'convert.noConfig' },
  { name: 'invalid JSON', breaks: (d) => writeFile(join(d, 'config.json'), '{"architectures": ["LlamaForCausalLM"],'), message: /invalid JSON/, code: 'convert.badJson' },
  { name: 'unknown architecture', breaks: async (d) => { const c = JSON.parse(await readFile(join(d, 'config.json'), 'utf8')); c.architectures = ['FalconForCausalLM']; await writeFile(join(d, 'config.json'), JSON.stringify(c)); }, message: /architecture 'FalconForCausalLM' is not supported; Quantfit converts LlamaForCausalLM, MistralForCausalLM/, code: 'convert.unknownArch' },
  { name: 'no weights', breaks: (d) => rm(join(d, 'model.safetensors')), message: /no weights in the folder/, code: 'convert.noWeights' },
  { name: 'PyTorch .bin only', breaks: async (d) => { await rm(join(d, 'model.safetensors')); await writeFile(join(d, 'pytorch_model.bin'), 'x'); }, message: /only PyTorch \.bin weights/, code: 'convert.binWeights' },
  { name: 'shard missing', shards: 2, breaks: (d) => rm(join(d, 'model-00002-of-00002.safetensors')), message: /shard 'model-00002-of-00002\.safetensors' listed in model\.safetensors\.index\.json is missing/, code: 'convert.missingShard' },
  { name: 'truncated shard', shards: 2, breaks: async (d) => { const p = join(d, 'model-00001-of-00002.safetensors'); await truncate(p, (await stat(p)).size - 100); }, message: /past the end of the file .*truncated/, code: 'safetensors.invalid' },
  { name: 'index names a tensor no shard has', shards: 2, breaks: async (d) => { const p = join(d, 'model.safetensors.index.json'); const i = JSON.parse(await readFile(p, 'utf8')); i.weight_map['model.layers.9.mlp.up_proj.weight'] = 'model-00002-of-00002.safetensors'; await writeFile(p, JSON.stringify(i)); }, message: /lacks tensors .*model\.layers\.9\.mlp\.up_proj\.weight .*incomplete download/, code: 'convert.incompleteShard' },
  { name: 'header length beyond the file', breaks: async (d) => { const p = join(d, 'model.safetensors'); const b = await readFile(p); b.writeBigUInt64LE(BigInt(b.length)); await writeFile(p, b); }, message: /runs past the end of the file/, code: 'safetensors.invalid' },
  { name: 'overlapping offsets', breaks: (d) => writeFile(join(d, 'model.safetensors'), rawSafetensors(JSON.stringify({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }), new Uint8Array(12))), message: /overlaps/, code: 'safetensors.invalid' },
  { name: 'F8_E4M3 weights', breaks: async (d) => { const t = llamaTensors({ ...SMALL }); const i = t.findIndex((x) => x.name.endsWith('q_proj.weight')); t[i] = { ...t[i]!, dtype: 'F8_E4M3', data: t[i]!.data.subarray(0, t[i]!.data.length / 2) }; await writeFile(join(d, 'model.safetensors'), encodeSafetensors(t)); }, message: /dtype F8_E4M3 is not supported/, code: 'convert.badDtype' },
  { name: 'shape disagrees with config.json', breaks: async (d) => { const c = JSON.parse(await readFile(join(d, 'config.json'), 'utf8')); c.hidden_size = 96; await writeFile(join(d, 'config.json'), JSON.stringify(c)); }, message: /disagrees with config\.json/, code: 'convert.shapeMismatch' },
  { name: 'vocab size disagrees', breaks: async (d) => { const c = JSON.parse(await readFile(join(d, 'config.json'), 'utf8')); c.vocab_size = 32001; await writeFile(join(d, 'config.json'), JSON.stringify(c)); }, message: /vocab_size × hidden_size: expected \[32001, 64\]/, code: 'convert.shapeMismatch' },
  { name: 'an unknown tensor', breaks: async (d) => { await writeWeights(d, [...llamaTensors({ ...SMALL }), { name: 'model.layers.0.mystery.weight', dtype: 'F32', shape: [2], data: new Uint8Array(8) }]); }, message: /cannot map tensor 'model\.layers\.0\.mystery\.weight'/, code: 'convert.unknownTensor' },
  { name: 'no tokenizer', breaks: (d) => rm(join(d, 'tokenizer.model')), message: /no tokenizer in the folder/, code: 'convert.noTokenizer' },
];

for (const c of CASES) {
  test(`bad folder: ${c.name} → one clear line, nothing written, folder untouched`, async () => {
    const dir = join(root, c.name.replace(/\W+/g, '-'));
    await writeLlamaFolder(dir, { ...SMALL, shards: c.shards ?? 1 });
    await c.breaks(dir);
    const before = await snapshot(dir);
    const outDir = join(root, `${c.name.replace(/\W+/g, '-')}-out`);
    await mkdir(outDir);
    for (const run of [() => convertFolder(dir, join(outDir, 'x.gguf'), { outtype: 'f16' }), () => quantizeFolder(dir, join(outDir, 'y.gguf'), { ftype: 'Q8_0' })]) {
      await assert.rejects(run(), (e: unknown) => {
        assert.ok(e instanceof QuantfitError, String(e));
        assert.match(e.message, c.message);
        assert.equal(e.code, c.code);
        assert.ok(!e.message.includes('\n'));
        return true;
      });
    }
    assert.deepEqual(await readdir(outDir), []);
    assert.deepEqual(await snapshot(dir), before);
  });
}

test('a path that is not a folder is refused by name', async () => {
  await assert.rejects(convertFolder(join(root, 'nope'), join(root, 'z.gguf')), (e: unknown) => e instanceof QuantfitError && /no such folder/.test(e.message));
});

test('cancelling a conversion midway leaves nothing behind (one pass and the F16 path)', async () => {
  const dir = await writeLlamaFolder(join(root, 'cancel-me'), { hidden: 256, intermediate: 512, heads: 4, kvHeads: 2, layers: 2 });
  const outDir = join(root, 'cancel-out');
  await mkdir(outDir);
  for (const run of [
    (signal: AbortSignal, onEvent: (e: { type: string }) => void) => quantizeFolder(dir, join(outDir, 'q.gguf'), { ftype: 'Q4_K_M' }, { threads: 2, signal, onEvent }),
    (signal: AbortSignal, onEvent: (e: { type: string }) => void) => convertFolder(dir, join(outDir, 'f.gguf'), { outtype: 'f16', signal, onEvent }),
  ]) {
    const controller = new AbortController();
    await assert.rejects(run(controller.signal, (e) => { if (e.type === 'progress') controller.abort(); }), (e: unknown) => (e as Error).name === 'CancelledError');
    assert.deepEqual(await readdir(outDir), []);
  }
});

// Issue #4: the importance-matrix ftypes through `quantfit quantize --imatrix`, byte for byte against
// llama.cpp's llama_model_quantize given what llama-quantize passes it for the same file (the matrix
// and the quantize.imatrix.* metadata); the refusals without a matrix; both file formats.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readGgufHeader } from '../../src-main/core/gguf/reader.ts';
import { kvNumber, kvString } from '../../src-main/core/gguf/metadata.ts';
import { parseFtype } from '../../src-main/core/quant/ftypes.ts';
import { planQuantization } from '../../src-main/core/quant/policy.ts';
import { imatrixKvOverrides, loadImatrix, type Imatrix } from '../../src-main/core/imatrix/index.ts';
import { makeTempDir, removeTempDir, writeSyntheticGguf } from '../support/synthetic-gguf.ts';
import { quantModel } from '../support/quant-models.ts';
import { syntheticImatrix } from '../support/quant-parity.ts';
import { loadQuantizeOracle, quantizeOracleUnavailableReason, type OracleQuantizeParams } from '../support/llama-quantize-oracle.ts';
import { writeGgufImatrix, writeLegacyImatrix, type ImatrixFileEntry } from '../support/imatrix-files.ts';

const reason = quantizeOracleUnavailableReason();
if (reason) console.log(`# skipping imatrix ftype parity: ${reason}`);

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const cli = join(root, 'bin/quantfit.mjs');
const stories = resolve(root, '../shared/fixtures/stories260K.gguf');
const storiesReason = reason ?? (existsSync(stories) ? undefined : `${stories} not present`);
if (storiesReason && !reason) console.log(`# skipping stories260K imatrix parity: ${storiesReason}`);

/** The ftypes issue #4 adds: all but IQ3_S and IQ3_M refuse to run without a matrix. */
const IMATRIX_FTYPES = ['IQ1_S', 'IQ1_M', 'IQ2_XXS', 'IQ2_XS', 'IQ2_S', 'IQ2_M', 'IQ3_XXS', 'IQ3_XS', 'IQ3_S', 'IQ3_M', 'Q2_K_S'];

function quantfit(...args: string[]) {
  return spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd: root });
}

/** File entries for a matrix of per-column means: legacy stores mean·ncall, GGUF Σx² and counts. */
function fileEntries(means: Map<string, Float32Array>, form: 'legacy' | 'gguf', nExpert: (name: string) => number): ImatrixFileEntry[] {
  return [...means].map(([name, m]) => {
    if (form === 'legacy') return { name, values: m.map((v) => v * 4), counts: [4] };
    const n = nExpert(name);
    // Expert e saw 10·(e+1) tokens; the last one none, so it reads back as all ones.
    const counts = Array.from({ length: n }, (_, e) => (n > 1 && e === n - 1 ? 0 : 10 * (e + 1)));
    const per = m.length / n;
    return { name, values: m.map((v, i) => v * counts[Math.floor(i / per)]!), counts };
  });
}

describe('importance-matrix ftypes against llama.cpp', { skip: reason }, () => {
  let dir: string;
  const models = new Map<string, string>();
  before(async () => {
    dir = await makeTempDir('imatrix-ftypes');
    for (const [name, opts] of [['dense', { nHeadKv: 2, seed: 31 }], ['moe', { nExpert: 4, nHeadKv: 4, nLayer: 8, seed: 32 }]] as const) {
      const path = join(dir, `${name}.gguf`);
      await writeSyntheticGguf(path, quantModel(opts));
      models.set(name, path);
    }
  });
  after(async () => { await removeTempDir(dir); });

  let n = 0;
  /** Runs the CLI, and llama.cpp with what llama-quantize passes it (`given`), and compares the files. */
  const compare = (tag: string, input: string, ftype: string, cliArgs: string[], given: Partial<OracleQuantizeParams>): string => {
    const ours = join(dir, `ours-${n}.gguf`);
    const theirs = join(dir, `theirs-${n++}.gguf`);
    const r = quantfit('quantize', input, ours, ftype, '--threads', '2', ...cliArgs);
    const ref = loadQuantizeOracle()!.quantize(input, theirs, { ftype: parseFtype(ftype).id, nthread: 2, ...given });
    assert.ok(ref.ok, `${tag}: llama.cpp refused: ${ref.log.trim().split('\n').pop()}`);
    assert.equal(r.status, 0, `${tag}: quantfit failed: ${r.stderr}`);
    const a = readFileSync(theirs);
    const b = readFileSync(ours);
    assert.equal(b.length, a.length, `${tag}: size`);
    assert.equal(a.findIndex((x, i) => x !== b[i]), -1, `${tag}: bytes differ`);
    return ours;
  };
  /** What tools/quantize passes llama_model_quantize for a loaded matrix. */
  const givenFor = (m: Imatrix): Partial<OracleQuantizeParams> =>
    ({ imatrix: new Map(m.entries), kvOverrides: imatrixKvOverrides(m).map((o) => ({ ...o })) });

  for (const form of ['legacy', 'gguf'] as const) {
    test(`every imatrix ftype with a ${form} matrix: identical files, quantize.imatrix.* recorded`, async () => {
      // The legacy form has no per-expert counts: it runs on the dense model; GGUF on both.
      for (const [model, path] of models) {
        if (form === 'legacy' && model !== 'dense') continue;
        const h = await readGgufHeader(path);
        const experts = new Map(h.tensors.map((t) => [t.name, t.shape[2] ?? 1]));
        // An unseen matrix per model and form, plus an entry for a tensor the model lacks (ignored).
        const means = syntheticImatrix(h, form === 'legacy' ? 101 : 202);
        means.set('blk.99.attn_q.weight', new Float32Array(256).fill(2));
        const file = join(dir, `${model}.${form === 'legacy' ? 'dat' : 'imatrix.gguf'}`);
        if (form === 'legacy') await writeLegacyImatrix(file, fileEntries(means, form, () => 1), { chunkCount: 12, dataset: 'calibration.txt' });
        else await writeGgufImatrix(file, fileEntries(means, form, (nm) => experts.get(nm) ?? 1), { datasets: ['calibration.txt'], chunkCount: 12 });
        const loaded = await loadImatrix(file);
        let out = '';
        for (const ftype of IMATRIX_FTYPES) out = compare(`${model} ${form} ${ftype}`, path, ftype, ['--imatrix', file], givenFor(loaded));
        const written = await readGgufHeader(out);
        assert.equal(kvString(written, 'quantize.imatrix.file'), file);
        assert.equal(kvString(written, 'quantize.imatrix.dataset'), 'calibration.txt');
        assert.equal(kvNumber(written, 'quantize.imatrix.entries_count'), means.size);
        assert.equal(kvNumber(written, 'quantize.imatrix.chunks_count'), 12);
      }
    });
  }

  test('stories260K (no row a multiple of 256, so every IQ type falls back): identical files', { skip: storiesReason }, async () => {
    const h = await readGgufHeader(stories);
    const file = join(dir, 'stories.imatrix.gguf');
    const experts = new Map(h.tensors.map((t) => [t.name, 1]));
    await writeGgufImatrix(file, fileEntries(syntheticImatrix(h, 404), 'gguf', (nm) => experts.get(nm) ?? 1), { datasets: ['tinystories.txt'], chunkCount: 3 });
    const loaded = await loadImatrix(file);
    for (const ftype of ['IQ2_XS', 'IQ1_M', 'IQ3_M', 'Q2_K_S']) compare(`stories260K ${ftype}`, stories, ftype, ['--imatrix', file], givenFor(loaded));
  });

  test('IQ3_S and IQ3_M also without a matrix: identical files', () => {
    for (const [model, path] of models) for (const ftype of ['IQ3_S', 'IQ3_M']) compare(`${model} no-imatrix ${ftype}`, path, ftype, [], {});
  });

  test('--exclude-weights and --include-weights: identical to llama.cpp with the same entries', async () => {
    const path = models.get('dense')!;
    const h = await readGgufHeader(path);
    const file = join(dir, 'filter.dat');
    await writeLegacyImatrix(file, fileEntries(syntheticImatrix(h, 303), 'legacy', () => 1));
    for (const [flag, pattern] of [['--exclude-weights', 'ffn_down'], ['--include-weights', 'attn']] as const) {
      const loaded = await loadImatrix(file, flag === '--exclude-weights' ? { exclude: [pattern] } : { include: [pattern] });
      // Q4_K_M: every tensor quantizes with or without its entry, so the filter shows in the bytes.
      compare(`filter ${flag}`, path, 'Q4_K_M', ['--imatrix', file, flag, pattern], givenFor(loaded));
    }
  });

  test('without a matrix, llama.cpp and quantfit refuse the same ftypes; the CLI says how to get one and writes nothing', async () => {
    const oracle = loadQuantizeOracle()!;
    for (const [model, path] of models) {
      const h = await readGgufHeader(path);
      for (const ftype of IMATRIX_FTYPES) {
        const theirs = join(dir, `refuse-theirs-${model}-${ftype}.gguf`);
        const ref = oracle.quantize(path, theirs, { ftype: parseFtype(ftype).id, nthread: 2 });
        let ours: unknown;
        try {
          planQuantization(h, { ftype });
        } catch (err) {
          ours = err;
        }
        assert.equal(ours === undefined, ref.ok, `${model} ${ftype}: llama.cpp ${ref.ok ? 'quantized' : 'refused'}, quantfit ${ours ? `refused (${String(ours)})` : 'planned'}`);
      }
    }
    const out = join(dir, 'refused', 'x.gguf');
    mkdirSync(join(dir, 'refused'));
    const r = quantfit('quantize', models.get('dense')!, out, 'IQ2_XS');
    assert.equal(r.status, 1);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /^quantfit: error: .*IQ2_XS needs an importance matrix.*llama-imatrix.*--imatrix FILE/);
    assert.deepEqual(readdirSync(join(dir, 'refused')), []);
    assert.equal(existsSync(out), false);
  });

  test('a matrix entry of the wrong length is refused naming the tensor, as llama.cpp refuses', async () => {
    const path = models.get('dense')!;
    const file = join(dir, 'wrong.dat');
    await writeLegacyImatrix(file, [{ name: 'blk.0.attn_q.weight', values: new Float32Array(100).fill(1), counts: [1] }]);
    const r = quantfit('quantize', path, join(dir, 'wrong.gguf'), 'Q4_K_M', '--imatrix', file);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /imatrix size 100 is different from tensor size 256.*blk\.0\.attn_q\.weight/);
    const ref = loadQuantizeOracle()!.quantize(path, join(dir, 'wrong-theirs.gguf'), {
      ftype: parseFtype('Q4_K_M').id, nthread: 2, imatrix: new Map([['blk.0.attn_q.weight', new Float32Array(100).fill(1)]]),
    });
    assert.equal(ref.ok, false);
  });
});

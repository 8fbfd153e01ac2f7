import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FTYPES, findFtype, parseFtype, ftypeDefaultType } from '../../src-main/core/quant/ftypes.ts';
import {
  compareTensorNames, parseKvOverride, parseTensorTypeOption, planQuantization, tensorTypeCounts, type QuantizeOptions,
} from '../../src-main/core/quant/policy.ts';
import { GgmlType, ggmlTypeName } from '../../src-main/core/gguf/ggml-types.ts';
import { readGgufHeader } from '../../src-main/core/gguf/reader.ts';
import { GgufValueType, type GgufHeader } from '../../src-main/core/gguf/types.ts';
import { QuantfitError } from '../../src-main/core/errors.ts';
import { makeTempDir, removeTempDir, writeSyntheticGguf } from '../support/synthetic-gguf.ts';
import { MODEL_VARIANTS, quantModel } from '../support/quant-models.ts';
import { ISSUE_FTYPES, OPTION_CASES, oracleParams, planDiffs, syntheticImatrix } from '../support/quant-parity.ts';
import { loadQuantizeOracle, quantizeOracleUnavailableReason } from '../support/llama-quantize-oracle.ts';
import { llamaSourceDir } from '../support/llama-tools.ts';

const T = GgmlType;
// The pinned release's source (scripts/build-llama-tools.sh clones it in CI), when it is here.
const REF = llamaSourceDir() ?? '(no llama.cpp source tree: run scripts/build-llama-tools.sh, or set QUANTFIT_LLAMA_SRC)';

describe('ftype table', () => {
  test('names parse case-insensitively; Q3_K/Q4_K/Q5_K are aliases of the _M types', () => {
    assert.equal(parseFtype('q4_k_m').name, 'Q4_K_M');
    assert.equal(parseFtype('Iq4_Xs').id, 30);
    for (const [alias, full] of [['Q3_K', 'Q3_K_M'], ['q4_k', 'Q4_K_M'], ['Q5_K', 'Q5_K_M']] as const) {
      const f = parseFtype(alias);
      assert.equal(f.aliasOf, full);
      assert.equal(f.id, parseFtype(full).id);
      assert.equal(f.defaultType, parseFtype(full).defaultType);
    }
  });

  test('numeric ids are accepted as llama-quantize does (first entry with the id, std::stoi rules)', () => {
    assert.equal(parseFtype('15').name, 'Q4_K', 'the alias comes first in QUANT_OPTIONS');
    assert.equal(parseFtype(12).name, 'Q3_K');
    assert.equal(parseFtype('0').name, 'F32', 'COPY comes after F32');
    assert.equal(parseFtype(' 7tail').name, 'Q8_0');
    assert.equal(parseFtype('+18').name, 'Q6_K');
    assert.equal(findFtype('39'), undefined, 'NVFP4 has no QUANT_OPTIONS entry');
    assert.equal(findFtype('4'), undefined);
    assert.equal(findFtype('99999999999'), undefined);
    assert.equal(findFtype('Q9_K'), undefined);
    assert.throws(() => parseFtype('nope'), QuantfitError);
    assert.equal(parseFtype('copy').onlyCopy, true);
  });

  test('default types follow llama_ftype_get_default_type', () => {
    assert.equal(parseFtype('IQ2_S').defaultType, T.IQ2_XS);
    assert.equal(parseFtype('IQ2_M').defaultType, T.IQ2_S);
    assert.equal(parseFtype('IQ3_XS').defaultType, T.IQ3_S);
    assert.equal(parseFtype('Q2_K_S').defaultType, T.Q2_K);
    assert.equal(parseFtype('MXFP4_MOE').defaultType, T.MXFP4);
    assert.equal(ftypeDefaultType(39), T.NVFP4);
    assert.equal(ftypeDefaultType(4), undefined);
  });

  const quantizeCpp = join(REF, 'tools/quantize/quantize.cpp');
  const llamaH = join(REF, 'include/llama.h');
  const refReason = existsSync(quantizeCpp) && existsSync(llamaH) ? undefined : `reference source not at ${REF}`;
  if (refReason) console.log(`# skipping ftype/source comparison: ${refReason}`);
  test('the table is QUANT_OPTIONS of the reference source (order, names, ids, descriptions)', { skip: refReason }, () => {
    const ids = new Map<string, number>();
    for (const m of readFileSync(llamaH, 'utf8').matchAll(/^\s*(LLAMA_FTYPE_\w+)\s*=\s*(\d+)/gm)) ids.set(m[1]!, Number(m[2]));
    const src = readFileSync(quantizeCpp, 'utf8');
    const rows = [...src.matchAll(/\{\s*"(\w+)",\s*(LLAMA_FTYPE_\w+),\s*"([^"]*)"/g)].map((m) => ({ name: m[1]!, id: ids.get(m[2]!), description: m[3]! }));
    assert.ok(rows.length > 30);
    assert.deepEqual(FTYPES.map((f) => ({ name: f.name, id: f.id, description: f.description })), rows);
  });
});

describe('option parsing', () => {
  test('--override-kv KEY=TYPE:VALUE as string_parse_kv_override reads it', () => {
    assert.deepEqual(parseKvOverride('a.b=int:-5'), { key: 'a.b', type: 'int', value: -5n });
    assert.deepEqual(parseKvOverride('a=int:12abc'), { key: 'a', type: 'int', value: 12n });
    assert.deepEqual(parseKvOverride('a=int:x'), { key: 'a', type: 'int', value: 0n });
    assert.deepEqual(parseKvOverride('a=float:1.5e3'), { key: 'a', type: 'float', value: 1500 });
    assert.deepEqual(parseKvOverride('a=float:0x1p-2'), { key: 'a', type: 'float', value: 0.25 });
    assert.deepEqual(parseKvOverride('a=bool:false'), { key: 'a', type: 'bool', value: false });
    assert.deepEqual(parseKvOverride('k=str:a=b:c'), { key: 'k', type: 'str', value: 'a=b:c' });
    assert.throws(() => parseKvOverride('a=bool:yes'), /invalid boolean/);
    assert.throws(() => parseKvOverride('a=str:' + 'x'.repeat(128)), /127/);
    assert.throws(() => parseKvOverride(`${'k'.repeat(128)}=int:1`), /127 bytes/);
    assert.throws(() => parseKvOverride('a=i32:1'), /invalid type/);
    assert.throws(() => parseKvOverride('novalue'), /KEY=TYPE:VALUE/);
  });

  test('--tensor-type REGEX=TYPE lower-cases the pattern and parses ggml type names', () => {
    assert.deepEqual(parseTensorTypeOption('ATTN_V=Q8_0'), { pattern: 'attn_v', type: T.Q8_0 });
    assert.deepEqual(parseTensorTypeOption('blk\\.[0-3]\\.ffn=q4_k'), { pattern: 'blk\\.[0-3]\\.ffn', type: T.Q4_K });
    assert.throws(() => parseTensorTypeOption('=q8_0'), /missing tensor name/);
    assert.throws(() => parseTensorTypeOption('attn_v='), /missing quantization type/);
    assert.throws(() => parseTensorTypeOption('attn_v=q9'), /invalid quantization type/);
    assert.throws(() => parseTensorTypeOption('attn_v'), /malformed/);
  });
});

test('tensor order: non-layer tensors first by name, then layers numerically, names byte-wise', () => {
  const names = ['blk.10.attn_q.weight', 'output.weight', 'blk.2.ffn_up.weight', 'blk.2.attn_k.weight', 'token_embd.weight', 'blk.1.x', 'blkz', 'blk.9.a'];
  assert.deepEqual([...names].sort(compareTensorNames), [
    'blkz', 'output.weight', 'token_embd.weight', 'blk.1.x', 'blk.2.attn_k.weight', 'blk.2.ffn_up.weight', 'blk.9.a', 'blk.10.attn_q.weight',
  ]);
});

describe('planQuantization', () => {
  let dir: string;
  const headers = new Map<string, GgufHeader>();
  before(async () => {
    dir = await makeTempDir('policy');
    for (const v of MODEL_VARIANTS) {
      const path = join(dir, `${v.name}.gguf`);
      await writeSyntheticGguf(path, quantModel(v.options));
      headers.set(v.name, await readGgufHeader(path));
    }
  });
  after(() => removeTempDir(dir));

  test('Q4_K_M mixture on a 16-layer model: attn_v/ffn_down by use_more_bits, output Q6_K, norms kept', () => {
    const plan = planQuantization(headers.get('llama-256')!, { ftype: 'Q4_K_M' });
    const type = (name: string) => ggmlTypeName(plan.tensors.find((t) => t.name === name)!.targetType);
    // use_more_bits(i, 16): i < 2 || i >= 14 || (i - 2) % 3 == 2
    const more = [0, 1, 4, 7, 10, 13, 14, 15];
    for (let i = 0; i < 16; i++) {
      assert.equal(type(`blk.${i}.attn_v.weight`), more.includes(i) ? 'Q6_K' : 'Q4_K', `attn_v ${i}`);
      assert.equal(type(`blk.${i}.ffn_down.weight`), more.includes(i) ? 'Q6_K' : 'Q4_K', `ffn_down ${i}`);
      assert.equal(type(`blk.${i}.attn_norm.weight`), 'F32');
    }
    assert.equal(type('output.weight'), 'Q6_K');
    assert.equal(type('token_embd.weight'), 'Q4_K');
    assert.equal(plan.fileType, 15);
    assert.deepEqual(plan.kv.slice(-2).map((k) => [k.key, k.value]), [['general.quantization_version', 2], ['general.file_type', 15]]);
    const counts = tensorTypeCounts(plan);
    assert.equal(Object.values(counts).reduce((a, b) => a + b, 0), plan.tensors.length);
  });

  test('tied embeddings: token_embd takes the output rule', () => {
    const plan = planQuantization(headers.get('llama-gqa4-tied')!, { ftype: 'Q4_K_M' });
    assert.equal(plan.tensors.find((t) => t.name === 'token_embd.weight')!.targetType, T.Q6_K);
  });

  test('rows not divisible by 256 fall back (Q4_K → Q5_0, Q6_K → Q8_0; 176 % 32 ≠ 0 → F16)', () => {
    const plan = planQuantization(headers.get('llama-96-f16')!, { ftype: 'Q4_K_M' });
    const t = (name: string) => plan.tensors.find((x) => x.name === name)!.targetType;
    assert.equal(t('blk.3.attn_q.weight'), T.Q5_0);
    assert.equal(t('blk.0.attn_v.weight'), T.Q8_0);
    assert.equal(t('blk.5.ffn_down.weight'), T.F16);
    assert.ok(plan.fallbacks > 0);
  });

  test('an importance matrix changes the mixture (IQ4_XS ffn_down keeps IQ4_XS in the first layers)', () => {
    const h = headers.get('llama-256')!;
    const without = planQuantization(h, { ftype: 'IQ4_XS' });
    const withIm = planQuantization(h, { ftype: 'IQ4_XS', hasImatrix: true });
    const down0 = (p: typeof without) => p.tensors.find((t) => t.name === 'blk.0.ffn_down.weight')!.targetType;
    assert.equal(down0(without), T.Q5_K);
    assert.equal(down0(withIm), T.IQ4_XS);
    assert.deepEqual(planQuantization(h, { ftype: 'IQ4_XS', imatrix: syntheticImatrix(h) }).tensors.map((t) => t.targetType), withIm.tensors.map((t) => t.targetType));
  });

  test('refusals: requantizing without permission, missing imatrix, bad regex, mismatched imatrix size', () => {
    const h = headers.get('llama-256')!;
    const quantized: GgufHeader = { ...h, tensors: h.tensors.map((t) => (t.name === 'blk.3.attn_q.weight' ? { ...t, type: T.Q8_0, byteSize: 34 * 8 * 4 } : t)) };
    assert.throws(() => planQuantization(quantized, { ftype: 'Q4_K_M' }), (e: unknown) => e instanceof QuantfitError && e.location.tensor === 'blk.3.attn_q.weight' && /allow-requantize/.test(e.message));
    assert.equal(planQuantization(quantized, { ftype: 'Q4_K_M', allowRequantize: true }).tensors.find((t) => t.name === 'blk.3.attn_q.weight')!.quantize, true);
    assert.equal(planQuantization(quantized, { ftype: 'Q8_0' }).tensors.find((t) => t.name === 'blk.3.attn_q.weight')!.quantize, false, 'same type: copied');
    assert.throws(() => planQuantization(h, { ftype: 'IQ2_XXS' }), /needs an importance matrix/);
    assert.ok(planQuantization(h, { ftype: 'IQ2_XXS', hasImatrix: true }));
    assert.throws(() => planQuantization(h, { ftype: 'Q4_K_M', tensorTypes: [{ pattern: '(', type: T.Q8_0 }] }), /invalid tensor type pattern/);
    const im = syntheticImatrix(h);
    im.set('blk.4.ffn_up.weight', new Float32Array(256).fill(NaN));
    assert.throws(() => planQuantization(h, { ftype: 'Q4_K_M', imatrix: im }), /non-finite/);
    im.delete('blk.4.ffn_up.weight');
    im.set('blk.2.attn_k.weight', new Float32Array(5));
    assert.throws(() => planQuantization(h, { ftype: 'Q4_K_M', imatrix: im }), (e: unknown) => e instanceof QuantfitError && e.location.tensor === 'blk.2.attn_k.weight');
  });

  test('a forced type whose block does not fit the row is refused (llama.cpp aborts the process)', () => {
    const h = headers.get('llama-96-f16')!;
    assert.throws(() => planQuantization(h, { ftype: 'Q8_0', tokenEmbeddingType: T.Q4_K }), (e: unknown) => e instanceof QuantfitError && e.location.tensor === 'token_embd.weight' && /cannot store a row of 96/.test(e.message));
  });

  test('override-kv: ints written as u32 of |v|, floats as f32, existing keys moved to the end', () => {
    const plan = planQuantization(headers.get('llama-256')!, { ftype: 'Q8_0', overrideKv: ['general.name=str:x', 'a.int=int:-7', 'a.f=float:0.1'].map(parseKvOverride) });
    assert.deepEqual(plan.kv.slice(-3), [
      { key: 'general.name', type: GgufValueType.STRING, value: 'x' },
      { key: 'a.int', type: GgufValueType.UINT32, value: 7 },
      { key: 'a.f', type: GgufValueType.FLOAT32, value: Math.fround(0.1) },
    ]);
    assert.equal(plan.kv.filter((k) => k.key === 'general.name').length, 1);
  });

  const reason = quantizeOracleUnavailableReason();
  if (reason) console.log(`# skipping llama_model_quantize header parity: ${reason}`);

  const compare = async (variant: string, options: QuantizeOptions, tag: string) => {
    const oracle = loadQuantizeOracle()!;
    const input = headers.get(variant)!;
    const out = join(dir, `oracle-${variant}-${tag}.gguf`);
    let plan;
    let planError: unknown;
    try {
      plan = planQuantization(input, options);
    } catch (err) {
      planError = err;
      // llama.cpp aborts the whole process (GGML_ASSERT) on a forced type whose block does not fit the row.
      if (/cannot store a row/.test(String(err))) return;
    }
    const r = oracle.quantize(input.path, out, oracleParams(options));
    if (!plan) {
      assert.equal(r.ok, false, `${variant} ${tag}: we refused (${String(planError)}) but llama.cpp quantized`);
      return;
    }
    assert.ok(r.ok, `${variant} ${tag}: llama.cpp refused but we planned: ${r.log.split('\n').filter((l) => /error|fail/i.test(l)).join(' ')}`);
    assert.deepEqual(planDiffs(await readGgufHeader(out), plan), [], `${variant} ${tag}`);
  };

  test('plan = llama.cpp output header (types, order, shapes, offsets, KVs, size) for every variant × ftype', { skip: reason }, async () => {
    for (const v of MODEL_VARIANTS) for (const f of [...ISSUE_FTYPES, 'COPY']) await compare(v.name, { ftype: f }, f);
  });

  test('plan = llama.cpp output header for every option', { skip: reason }, async () => {
    for (const c of OPTION_CASES) for (const v of ['llama-256', 'llama-96-f16', 'moe8']) for (const f of c.ftypes) await compare(v, { ftype: f, ...c.options }, `${c.name}-${f}`);
  });

  test('plan = llama.cpp output header with an importance matrix (incl. IQ2_XXS, which needs one)', { skip: reason }, async () => {
    for (const v of ['llama-256', 'moe8', 'llama-gqa4-tied']) {
      const imatrix = syntheticImatrix(headers.get(v)!);
      for (const f of ['Q4_0', 'Q5_0', 'IQ4_XS', 'IQ4_NL', 'Q2_K_S', 'IQ2_XXS']) await compare(v, { ftype: f, imatrix }, `im-${f}`);
    }
  });

  // llama.cpp builds its IQ1/IQ2_S/IQ3 grids on first use: 10–30 s each on a small machine.
  const slowReason = reason ?? (process.env.QUANTFIT_SLOW_TESTS ? undefined : 'set QUANTFIT_SLOW_TESTS=1 (llama.cpp grid set-up takes minutes)');
  if (slowReason && !reason) console.log(`# skipping IQ1/IQ2_S/IQ3 header parity: ${slowReason}`);
  test('plan = llama.cpp output header for the other imatrix types (IQ1_S/M, IQ2_XS/S/M, IQ3_*)', { skip: slowReason }, async () => {
    for (const v of ['llama-256', 'moe8']) {
      const imatrix = syntheticImatrix(headers.get(v)!);
      for (const f of ['IQ2_XS', 'IQ2_S', 'IQ2_M', 'IQ1_S', 'IQ1_M', 'IQ3_XXS', 'IQ3_XS', 'IQ3_S', 'IQ3_M']) await compare(v, { ftype: f, imatrix }, `im-${f}`);
    }
  });
});

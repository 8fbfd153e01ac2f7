// Bad tokenizer folders: each is one clear error with a message code the catalogue knows, naming the
// file; the SentencePiece reader survives hundreds of corrupted models without a crash or a hang.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTokenizerKvs } from '../../src-main/core/convert/tokenizer/index.ts';
import { parseSentencePieceModel, PieceType } from '../../src-main/core/convert/tokenizer/sentencepiece-model.ts';
import { describeError, QuantfitError } from '../../src-main/core/errors.ts';
import { hasMessage } from '../../src-shared/messages/index.ts';
import { mulberry32 } from '../support/random.ts';
import { sentencePieceModelBytes, writeFolder } from '../support/tokenizer-files.ts';

async function withFolder(files: Record<string, string | Uint8Array | object>, fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'quantfit-tokbad-'));
  try {
    await writeFolder(dir, files);
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function refusal(dir: string, arch: string, config: object = {}): Promise<QuantfitError> {
  try {
    await readTokenizerKvs(dir, { architectures: [arch], ...config }, { arch });
  } catch (err) {
    assert.ok(err instanceof QuantfitError, `a QuantfitError, not ${String(err)}`);
    assert.ok(err.code !== undefined && hasMessage(err.code), `message code ${err.code} is in the catalogue`);
    for (const locale of ['en', 'zh-CN'] as const) {
      const line = describeError(err, locale);
      assert.ok(!line.includes('\n'), `one line: ${line}`);
      if (err.location.file !== undefined) assert.equal(line.split(err.location.file).length, 2, `names the file once: ${line}`);
    }
    return err;
  }
  assert.fail('expected a refusal');
}

test('no tokenizer files at all: tokenizer.missing, for each route', async () => {
  await withFolder({ 'config.json': {} }, async (dir) => {
    for (const arch of ['LlamaForCausalLM', 'Qwen2ForCausalLM', 'Qwen3MoeForCausalLM', 'Gemma2ForCausalLM', 'Gemma3ForCausalLM', 'Phi3ForCausalLM']) {
      const err = await refusal(dir, arch);
      assert.equal(err.code, 'tokenizer.missing', arch);
      assert.equal(err.location.file, dir);
    }
  });
});

test('a corrupt tokenizer.model: truncated, or random bytes', async () => {
  const llama2 = await sentencePieceModelBytes('llama2');
  await withFolder({ 'tokenizer.model': llama2.subarray(0, 250_001) }, async (dir) => {
    const err = await refusal(dir, 'LlamaForCausalLM');
    assert.equal(err.code, 'tokenizer.spmCorrupt');
    assert.equal(err.location.file, join(dir, 'tokenizer.model'));
  });
  const random = new Uint8Array(4096);
  const rand = mulberry32(7);
  for (let i = 0; i < random.length; i++) random[i] = Math.floor(rand() * 256);
  await withFolder({ 'tokenizer.model': random }, async (dir) => {
    assert.equal((await refusal(dir, 'Gemma2ForCausalLM')).code, 'tokenizer.spmCorrupt');
  });
});

test('tokenizer.json with a model type the BPE path cannot take', async () => {
  await withFolder({ 'tokenizer.json': { model: { type: 'WordPiece', vocab: { a: 0 } }, added_tokens: [] } }, async (dir) => {
    const err = await refusal(dir, 'Qwen2ForCausalLM');
    assert.equal(err.code, 'tokenizer.unknownModelType');
    assert.match(err.message, /WordPiece/);
  });
});

test('invalid JSON, an unsupported architecture, a negative special id', async () => {
  const llama2 = await sentencePieceModelBytes('llama2');
  await withFolder({ 'tokenizer.model': llama2, 'tokenizer_config.json': '{"add_bos_token": tru' }, async (dir) => {
    const err = await refusal(dir, 'LlamaForCausalLM');
    assert.equal(err.code, 'tokenizer.invalidJson');
    assert.equal(err.location.file, join(dir, 'tokenizer_config.json'));
  });
  await withFolder({ 'tokenizer.model': llama2 }, async (dir) => {
    assert.equal((await refusal(dir, 'GPT2LMHeadModel')).code, 'tokenizer.unsupportedArch');
    assert.equal((await refusal(dir, 'LlamaForCausalLM', { pad_token_id: -1 })).code, 'tokenizer.negativeSpecialId');
  });
});

test('the Llama-2 tokenizer.model decodes: 32000 pieces, <unk>/<s>/</s>, 256 byte pieces', async () => {
  const model = parseSentencePieceModel(await sentencePieceModelBytes('llama2'), 'tokenizer.model');
  assert.equal(model.pieces.length, 32000);
  assert.deepEqual(model.pieces.slice(0, 3).map((p) => [p.piece, p.type]), [['<unk>', PieceType.UNKNOWN], ['<s>', PieceType.CONTROL], ['</s>', PieceType.CONTROL]]);
  assert.equal(model.pieces.filter((p) => p.type === PieceType.BYTE).length, 256);
  assert.equal(model.pieces[3].piece, '<0x00>');
});

test('300 corrupted tokenizer.models: each parses or is refused with spmCorrupt, none crashes', () => {
  return sentencePieceModelBytes('llama2').then((original) => {
    const rand = mulberry32(11);
    let refused = 0;
    for (let n = 0; n < 300; n++) {
      const bytes = new Uint8Array(original.subarray(0, 4096 + Math.floor(rand() * 4096)));
      const flips = 1 + Math.floor(rand() * 8);
      for (let i = 0; i < flips; i++) bytes[Math.floor(rand() * bytes.length)] = Math.floor(rand() * 256);
      try {
        parseSentencePieceModel(bytes, 'fuzz.model');
      } catch (err) {
        assert.ok(err instanceof QuantfitError && err.code === 'tokenizer.spmCorrupt', `case ${n}: ${String(err)}`);
        refused++;
      }
    }
    assert.ok(refused > 250, `truncated models are refused (${refused}/300)`);
  });
});

/** A tiny byte-level BPE tokenizer.json: 256 byte symbols and a few merges, in the [a, b] form. */
function tinyByteLevelBpe(merges: [string, string][]): object {
  const vocab: Record<string, number> = {};
  const byteSymbols: string[] = [];
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    byteSymbols.push(printable ? String.fromCharCode(b) : '');
  }
  let extra = 0;
  for (let b = 0; b < 256; b++) if (byteSymbols[b] === '') byteSymbols[b] = String.fromCharCode(256 + extra++);
  byteSymbols.forEach((s, i) => { vocab[s] = i; });
  merges.forEach(([a, b], i) => { vocab[a + b] = 256 + i; });
  return {
    model: { type: 'BPE', vocab, merges, byte_fallback: false, ignore_merges: false },
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    decoder: { type: 'ByteLevel' },
    added_tokens: [{ id: 256 + merges.length, content: '<|endoftext|>', special: true, normalized: false }],
  };
}

test('a BPE tokenizer.json whose chktxt hash the converter does not know: tokenizer.unknownPre with the hash', async () => {
  await withFolder({ 'tokenizer.json': tinyByteLevelBpe([['Ġ', 'a'], ['h', 'e']]) }, async (dir) => {
    const err = await refusal(dir, 'Qwen2ForCausalLM');
    assert.equal(err.code, 'tokenizer.unknownPre', err.message);
    assert.match(String(err.params?.hash), /^[0-9a-f]{64}$/);
  });
});

test('an aborted signal stops the read with CancelledError', async () => {
  const { CancelledError } = await import('../../src-main/core/errors.ts');
  await withFolder({ 'tokenizer.model': await sentencePieceModelBytes('llama2') }, async (dir) => {
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(readTokenizerKvs(dir, {}, { arch: 'LlamaForCausalLM', signal: controller.signal }), CancelledError);
  });
});

/** Every path to a value inside a JSON document. */
function jsonPaths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [prefix];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...jsonPaths(v, [...prefix, i])));
  else if (typeof value === 'object' && value !== null) for (const [k, v] of Object.entries(value)) out.push(...jsonPaths(v, [...prefix, k]));
  return out;
}

function replaceAt(doc: unknown, path: readonly (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const copy = (Array.isArray(doc) ? [...doc] : { ...(doc as object) }) as Record<string | number, unknown>;
  copy[path[0]] = replaceAt(copy[path[0]], path.slice(1), value);
  return copy;
}

test('120 tokenizer_config.json/tokenizer.json with a value of the wrong kind: each converts or is refused with a code, none crashes', async () => {
  const tokenizerConfig = {
    add_bos_token: true, add_eos_token: false, bos_token: '<s>', eos_token: { content: '</s>', special: true }, sep_token: '<sep>',
    chat_template: [{ name: 'default', template: '{{ x }}' }, { name: 'tool', template: '{{ y }}' }],
    added_tokens_decoder: { 32000: { content: '<|im_start|>', special: true }, 32001: { content: 'x\u2581y', special: false } },
  };
  const tokenizerJson = {
    added_tokens: [{ id: 1, content: '<s>', special: true }, { id: 2, content: '</s>', special: true }, { id: 32000, content: '<|im_start|>', special: true }],
    normalizer: { type: 'Sequence', normalizers: [{ type: 'Lowercase' }, { type: 'BertNormalizer', lowercase: true, strip_accents: false }] },
    post_processor: { type: 'Sequence', processors: [
      { type: 'TemplateProcessing', single: [{ SpecialToken: { id: '<s>' } }, { Sequence: { id: 'A' } }, { SpecialToken: { id: '</s>' } }], pair: [{ SpecialToken: { id: '<s>' } }, { Sequence: { id: 'A' } }, { SpecialToken: { id: '<sep>' } }, { Sequence: { id: 'B' } }, { SpecialToken: { id: '</s>' } }] },
      { type: 'RobertaProcessing', cls: ['<s>', 1], sep: ['</s>', 2] },
    ] },
    model: { type: 'BPE', merges: [['a', 'b']], vocab: {} },
  };
  const oddValues: unknown[] = [null, 0, -1, 1.5, 40000, '', 'x', true, [], {}, [1, 2], { content: 3 }];
  const llama2 = await sentencePieceModelBytes('llama2');
  const rand = mulberry32(23);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)];
  const configPaths = jsonPaths(tokenizerConfig);
  const jsonPathsList = jsonPaths(tokenizerJson);
  await withFolder({ 'tokenizer.model': llama2 }, async (dir) => {
    const { writeFile } = await import('node:fs/promises');
    let converted = 0;
    for (let n = 0; n < 120; n++) {
      const inConfig = n % 2 === 0;
      const doc = inConfig ? replaceAt(tokenizerConfig, pick(configPaths), pick(oddValues)) : replaceAt(tokenizerJson, pick(jsonPathsList), pick(oddValues));
      await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify(inConfig ? doc : tokenizerConfig));
      await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(inConfig ? tokenizerJson : doc));
      const arch = pick(['LlamaForCausalLM', 'Phi3ForCausalLM', 'Gemma2ForCausalLM']);
      try {
        await readTokenizerKvs(dir, { architectures: [arch], vocab_size: 32002, pad_token_id: pick([0, null, 'x', 99999]) }, { arch });
        converted++;
      } catch (err) {
        assert.ok(err instanceof QuantfitError && err.code !== undefined && hasMessage(err.code), `case ${n} (${arch}): ${String(err)}\n${JSON.stringify(doc).slice(0, 400)}`);
      }
    }
    assert.ok(converted > 60, `most odd values are ignored as the converter ignores them (${converted}/120)`);
  });
});

test('a Llama folder with only a byte-fallback BPE tokenizer.json (the converter\'s LlamaHfVocab): refused by name, not guessed', async () => {
  const tj = { model: { type: 'BPE', byte_fallback: true, vocab: { '<unk>': 0 }, merges: [] }, decoder: { type: 'Sequence', decoders: [] }, added_tokens: [] };
  await withFolder({ 'tokenizer.json': tj }, async (dir) => {
    const err = await refusal(dir, 'LlamaForCausalLM');
    assert.equal(err.code, 'tokenizer.unsupportedKind');
    assert.equal(err.location.file, join(dir, 'tokenizer.json'));
  });
});

// Never make a model the user's Ollama cannot load: the version table, and `quantfit fit --type TQ1_0`
// refused before quantizing against an Ollama that reports 0.31.2, made and registered against 0.30.0.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { GgmlType } from '../../src-main/core/gguf/ggml-types.ts';
import { checkOllamaCompat, ftypeLoads, parseOllamaVersion, rendersGgufTemplate, tensorTypeLoads } from '../../src-main/core/ollama/compat.ts';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GgufValueType } from '../../src-main/core/gguf/types.ts';
import { registerGguf } from '../../src-main/core/ollama/register.ts';
import { startFakeOllama } from '../support/fake-ollama.ts';
import { parseModelfile } from '../support/go-template.ts';
import { makeTempDir, removeTempDir, tinyLlama, writeSyntheticGguf, type SyntheticModel } from '../support/synthetic-gguf.ts';
import { listDir, writeTinyLlama } from './support.ts';

describe('the Ollama compat table', () => {
  test('versions: release, v-prefixed, release candidate; dev builds and junk are unknown', () => {
    assert.deepEqual(parseOllamaVersion('0.31.2'), { major: 0, minor: 31, patch: 2 });
    assert.deepEqual(parseOllamaVersion('v0.33.0-rc2'), { major: 0, minor: 33, patch: 0 });
    assert.equal(parseOllamaVersion('0.0.0'), null);
    assert.equal(parseOllamaVersion('main'), null);
  });

  test('tensor types per version, as Ollama\'s source says', () => {
    const cases: Array<[string, string, boolean]> = [
      ['Q4_K', '0.1.0', true], ['IQ2_XXS', '0.5.0', true], ['BF16', '0.33.0', true],
      ['MXFP4', '0.11.4', false], ['MXFP4', '0.11.5', true],
      ['NVFP4', '0.29.9', false], ['NVFP4', '0.30.0', true], ['Q1_0', '0.30.0', true],
      ['TQ1_0', '0.29.1', false], ['TQ1_0', '0.30.0', true], ['TQ2_0', '0.31.1', true], ['TQ1_0', '0.31.2', false], ['TQ2_0', '0.33.0', false],
      ['Q2_0', '0.30.0', false], ['Q2_0', '0.33.0', false],
    ];
    for (const [type, version, ok] of cases) assert.equal(tensorTypeLoads(type, version), ok, `${type} on ${version}`);
    // An unknown version decides nothing: the test prompt does.
    assert.equal(tensorTypeLoads('TQ1_0', '0.0.0'), true);
    assert.equal(ftypeLoads('MXFP4_MOE', '0.11.0'), false);
    assert.equal(ftypeLoads('Q4_K_M', '0.11.0'), true);
    assert.equal(ftypeLoads('TQ2_0', '0.31.2'), false);
  });

  test('the per-tensor check names the type, a tensor, what works instead; the architecture too', () => {
    const tensors = [
      { name: 'token_embd.weight', type: GgmlType.Q4_K },
      { name: 'blk.0.attn_q.weight', type: GgmlType.TQ1_0 },
      { name: 'blk.0.attn_k.weight', type: GgmlType.TQ1_0 },
    ];
    const p = checkOllamaCompat({ tensors, architecture: 'llama' }, '0.31.2');
    assert.ok(p);
    assert.equal(p.message.code, 'ollama.compat.type_refused_since');
    assert.equal(
      p.text,
      'Ollama 0.31.2 cannot load TQ1_0 tensors (2 tensors, the first blk.0.attn_q.weight): Ollama refuses them since 0.31.2 ("size overflow"); ' +
        'choose IQ1_M, IQ2_XXS, Q2_K instead, or use an Ollama from 0.30.0 up to before 0.31.2',
    );
    assert.equal(checkOllamaCompat({ tensors, architecture: 'llama' }, '0.30.0'), null);
    assert.equal(checkOllamaCompat({ tensors, architecture: 'llama' }, '0.29.1')?.message.code, 'ollama.compat.type_needs_newer');
    assert.equal(checkOllamaCompat({ tensors: [{ name: 'x', type: GgmlType.Q2_0 }], architecture: null }, '0.33.0')?.message.code, 'ollama.compat.type_never');
    assert.equal(checkOllamaCompat({ tensors: [], architecture: 'no-such-arch' }, '0.33.0')?.message.code, 'ollama.compat.architecture');
    assert.equal(checkOllamaCompat({ tensors: [], architecture: 'qwen3moe' }, '0.33.0'), null);
  });

  test('the GGUF\'s own chat template is rendered by Ollama 0.30 and newer', () => {
    assert.deepEqual(['0.29.1', '0.30.0', '0.33.0', '0.0.0'].map(rendersGgufTemplate), [false, true, true, false]);
    assert.equal(rendersGgufTemplate(null), false);
  });
});

interface Run { status: number | null; stdout: string; stderr: string }

function quantfit(args: string[]): Promise<Run> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ['bin/quantfit.mjs', 'fit', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (status) => done({ status, stdout, stderr }));
  });
}

describe('quantfit fit --type TQ1_0 against the server\'s version', () => {
  let dir: string;
  let model: string;
  before(async () => {
    dir = await makeTempDir('fit-compat');
    // Rows of 256 so every weight can be TQ1_0 (its block is 256 wide).
    model = await writeTinyLlama(dir, 'ternary', { seed: 5, nEmbd: 256, nFf: 256, nVocab: 256, nHead: 4, nHeadKv: 2 });
  });
  after(async () => {
    await removeTempDir(dir);
  });

  test('Ollama 0.31.2: refused before quantizing, one line with the reason and what works', async () => {
    const fake = await startFakeOllama({ version: '0.31.2' });
    try {
      const r = await quantfit([model, '--type', 'TQ1_0', '--name', 'tern:tq1', '--host', fake.url, '--out', dir, '--json']);
      assert.equal(r.status, 1, r.stderr);
      const lines = r.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, /^quantfit: error: .*ternary\.gguf: Ollama 0\.31\.2 cannot load TQ1_0 tensors \(\d+ tensors, the first [\w.]+\): Ollama refuses them since 0\.31\.2 .*choose IQ1_M, IQ2_XXS, Q2_K instead/);
      // Nothing was quantized or sent: no quantize stage started, no output file, no blob.
      const stages = r.stdout.split('\n').filter((l) => l.includes('"type":"stage"')).map((l) => JSON.parse(l) as { stage: string; status: string });
      assert.equal(stages.some((s) => s.stage === 'quantize'), false);
      assert.deepEqual((await listDir(dir)).filter((n) => n !== 'ternary.gguf'), []);
      assert.deepEqual(await fake.blobNames(), []);
      assert.equal(fake.requests.some((q) => q.method === 'POST'), false);
      // The same refusal in Simplified Chinese.
      const zh = await quantfit(['--lang', 'zh-CN', model, '--type', 'TQ1_0', '--name', 'tern:tq1', '--host', fake.url]);
      assert.equal(zh.status, 1, zh.stderr);
      assert.match(zh.stderr, /^检查…… .*ternary\.gguf$/m);
      assert.match(zh.stderr.trim().split('\n').at(-1) ?? '', /^quantfit：错误：.*ternary\.gguf：Ollama 0\.31\.2 无法加载 TQ1_0 张量.*请改用 IQ1_M, IQ2_XXS, Q2_K/);
    } finally {
      await fake.stop();
    }
  });

  test('Ollama 0.30.0: quantized, registered, and the test prompt answers', async () => {
    const fake = await startFakeOllama({ version: '0.30.0' });
    const out = await makeTempDir('fit-compat-out');
    try {
      const r = await quantfit([model, '--type', 'TQ1_0', '--name', 'tern:tq1', '--host', fake.url, '--out', out, '--json']);
      assert.equal(r.status, 0, r.stderr);
      const final = JSON.parse(r.stdout.trimEnd().split('\n').at(-1)!) as { model: string; type: string; verify: { tokensPerSecond: number } | null };
      assert.equal(final.model, 'tern:tq1');
      assert.equal(final.type, 'TQ1_0');
      assert.equal(typeof final.verify?.tokensPerSecond, 'number');
      assert.notEqual(await fake.manifest('tern:tq1'), null);
    } finally {
      await fake.stop();
      await removeTempDir(out);
    }
  });
});

describe('the chat template follows the server version', () => {
  // A ChatML Jinja template far enough from Ollama's own (tool calls) that it matches none of them.
  const JINJA =
    "{%- if tools %}{{ '<|im_start|>system\\n# Tools\\n' + (tools | tojson) + '<|im_end|>\\n' }}{%- endif %}" +
    "{% for m in messages %}{{'<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{{ '<|im_start|>assistant\\n' }}";
  let dir: string;
  before(async () => {
    dir = await makeTempDir('template-version');
  });
  after(async () => {
    await removeTempDir(dir);
  });

  async function withChatTemplate(name: string): Promise<string> {
    const base = tinyLlama({ seed: 9 });
    const model: SyntheticModel = { ...base, kv: [...(base.kv ?? []), { key: 'tokenizer.chat_template', type: GgufValueType.STRING, value: JINJA }] };
    const path = join(dir, `${name}.gguf`);
    await writeSyntheticGguf(path, model);
    return path;
  }

  const cases = [
    { version: '0.33.0', profile: 'v0.33', goTemplate: false, kind: 'gguf' },
    { version: '0.30.0', profile: 'v0.33', goTemplate: false, kind: 'gguf' },
    { version: '0.33.0', profile: 'v0.33', goTemplate: true, kind: 'own' },
    { version: '0.29.1', profile: 'pre-0.30', goTemplate: false, kind: 'own' },
  ] as const;
  for (const c of cases) {
    test(`Ollama ${c.version}${c.goTemplate ? ' with --go-template' : ''}: ${c.kind === 'gguf' ? 'no Go template, Ollama renders the GGUF\'s' : 'Quantfit\'s Go template'}`, async () => {
      const fake = await startFakeOllama({ version: c.version, profile: c.profile, templatesDir: null });
      try {
        const path = await withChatTemplate(`chat-${c.version}-${c.goTemplate}`);
        const r = await registerGguf({ ggufPath: path, name: 'chat', host: fake.url, verify: false, goTemplate: c.goTemplate });
        assert.equal(r.template.kind, c.kind);
        assert.deepEqual(r.warnings, []);
        const create = fake.requests.find((q) => q.path === '/api/create')?.body as { template?: string; parameters?: { stop?: string[] } };
        const mf = parseModelfile(await readFile(r.modelfilePath ?? '', 'utf8'));
        if (c.kind === 'gguf') {
          assert.equal('template' in create, false);
          assert.equal(create.parameters?.stop, undefined);
          assert.equal(mf.template, null);
        } else {
          assert.match(create.template ?? '', /<\|im_start\|>/);
          assert.equal(mf.template, create.template);
        }
      } finally {
        await fake.stop();
      }
    });
  }
});

// Model references: every form the CLI and the app accept, and the malformed ones refused with a code.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatModelReference, parseModelReference } from '../../src-main/core/sources/reference.ts';
import { hubSettings } from '../../src-main/core/sources/hub-settings.ts';
import { chooseModelFiles, ggufTypeFromName } from '../../src-main/core/sources/hub.ts';
import { pickle, unpickle } from '../../src-main/core/sources/pickle.ts';
import { spawnSync } from 'node:child_process';

const hub = (hubName: 'huggingface' | 'modelscope', repo: string, revision: string | null, path: string | null, endpoint: string | null = null) =>
  ({ kind: 'hub', hub: hubName, repo, revision, path, endpoint });

test('references in every accepted form', () => {
  const cases: Array<[string, unknown]> = [
    ['model.gguf', { kind: 'path', path: 'model.gguf' }],
    ['C:\\models\\x.gguf', { kind: 'path', path: 'C:\\models\\x.gguf' }],
    ['ollama:qwen2.5:7b-instruct-fp16', { kind: 'ollama', name: 'qwen2.5:7b-instruct-fp16' }],
    ['ollama:llama3', { kind: 'ollama', name: 'llama3' }],
    ['hf:Qwen/Qwen2.5-0.5B-Instruct', hub('huggingface', 'Qwen/Qwen2.5-0.5B-Instruct', null, null)],
    ['hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF@main/qwen2.5-0.5b-instruct-fp16.gguf', hub('huggingface', 'Qwen/Qwen2.5-0.5B-Instruct-GGUF', 'main', 'qwen2.5-0.5b-instruct-fp16.gguf')],
    ['hf:org/repo@refs/pr/3/sub/x.gguf', hub('huggingface', 'org/repo', 'refs/pr/3', 'sub/x.gguf')],
    ['hf:org/repo/sub', hub('huggingface', 'org/repo', null, 'sub')],
    ['modelscope:qwen/Qwen2.5-0.5B-Instruct@v1.0', hub('modelscope', 'qwen/Qwen2.5-0.5B-Instruct', 'v1.0', null)],
    ['https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct', hub('huggingface', 'Qwen/Qwen2.5-0.5B-Instruct', null, null)],
    ['https://huggingface.co/org/repo/blob/main/x-f16.gguf', hub('huggingface', 'org/repo', 'main', 'x-f16.gguf')],
    ['https://huggingface.co/org/repo/resolve/abc123/a/b.gguf?download=true', hub('huggingface', 'org/repo', 'abc123', 'a/b.gguf')],
    ['https://hf-mirror.com/org/repo/tree/main', hub('huggingface', 'org/repo', 'main', null, 'https://hf-mirror.com')],
    ['https://modelscope.cn/models/qwen/Qwen2.5-0.5B-Instruct/files', hub('modelscope', 'qwen/Qwen2.5-0.5B-Instruct', null, null)],
    ['https://www.modelscope.cn/models/qwen/Qwen2-0.5B-Instruct-GGUF/file/view/master/qwen2-0_5b-instruct-fp16.gguf', hub('modelscope', 'qwen/Qwen2-0.5B-Instruct-GGUF', 'master', 'qwen2-0_5b-instruct-fp16.gguf')],
  ];
  for (const [text, want] of cases) assert.deepEqual(parseModelReference(text), want, text);
  assert.equal(formatModelReference(parseModelReference('hf:org/repo@v2/x.gguf')), 'hf:org/repo@v2/x.gguf');
});

test('malformed references are refused with a code naming what is wrong', () => {
  const cases: Array<[string, string]> = [
    ['', 'sources.ref.empty'],
    ['ollama:bad name', 'sources.ref.badOllamaName'],
    ['ollama:', 'sources.ref.badOllamaName'],
    ['hf:justone', 'sources.ref.badRepo'],
    ['hf:-org/repo', 'sources.ref.badRepo'],
    ['hf:org/repo/../../etc/passwd', 'sources.ref.badPath'],
    ['hf:org/repo@a..b', 'sources.ref.badRevision'],
    ['https://example.com/org/repo', 'sources.ref.unknownSite'],
    ['https://huggingface.co/datasets/org/ds', 'sources.ref.notModel'],
    ['https://huggingface.co/org/repo/commits/main', 'sources.ref.badUrl'],
  ];
  for (const [text, code] of cases) {
    assert.throws(() => parseModelReference(text), (e: Error & { code?: string }) => e.code === code, text);
  }
});

test('hub settings follow the variables every tool reads; explicit settings win', () => {
  const env = { HOME: '/h', HF_ENDPOINT: 'https://hf-mirror.com/', HF_TOKEN: 'hf_x', HF_HOME: '/data/hf', MODELSCOPE_CACHE: '/data/ms' };
  const s = hubSettings({}, env);
  assert.equal(s.hfEndpoint, 'https://hf-mirror.com');
  assert.equal(s.hfToken, 'hf_x');
  assert.equal(s.hfCache, '/data/hf/hub');
  assert.equal(s.modelscopeCache, '/data/ms');
  assert.equal(hubSettings({}, { ...env, HF_HUB_CACHE: '/c' }).hfCache, '/c');
  assert.equal(hubSettings({ hfEndpoint: 'http://127.0.0.1:1' }, env).hfEndpoint, 'http://127.0.0.1:1');
  assert.equal(hubSettings({ hfToken: '' }, env).hfToken, 'hf_x', 'an empty setting falls back to the environment');
});

test('the file picked from a repo: F16/BF16 GGUF first, else Q8_0; safetensors → the whole folder', () => {
  const f = (path: string, size = 10) => ({ path, size, sha256: null });
  assert.equal(ggufTypeFromName('Qwen2.5-0.5B-Instruct-BF16.gguf'), 'bf16');
  assert.equal(ggufTypeFromName('qwen2.5-0.5b-instruct-q4_k_m.gguf'), 'q4_k_m');
  const gguf = chooseModelFiles([f('README.md'), f('m-q4_k_m.gguf'), f('m-q8_0.gguf'), f('m-fp16.gguf'), f('mmproj-f16.gguf')], null);
  assert.deepEqual(gguf.files.map((x) => x.path), ['m-fp16.gguf']);
  assert.deepEqual(chooseModelFiles([f('m-q4_k_m.gguf'), f('m-q8_0.gguf')], null).files.map((x) => x.path), ['m-q8_0.gguf']);
  const folder = chooseModelFiles([f('config.json'), f('model.safetensors'), f('tokenizer.json'), f('README.md'), f('pytorch_model.bin'), f('.gitattributes')], null);
  assert.equal(folder.kind, 'hf-folder');
  assert.deepEqual(folder.files.map((x) => x.path).sort(), ['config.json', 'model.safetensors', 'tokenizer.json']);
  assert.throws(() => chooseModelFiles([f('README.md'), f('pytorch_model.bin'), f('config.json')], null), (e: Error & { code?: string }) => e.code === 'sources.hub.noModel');
});

test('ModelScope\'s cache index: our pickles read back, and Python reads and writes the same values', () => {
  const entries = [{ Path: 'config.json', Revision: 'abc' }, { Path: 'model-fp16.gguf', Revision: 'abc' }];
  assert.deepEqual(unpickle(pickle(entries)), entries);
  const py = spawnSync('python3', ['-c', 'import pickle,sys; v=pickle.load(sys.stdin.buffer); sys.stdout.buffer.write(pickle.dumps(v + [{"Path": "é.txt", "Revision": "d"}], protocol=4))'], { input: Buffer.from(pickle(entries)) });
  if (py.status !== 0 || py.error) {
    console.log('# python3 not usable here; pickle cross-check skipped');
    return;
  }
  assert.deepEqual(unpickle(py.stdout), [...entries, { Path: 'é.txt', Revision: 'd' }]);
});

test('every sources.* code the core throws has an English and a Chinese text with the same parameters', async () => {
  const { readFileSync, readdirSync } = await import('node:fs');
  const { catalogue } = await import('../../src-shared/messages/sources.ts');
  const dirs = ['src-main/core/sources', 'src-main/core/ollama'];
  const codes = new Set<string>();
  for (const d of dirs) {
    for (const f of readdirSync(d)) {
      if (!f.endsWith('.ts')) continue;
      for (const m of readFileSync(`${d}/${f}`, 'utf8').matchAll(/'(sources\.[a-zA-Z]+\.[a-zA-Z]+)'/g)) codes.add(m[1]!);
    }
  }
  assert.ok(codes.size > 30);
  const params = (t: string) => [...t.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
  const en = catalogue.en as Record<string, string>;
  const zh = catalogue['zh-CN'] as Record<string, string>;
  for (const c of codes) {
    assert.ok(en[c] !== undefined && zh[c] !== undefined, `no text for ${c}`);
    assert.deepEqual(params(zh[c]!), params(en[c]!), c);
  }
  assert.deepEqual(Object.keys(zh).sort(), Object.keys(en).sort());
});

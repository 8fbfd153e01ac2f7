// The Ollama bridge's pure parts: names, hosts, Modelfile quoting, template choice, stop tokens,
// binary search. No server involved.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { QuantfitError } from '../../src-main/core/errors.ts';
import { GgufValueType, type GgufKv } from '../../src-main/core/gguf/types.ts';
import { placementOf } from '../../src-main/core/ollama/client.ts';
import { parseShownStops } from '../../src-main/core/ollama/register.ts';
import { isLoopbackHost, parseHostValue, resolveOllamaHost } from '../../src-main/core/ollama/host.ts';
import { modelfileFrom, modelfilePathFor, quoteModelfileValue, renderModelfile } from '../../src-main/core/ollama/modelfile.ts';
import { displayName, parseModelName, sameModel } from '../../src-main/core/ollama/names.ts';
import { findOllamaBinary, usualOllamaLocations } from '../../src-main/core/ollama/server.ts';
import { detectChatFamily, endOfTurnTokens, planTemplate, FAMILY_TEMPLATES } from '../../src-main/core/ollama/templates.ts';

test('model names follow Ollama\'s grammar and defaults', () => {
  assert.deepEqual(parseModelName('llama3'), { host: 'registry.ollama.ai', namespace: 'library', model: 'llama3', tag: 'latest' });
  assert.deepEqual(parseModelName('me/m:q4_k_m'), { host: 'registry.ollama.ai', namespace: 'me', model: 'm', tag: 'q4_k_m' });
  assert.deepEqual(parseModelName('localhost:5000/ns/m'), { host: 'localhost:5000', namespace: 'ns', model: 'm', tag: 'latest' });
  assert.deepEqual(parseModelName('https://h.example/ns/m:t'), { host: 'h.example', namespace: 'ns', model: 'm', tag: 't' });
  assert.equal(parseModelName('stories:f32')?.tag, 'f32');
  for (const bad of ['', 'm:', '/m', 'a/b/c/d', '-m', 'm@sha256:00', 'ns.x/m', 'm:-t', 'x'.repeat(81), `m:${'t'.repeat(81)}`, 'm m']) {
    assert.equal(parseModelName(bad), null, `'${bad}' must be invalid`);
  }
  assert.ok(parseModelName('x'.repeat(80)));
  assert.ok(parseModelName('_m.1-2:v1.0_b'));
  assert.equal(displayName(parseModelName('m')!), 'm:latest');
  assert.equal(displayName(parseModelName('me/m')!), 'me/m:latest');
  assert.equal(displayName(parseModelName('h:1/ns/m:t')!), 'h:1/ns/m:t');
  assert.ok(sameModel(parseModelName('Foo:Latest')!, parseModelName('foo')!));
  assert.ok(!sameModel(parseModelName('foo:a')!, parseModelName('foo:b')!));
});

test('hosts parse like OLLAMA_HOST and stay on this machine unless the user names another', () => {
  assert.equal(parseHostValue('').url, 'http://127.0.0.1:11434');
  assert.equal(parseHostValue('localhost').url, 'http://localhost:11434');
  assert.equal(parseHostValue(':8080').url, 'http://127.0.0.1:8080');
  assert.equal(parseHostValue('0.0.0.0').url, 'http://127.0.0.1:11434');
  assert.equal(parseHostValue('http://box').url, 'http://box:80');
  assert.equal(parseHostValue('https://box/').url, 'https://box:443');
  assert.equal(parseHostValue('[::1]:9000').url, 'http://[::1]:9000');
  assert.equal(parseHostValue('10.0.0.5:11434').hostname, '10.0.0.5');
  assert.throws(() => parseHostValue('ftp://x'), /scheme must be http or https/);

  for (const h of ['localhost', 'LOCALHOST', '127.0.0.1', '127.1.2.3', '::1', '[::1]', '::ffff:127.0.0.1']) assert.ok(isLoopbackHost(h), h);
  // A '.localhost' name goes to the system resolver (and maybe DNS) in Node: not trusted as local.
  for (const h of ['10.0.0.5', 'example.com', '192.168.1.2', '::2', 'a.localhost', 'localhost.evil.example', '0x7f000001']) assert.ok(!isLoopbackHost(h), h);
  assert.throws(() => resolveOllamaHost({ env: { OLLAMA_HOST: 'http://box.localhost:11434' } }), /OLLAMA_HOST points at another machine/);

  assert.deepEqual(resolveOllamaHost({ env: {} }), { url: 'http://127.0.0.1:11434', source: 'default', loopback: true });
  assert.deepEqual(resolveOllamaHost({ env: { OLLAMA_HOST: '127.0.0.1:9999' } }), { url: 'http://127.0.0.1:9999', source: 'env', loopback: true });
  assert.throws(() => resolveOllamaHost({ env: { OLLAMA_HOST: 'gpu-box:11434' } }), (err: unknown) => {
    assert.ok(err instanceof QuantfitError);
    assert.match(err.message, /another machine \(http:\/\/gpu-box:11434\).*--host/);
    return true;
  });
  const explicit = resolveOllamaHost({ explicit: 'gpu-box', env: { OLLAMA_HOST: '127.0.0.1:1' } });
  assert.deepEqual(explicit, { url: 'http://gpu-box:11434', source: 'user', loopback: false });
});

test('Modelfile values are quoted so Ollama\'s parser reads them back unchanged', () => {
  assert.equal(quoteModelfileValue('<|im_end|>', 'stop'), '<|im_end|>');
  assert.equal(quoteModelfileValue(' lead', 'stop'), '" lead"');
  assert.equal(quoteModelfileValue('two\nlines', 'system'), '"two\nlines"');
  assert.equal(quoteModelfileValue('say "hi"\nnow', 'system'), '"""say "hi"\nnow"""');
  assert.equal(quoteModelfileValue('"quoted"', 'stop'), '""""quoted""""');
  assert.throws(() => quoteModelfileValue('a """ b\n', 'system prompt'), /system prompt cannot be written to a Modelfile/);

  const text = renderModelfile({ from: './m.gguf', template: '{{ if eq .Role "user" }}x{{ end }}\n', system: 'Be brief.', stop: ['<|eot_id|>', '</s>'], numCtx: 8192 });
  const lines = text.split('\n');
  assert.equal(lines[1], 'FROM ./m.gguf');
  assert.equal(lines[2], 'TEMPLATE """{{ if eq .Role "user" }}x{{ end }}');
  assert.equal(lines[3], '"""');
  assert.deepEqual(lines.slice(4), ['SYSTEM Be brief.', 'PARAMETER stop <|eot_id|>', 'PARAMETER stop </s>', 'PARAMETER num_ctx 8192', '']);
  assert.equal(modelfilePathFor('/x/y/Model-Q4_K_M.gguf'), '/x/y/Model-Q4_K_M.Modelfile');
  assert.equal(modelfileFrom('/x/y/M.Modelfile', '/x/y/M.gguf'), './M.gguf');
  assert.equal(modelfileFrom('/elsewhere/M.Modelfile', '/x/y/M.gguf'), '/x/y/M.gguf');
});

const SNIPPETS: Record<string, string> = {
  llama3: "{% for m in messages %}{{ '<|start_header_id|>' + m['role'] + '<|end_header_id|>\\n\\n' + m['content'] + '<|eot_id|>' }}{% endfor %}",
  chatml: "{% for m in messages %}{{'<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n'}}{% endfor %}",
  gemma: "{% for m in messages %}{{ '<start_of_turn>' + role + '\\n' + m['content'] | trim + '<end_of_turn>\\n' }}{% endfor %}",
  phi3: "{% for m in messages %}{{'<|' + m['role'] + '|>\\n' + m['content'] + '<|end|>\\n'}}{% endfor %}{{ '<|assistant|>\\n' }}",
  llama2: "{{ bos_token + '[INST] <<SYS>>\\n' + system + '\\n<</SYS>>\\n\\n' + m['content'] + ' [/INST]' }}",
  mistral: "{{ bos_token }}{% for m in messages %}{{ '[INST] ' + m['content'] + ' [/INST]' }}{% endfor %}",
};

test('chat families are recognised by their markers', () => {
  for (const [family, jinja] of Object.entries(SNIPPETS)) assert.equal(detectChatFamily(jinja)?.family, family, family);
  assert.equal(detectChatFamily("{{ '<|user|>\\n' + m['content'] + eos_token }}{{ '<|assistant|>' }}"), null, 'zephyr is not phi-3');
  assert.equal(detectChatFamily('{{ messages }}'), null);
});

const OLLAMA_INDEX = join(process.cwd(), '..', 'shared', 'ollama-templates', 'index.json');
const indexReason = existsSync(OLLAMA_INDEX) ? undefined : 'the shared Ollama template index is absent';
if (indexReason) console.log(`# skipping Ollama index family check: ${indexReason}`);

test('every Jinja template Ollama ships for our families maps to that family', { skip: indexReason }, () => {
  const index = JSON.parse(readFileSync(OLLAMA_INDEX, 'utf8')) as Array<{ name: string; template: string }>;
  const expected: Record<string, string> = {
    'llama3-instruct': 'llama3', chatml: 'chatml', 'gemma-instruct': 'gemma', 'gemma3-instruct': 'gemma',
    'phi-3': 'phi3', 'llama2-chat': 'llama2', 'mistral-instruct': 'mistral',
  };
  let checked = 0;
  for (const entry of index) {
    const want = expected[entry.name];
    if (!want) continue;
    assert.equal(detectChatFamily(entry.template)?.family, want, `${entry.name}: ${entry.template.slice(0, 80)}`);
    checked++;
  }
  assert.ok(checked >= 15, `checked ${checked} templates`);
  // Zephyr and Alpaca look alike in places but are not families we template.
  for (const entry of index.filter((e) => e.name === 'zephyr' || e.name === 'alpaca')) assert.equal(detectChatFamily(entry.template), null, entry.name);
});

function strArray(key: string, items: string[]): GgufKv {
  return { key, type: GgufValueType.ARRAY, value: { elementType: GgufValueType.STRING, items } };
}

test('stop strings come from the family and the eos/eot token ids', () => {
  const tokens = ['<unk>', '<s>', '</s>', '<|eot_id|>', '<|end_of_text|>'];
  const kv: GgufKv[] = [
    strArray('tokenizer.ggml.tokens', tokens),
    { key: 'tokenizer.ggml.eos_token_id', type: GgufValueType.UINT32, value: 4 },
    { key: 'tokenizer.ggml.eot_token_id', type: GgufValueType.UINT32, value: 3 },
    { key: 'tokenizer.chat_template', type: GgufValueType.STRING, value: SNIPPETS.llama3! },
  ];
  assert.deepEqual(endOfTurnTokens(kv), ['<|end_of_text|>', '<|eot_id|>']);
  const plan = planTemplate(kv);
  assert.equal(plan.choice.kind, 'own');
  assert.equal(plan.template, FAMILY_TEMPLATES.find((f) => f.family === 'llama3')!.template);
  assert.deepEqual(plan.stop, ['<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>', '<|end_of_text|>']);
  assert.deepEqual(plan.warnings, []);

  // An id outside the vocabulary is ignored rather than guessed.
  assert.deepEqual(endOfTurnTokens([strArray('tokenizer.ggml.tokens', tokens), { key: 'tokenizer.ggml.eos_token_id', type: GgufValueType.UINT32, value: 99 }]), []);

  const bare = planTemplate([strArray('tokenizer.ggml.tokens', tokens), { key: 'tokenizer.ggml.eos_token_id', type: GgufValueType.UINT32, value: 2 }]);
  assert.equal(bare.choice.kind, 'none');
  assert.equal(bare.template, null);
  assert.deepEqual(bare.stop, ['</s>']);
  assert.match(bare.warnings[0]!, /no tokenizer\.chat_template: registering without a chat template/);

  const unknown = planTemplate([{ key: 'tokenizer.chat_template', type: GgufValueType.STRING, value: '### Human: {{ x }}' }]);
  assert.equal(unknown.choice.kind, 'none');
  assert.match(unknown.warnings[0]!, /matches none of the families/);

  const user = planTemplate(kv, '{{ .Prompt }}');
  assert.equal(user.choice.kind, 'user');
  assert.equal(user.template, '{{ .Prompt }}');
});

test('the ollama binary is found on PATH first, then in the usual install places', () => {
  const present = new Set(['/opt/bin/ollama', '/usr/local/bin/ollama']);
  const isExecutable = (p: string) => present.has(p);
  assert.equal(findOllamaBinary({ platform: 'linux', env: { PATH: '/nope:/opt/bin' }, isExecutable }), '/opt/bin/ollama');
  assert.equal(findOllamaBinary({ platform: 'linux', env: { PATH: '/nope' }, isExecutable }), '/usr/local/bin/ollama');
  assert.equal(findOllamaBinary({ platform: 'linux', env: { PATH: '' }, isExecutable: () => false }), null);
  assert.ok(usualOllamaLocations('darwin', {}).includes('/Applications/Ollama.app/Contents/Resources/ollama'));
  const win = usualOllamaLocations('win32', { LOCALAPPDATA: 'C:\\Users\\u\\AppData\\Local' });
  assert.match(win[0]!, /Programs.Ollama.ollama\.exe$/);
});

test('placement follows ollama ps: all GPU, all CPU, or a split', () => {
  assert.deepEqual(placementOf(100, 100), { placement: 'gpu', gpuPercent: 100 });
  assert.deepEqual(placementOf(100, 0), { placement: 'cpu', gpuPercent: 0 });
  assert.deepEqual(placementOf(100, 37), { placement: 'split', gpuPercent: 37 });
});

test('stop strings are read back from /api/show parameters (Go-quoted values)', () => {
  const text = ['num_ctx                        2048', 'stop                           "<|im_start|>"', 'stop                           "say \\"end\\""', 'temperature                    0.1'].join('\n');
  assert.deepEqual(parseShownStops(text), ['<|im_start|>', 'say "end"']);
  assert.deepEqual(parseShownStops(''), []);
});

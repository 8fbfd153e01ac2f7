import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXTERNAL_LINKS, type FitRequest } from '../../src-shared/contract.ts';
import { IpcValidationError, MEASURE_TYPES_MAX, measureTypeList, validateArgs } from '../../src-main/electron/ipc-validate.ts';

const dir = await mkdtemp(join(tmpdir(), 'qf-ipc-'));
const file = join(dir, 'model.gguf');
await writeFile(file, 'GGUF');
test.after(() => rm(dir, { recursive: true, force: true }));

const rejects = (p: Promise<unknown>, re: RegExp) => assert.rejects(p, (e: unknown) => e instanceof IpcValidationError && re.test(e.message));

const fit = (over: Partial<Record<keyof FitRequest, unknown>> = {}): Record<string, unknown> => ({
  modelPath: file, type: 'Q4_K_M', contextLength: 4096, outputDir: dir, modelName: 'tiny:q4_k_m',
  register: true, force: false, imatrixPath: null, predictedBytes: 123, allowRequantize: false, source: null, checkQuality: false, ...over,
});

test('ipc: arity is exact', async () => {
  await rejects(validateArgs('hardware', [1]), /takes 0 arguments \(got 1\)/);
  await rejects(validateArgs('inspectModel', []), /takes 1 argument \(got 0\)/);
  await rejects(validateArgs('recommend', [file, 4096]), /takes 3 arguments/);
  assert.deepEqual(await validateArgs('listModels', []), []);
});

test('ipc: unknown method is refused', async () => {
  await rejects(validateArgs('evil' as 'hardware', []), /unknown method 'evil'/);
});

test('ipc: model paths must be absolute existing files', async () => {
  assert.deepEqual(await validateArgs('inspectModel', [file]), [file]);
  await rejects(validateArgs('inspectModel', ['model.gguf']), /model must be an absolute path/);
  await rejects(validateArgs('inspectModel', [join(dir, 'nope.gguf')]), /does not exist/);
  // A folder is a model too (Hugging Face layout); a device is neither a file nor a folder.
  assert.deepEqual(await validateArgs('inspectModel', [dir]), [dir]);
  await rejects(validateArgs('inspectModel', ['/dev/null']), /is neither a file nor a folder/);
  await rejects(validateArgs('inspectModel', [42]), /model must be a string/);
  await rejects(validateArgs('inspectModel', [`${file}\0x`]), /NUL/);
  await rejects(validateArgs('inspectModel', ['/'.repeat(5000)]), /1–4096 characters/);
});

test('ipc: recommend checks the context range and option fields', async () => {
  assert.deepEqual(await validateArgs('recommend', [file, 4096, {}]), [file, 4096, {}]);
  assert.deepEqual(await validateArgs('recommend', [file, 4096, { imatrixPath: file }]), [file, 4096, { imatrixPath: file }]);
  await rejects(validateArgs('recommend', [file, 100, {}]), /context length must be between 256 and 1048576 \(got 100\)/);
  await rejects(validateArgs('recommend', [file, 4096.5, {}]), /context length must be a whole number/);
  await rejects(validateArgs('recommend', [file, '4096', {}]), /whole number/);
  await rejects(validateArgs('recommend', [file, 4096, { gpu: 1 }]), /unknown field 'gpu'/);
  await rejects(validateArgs('recommend', [file, 4096, null]), /must be an object/);
  await rejects(validateArgs('recommend', [file, 4096, []]), /must be an object/);
});

test('ipc: a complete fit request passes; every bad field is named', async () => {
  const [ok] = await validateArgs('startFit', [fit()]);
  assert.equal(ok.modelPath, file);
  assert.equal(ok.contextLength, 4096);
  await rejects(validateArgs('startFit', [fit({ type: 'q4_k_m' })]), /quant type 'q4_k_m' is not a quant type name/);
  await rejects(validateArgs('startFit', [fit({ type: 'Q9_K_X' })]), /quant type 'Q9_K_X' is not a quant type name/);
  assert.equal((await validateArgs('startFit', [fit({ type: 'IQ2_XS' })]))[0].type, 'IQ2_XS');
  await rejects(validateArgs('startFit', [fit({ modelName: 'bad name' })]), /model name 'bad name' is not a valid Ollama model name/);
  await rejects(validateArgs('startFit', [fit({ modelName: '../../etc' })]), /not a valid Ollama model name/);
  await rejects(validateArgs('startFit', [fit({ outputDir: file })]), /output folder '.*' is not a folder/);
  await rejects(validateArgs('startFit', [fit({ register: 'yes' })]), /register must be true or false/);
  await rejects(validateArgs('startFit', [fit({ predictedBytes: -1 })]), /predicted memory/);
  await rejects(validateArgs('startFit', [fit({ contextLength: 10_000_000 })]), /context length must be between/);
  await rejects(validateArgs('startFit', [{ ...fit(), shell: 'rm -rf /' }]), /unknown field 'shell'/);
  const missing = fit();
  delete missing.force;
  await rejects(validateArgs('startFit', [missing]), /is missing 'force'/);
  assert.equal((await validateArgs('startFit', [fit({ outputDir: null })]))[0].outputDir, null);
});

test('ipc: the importance matrix of a fit is an existing file or null; the core fields main decides are refused', async () => {
  assert.equal((await validateArgs('startFit', [fit({ imatrixPath: file })]))[0].imatrixPath, file);
  await rejects(validateArgs('startFit', [fit({ imatrixPath: join(dir, 'missing.dat') })]), /importance matrix '.*missing\.dat' does not exist/);
  await rejects(validateArgs('startFit', [fit({ imatrixPath: 'rel.dat' })]), /importance matrix must be an absolute path/);
  await rejects(validateArgs('startFit', [fit({ imatrixPath: dir })]), /importance matrix '.*' is not a file/);
  // FitRequest is the core's type; only the fields the renderer may choose cross the bridge.
  for (const field of ['outputPath', 'host', 'threads', 'replaceOutput', 'startOllama', 'system']) {
    await rejects(validateArgs('startFit', [{ ...fit(), [field]: 'x' }]), new RegExp(`unknown field '${field}'`));
  }
  assert.equal((await validateArgs('startFit', [fit({ allowRequantize: true })]))[0].allowRequantize, true);
  await rejects(validateArgs('startFit', [fit({ allowRequantize: 'yes' })]), /allow re-quantizing must be true or false/);
  assert.equal((await validateArgs('startFit', [fit({ checkQuality: true })]))[0].checkQuality, true);
  await rejects(validateArgs('startFit', [fit({ checkQuality: 1 })]), /check quality must be true or false/);
  assert.deepEqual(await validateArgs('pickImatrixFile', []), []);
  await rejects(validateArgs('pickImatrixFile', ['/etc/passwd']), /takes 0 arguments \(got 1\)/);
});

test('ipc: job ids and model names', async () => {
  assert.deepEqual(await validateArgs('cancelJob', ['job-abc123']), ['job-abc123']);
  await rejects(validateArgs('cancelJob', ['123']), /job id is not a job id/);
  assert.deepEqual(await validateArgs('deleteModel', ['library/llama3:8b-q4_K_M']), ['library/llama3:8b-q4_K_M']);
  await rejects(validateArgs('deleteModel', ['']), /1–200 characters/);
  await rejects(validateArgs('showModel', ['a:b:c']), /not a valid Ollama model name/);
});

test('ipc: settings patches are checked per key', async () => {
  assert.deepEqual(await validateArgs('setSettings', [{ theme: 'dark', threads: 4 }]), [{ theme: 'dark', threads: 4 }]);
  assert.deepEqual(await validateArgs('setSettings', [{ outputDir: dir }]), [{ outputDir: dir }]);
  assert.deepEqual(await validateArgs('setSettings', [{ outputDir: null }]), [{ outputDir: null }]);
  await rejects(validateArgs('setSettings', [{ theme: 'blue' }]), /setting 'theme' must be one of 'system', 'light', 'dark'/);
  await rejects(validateArgs('setSettings', [{ threads: 5000 }]), /setting 'threads' must be between 0/);
  await rejects(validateArgs('setSettings', [{ ollamaHost: 'file:///x' }]), /must start with http/);
  await rejects(validateArgs('setSettings', [{ outputDir: join(dir, 'missing') }]), /does not exist/);
  await rejects(validateArgs('setSettings', [{ admin: true }]), /unknown field 'admin'/);
  await rejects(validateArgs('setSettings', [{ toString: 'x' }]), /unknown field 'toString'/);
});

test('ipc: hub tokens are write-only: a new token or \'\' to clear; the view\'s flags cannot be set; a bad token is not echoed', async () => {
  assert.deepEqual(await validateArgs('setSettings', [{ hfToken: ' hf_abc ' }]), [{ hfToken: 'hf_abc' }]);
  assert.deepEqual(await validateArgs('setSettings', [{ modelscopeToken: '' }]), [{ modelscopeToken: '' }]);
  await rejects(validateArgs('setSettings', [{ hfTokenSet: true }]), /unknown field 'hfTokenSet'/);
  await rejects(validateArgs('setSettings', [{ modelscopeTokenSet: false }]), /unknown field 'modelscopeTokenSet'/);
  await rejects(validateArgs('setSettings', [{ hfToken: 42 }]), /setting 'hfToken'/);
  const refused = await validateArgs('setSettings', [{ hfToken: 'hf_SECRET and more' }]).then(() => null, (err: Error) => err.message);
  assert.match(refused ?? '', /setting 'hfToken'/);
  assert.ok(!refused?.includes('hf_SECRET'));
});

test('ipc: openExternal only for allow-listed links, openPath for existing paths, copyText bounded', async () => {
  assert.deepEqual(await validateArgs('openExternal', [EXTERNAL_LINKS.ollamaDownload]), [EXTERNAL_LINKS.ollamaDownload]);
  await rejects(validateArgs('openExternal', ['https://example.com/']), /is not one the app may open/);
  assert.deepEqual(await validateArgs('openPath', [dir]), [dir]);
  assert.deepEqual(await validateArgs('openPath', [file]), [file]);
  await rejects(validateArgs('openPath', [join(dir, 'x')]), /does not exist/);
  assert.deepEqual(await validateArgs('copyText', ['ollama run tiny']), ['ollama run tiny']);
  await rejects(validateArgs('copyText', ['x'.repeat(100_001)]), /text must be 1–100000 characters/);
});

test('ipc: a fit request\'s source is bounded data; the source methods check their arguments', async () => {
  const source = { stem: 'qwen2.5-7b-instruct-fp16', ollamaName: 'qwen2.5:7b-instruct-fp16', template: '{{ .Prompt }}', system: '', parameters: { stop: ['<|im_end|>'], temperature: 0.7 }, license: ['MIT'] };
  assert.deepEqual((await validateArgs('startFit', [fit({ source })]))[0].source, source);
  await rejects(validateArgs('startFit', [fit({ source: { ...source, ollamaName: 'bad name' } })]), /Ollama source model 'bad name'/);
  await rejects(validateArgs('startFit', [fit({ source: { ...source, evil: 1 } })]), /unknown field 'evil'/);
  await rejects(validateArgs('startFit', [fit({ source: { ...source, parameters: { 'a b': 1 } } })]), /source parameters/);
  await rejects(validateArgs('startFit', [fit({ source: { ...source, license: 'MIT' } })]), /source licence/);
  await rejects(validateArgs('startFit', [fit({ source: { stem: '' } })]), /model source name must be/);
  assert.deepEqual(await validateArgs('openOllamaSource', ['tiny:fp16']), ['tiny:fp16']);
  assert.deepEqual(await validateArgs('ollamaPull', ['qwen2.5:7b-instruct-fp16']), ['qwen2.5:7b-instruct-fp16']);
  await rejects(validateArgs('ollamaPull', ['a b']), /not a valid Ollama model name/);
  await rejects(validateArgs('openOllamaSource', ['no such']), /not a valid Ollama model name/);
  assert.deepEqual(await validateArgs('hubListFiles', ['Qwen/Qwen2.5-0.5B-Instruct-GGUF']), ['Qwen/Qwen2.5-0.5B-Instruct-GGUF']);
  assert.deepEqual(await validateArgs('hubListFiles', ['https://modelscope.cn/models/qwen/Qwen2-0.5B']), ['https://modelscope.cn/models/qwen/Qwen2-0.5B']);
  await rejects(validateArgs('hubListFiles', ['https://example.com/x/y']), /repository/);
  await rejects(validateArgs('hubListFiles', ['ollama:x']), /repository/);
  assert.deepEqual(await validateArgs('hubDownload', ['hf:org/repo', ['a.gguf', 'sub/b.json']]), ['hf:org/repo', ['a.gguf', 'sub/b.json']]);
  await rejects(validateArgs('hubDownload', ['hf:org/repo', ['../x']]), /not a path inside the repository/);
  await rejects(validateArgs('hubDownload', ['hf:org/repo', []]), /list of 1–10000/);
  await rejects(validateArgs('hubDownload', ['hf:org/repo', 'a.gguf']), /list of 1–10000/);
});

test('the types to measure: a list of known type names, 1 to MEASURE_TYPES_MAX, none twice', () => {
  assert.deepEqual(measureTypeList(['Q8_0', 'Q2_K', 'IQ2_XS']), ['Q8_0', 'Q2_K', 'IQ2_XS']);
  const refuses = (v: unknown, re: RegExp) => assert.throws(() => measureTypeList(v), (e: unknown) => e instanceof IpcValidationError && re.test(e.message));
  refuses('Q8_0', /types to measure must be a list/);
  refuses([], /must name 1–8 types \(got 0\)/);
  refuses(Array.from({ length: MEASURE_TYPES_MAX + 1 }, () => 'Q8_0'), /got 9/);
  refuses(['Q8_0', 'Q9_9'], /'Q9_9' is not a quant type name/);
  refuses(['q8_0'], /'q8_0' is not a quant type name/);
  refuses(['Q8_0', 7], /must be a string/);
  refuses(['Q4_K_M', 'Q4_K_M'], /names 'Q4_K_M' twice/);
});

test('ipc: startMeasure takes a GGUF file or a model folder and the types to measure; a bad list is refused before any job', async () => {
  assert.deepEqual(await validateArgs('startMeasure', [file, ['Q8_0', 'Q4_K_M']]), [file, ['Q8_0', 'Q4_K_M']]);
  await rejects(validateArgs('startMeasure', [file]), /takes 2 arguments \(got 1\)/);
  assert.deepEqual(await validateArgs('startMeasure', [dir, ['Q8_0']]), [dir, ['Q8_0']]);
  await rejects(validateArgs('startMeasure', ['model.gguf', ['Q8_0']]), /model must be an absolute path/);
  await rejects(validateArgs('startMeasure', [join(dir, 'gone.gguf'), ['Q8_0']]), /does not exist/);
  await rejects(validateArgs('startMeasure', [file, []]), /types to measure must name 1–8 types \(got 0\)/);
  await rejects(validateArgs('startMeasure', [file, ['Q8_0', 'Q8_0']]), /names 'Q8_0' twice/);
  await rejects(validateArgs('startMeasure', [file, 'Q8_0']), /must be a list of quant type names/);
  assert.deepEqual(await validateArgs('measureUnavailableReason', [dir]), [dir]);
  await rejects(validateArgs('measureUnavailableReason', ['x']), /model must be an absolute path/);
  assert.deepEqual(await validateArgs('measuredFor', [file]), [file]);
  await rejects(validateArgs('measuredFor', ['x']), /model must be an absolute path/);
  await rejects(validateArgs('measuredFor', [file, file]), /takes 1/);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DEFAULT_SETTINGS, type FitRequest } from '../../src-shared/contract.ts';
import { QuantfitError } from '../../src-main/core/errors.ts';
import { defaultModelName } from '../../src-shared/default-names.ts';
import { ftypeLoads } from '../../src-main/core/ollama/compat.ts';
import { startFakeOllama } from '../support/fake-ollama.ts';
import { createCoreServices, inspectModelFile, jobKindFor, resolveJobInput } from '../../src-main/electron/services.ts';

const FIXTURE = resolve(import.meta.dirname, '../../../shared/fixtures/stories260K.gguf');
const fixtureSkip = existsSync(FIXTURE) ? false : `${FIXTURE} is missing`;
if (fixtureSkip) console.log(`# skipping fixture tests: ${fixtureSkip}`);

const req = (over: Partial<FitRequest> = {}): FitRequest => ({
  modelPath: '/models/Llama-3.2-1B-Instruct-F16.gguf', type: 'Q4_K_M', contextLength: 4096, outputDir: null,
  modelName: 'llama:q4', register: true, force: false, imatrixPath: null, predictedBytes: null, ...over,
});

test('job input: output beside the model by default, else the settings folder, else the request folder; named as the CLI names it', () => {
  assert.equal(resolveJobInput(req(), DEFAULT_SETTINGS).outputPath, '/models/Llama-3.2-1B-Instruct-F16.Q4_K_M.gguf');
  assert.equal(resolveJobInput(req(), { ...DEFAULT_SETTINGS, outputDir: '/out' }).outputPath, '/out/Llama-3.2-1B-Instruct-F16.Q4_K_M.gguf');
  assert.equal(resolveJobInput(req({ outputDir: '/req' }), { ...DEFAULT_SETTINGS, outputDir: '/out' }).outputPath, '/req/Llama-3.2-1B-Instruct-F16.Q4_K_M.gguf');
  // Never the input itself (an input that already has the type is registered as it is by the job).
  assert.equal(resolveJobInput(req({ modelPath: '/m/x.Q4_K_M.gguf' }), DEFAULT_SETTINGS).outputPath, '/m/x.Q4_K_M.Q4_K_M.gguf');
  // Type names are normalised to llama-quantize's spelling before naming the file.
  assert.equal(resolveJobInput(req({ type: 'q8_0' }), DEFAULT_SETTINGS).outputPath, '/models/Llama-3.2-1B-Instruct-F16.Q8_0.gguf');
  const input = resolveJobInput(req(), { ...DEFAULT_SETTINGS, threads: 6, ollamaHost: 'http://localhost:1234' });
  assert.equal(input.threads, 6);
  assert.equal(input.ollamaHost, 'http://localhost:1234');
  assert.throws(() => resolveJobInput(req({ type: 'Q9_Z' }), DEFAULT_SETTINGS), /unknown quantization type 'Q9_Z'/);
  assert.equal(jobKindFor(req()), 'fit');
  assert.equal(jobKindFor(req({ register: false })), 'quantize');
});

test('the default model name the app shows is the CLI\'s: file stem and type, for either path separator', () => {
  assert.equal(defaultModelName('/m/stories260K.gguf', 'Q5_K_M'), 'stories260k:q5_k_m');
  assert.equal(defaultModelName('C:\\models\\Qwen2.5 7B.GGUF', 'Q4_K_M'), 'qwen2.5-7b:q4_k_m');
  assert.equal(defaultModelName('/m/Llama-3.2-1B-Instruct-F16.gguf', 'Q8_0'), 'llama-3.2-1b-instruct-f16:q8_0');
});

test('inspect: the fixture summarised for the UI', { skip: fixtureSkip }, async () => {
  const info = await inspectModelFile(FIXTURE);
  assert.equal(info.architecture, 'llama');
  assert.equal(info.tensorCount, 48);
  assert.equal(info.contextLength, 2048);
  // No general.file_type in this llama2.c conversion: the dominant tensor type stands in.
  assert.equal(info.fileType, 'F32');
  assert.ok(info.parameterCount > 250_000 && info.parameterCount < 300_000, String(info.parameterCount));
  assert.equal(info.fileName, 'stories260K.gguf');
  // general.name is 'llama' here: the default model name comes from the file, not the metadata.
  assert.equal(defaultModelName(info.path, 'Q5_K_M'), 'stories260k:q5_k_m');
});

test('recommend: an importance matrix is read before it counts, so a wrong file is refused there', { skip: fixtureSkip }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'qf-services-'));
  try {
    const core = createCoreServices(() => DEFAULT_SETTINGS);
    const bad = join(dir, 'not-an-imatrix.dat');
    await writeFile(bad, 'hello');
    await assert.rejects(core.recommend(FIXTURE, 512, { imatrixPath: bad }), (e: unknown) => e instanceof QuantfitError && e.location.file === bad);
    const without = await core.recommend(FIXTURE, 512, {});
    const needs = without.options.filter((o) => o.requiresImatrix).map((o) => o.type);
    assert.ok(needs.length > 0, 'the table lists types that need an importance matrix');
    // The advisor never recommends one of those without an importance matrix.
    assert.ok(!needs.includes(without.recommended.type ?? ''), String(without.recommended.type));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('job input: a model from Ollama or a hub cache is never written next to: the downloads folder, named from the source', () => {
  const blob = '/home/u/.ollama/models/blobs/sha256-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef';
  const source = { stem: 'qwen2.5-7b-instruct-fp16', ollamaName: 'qwen2.5:7b-instruct-fp16' };
  assert.equal(resolveJobInput(req({ modelPath: blob, source }), DEFAULT_SETTINGS, '/home/u/Downloads').outputPath, '/home/u/Downloads/qwen2.5-7b-instruct-fp16.Q4_K_M.gguf');
  assert.equal(resolveJobInput(req({ modelPath: blob, source }), { ...DEFAULT_SETTINGS, outputDir: '/out' }, '/dl').outputPath, '/out/qwen2.5-7b-instruct-fp16.Q4_K_M.gguf');
});

test('recommend: the app asks the configured Ollama for its version and never picks a type that version cannot load', { skip: fixtureSkip }, async () => {
  const fake = await startFakeOllama({ version: '0.31.2' });
  try {
    const core = createCoreServices(() => ({ ...DEFAULT_SETTINGS, ollamaHost: fake.url }));
    const report = await core.recommend(FIXTURE, 512, {});
    assert.ok(fake.requests.some((r) => r.method === 'GET' && r.path === '/api/version'), 'the recommendation asked the server for its version');
    assert.ok(report.recommended.type !== null);
    assert.ok(!['TQ1_0', 'TQ2_0'].includes(report.recommended.type), report.recommended.type);
    assert.ok(ftypeLoads(report.recommended.type, fake.version), `${report.recommended.type} loads on ${fake.version}`);
    // The slider asks again at every step: the version is asked once, not each time.
    const asked = fake.requests.filter((r) => r.path === '/api/version').length;
    await core.recommend(FIXTURE, 256, {});
    assert.equal(fake.requests.filter((r) => r.path === '/api/version').length, asked);
  } finally {
    await fake.stop();
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { DEFAULT_SETTINGS, type FitRequest } from '../../src-main/contract.ts';
import { inspectModelFile, jobKindFor, resolveJobInput, suggestModelName } from '../../src-main/electron/services.ts';

const FIXTURE = resolve(import.meta.dirname, '../../../shared/fixtures/stories260K.gguf');
const fixtureSkip = existsSync(FIXTURE) ? false : `${FIXTURE} is missing`;
if (fixtureSkip) console.log(`# skipping fixture tests: ${fixtureSkip}`);

const req = (over: Partial<FitRequest> = {}): FitRequest => ({
  modelPath: '/models/Llama-3.2-1B-Instruct-F16.gguf', type: 'Q4_K_M', contextLength: 4096, outputDir: null,
  modelName: 'llama:q4', register: true, force: false, imatrixPath: null, predictedBytes: null, ...over,
});

test('suggested model names are valid Ollama names without the source precision', () => {
  assert.equal(suggestModelName('Llama-3.2-1B-Instruct-F16.gguf'), 'llama-3.2-1b-instruct');
  assert.equal(suggestModelName('qwen2.5 7b (copy).Q8_0.gguf'), 'qwen2.5-7b-copy');
  assert.equal(suggestModelName('___.gguf'), 'model');
  assert.ok(suggestModelName('x'.repeat(300)).length <= 60);
});

test('job input: output beside the model by default, else the settings folder, else the request folder', () => {
  assert.equal(resolveJobInput(req(), DEFAULT_SETTINGS).outputPath, '/models/Llama-3.2-1B-Instruct-Q4_K_M.gguf');
  assert.equal(resolveJobInput(req(), { ...DEFAULT_SETTINGS, outputDir: '/out' }).outputPath, '/out/Llama-3.2-1B-Instruct-Q4_K_M.gguf');
  assert.equal(resolveJobInput(req({ outputDir: '/req' }), { ...DEFAULT_SETTINGS, outputDir: '/out' }).outputPath, '/req/Llama-3.2-1B-Instruct-Q4_K_M.gguf');
  // Never the input itself.
  assert.equal(resolveJobInput(req({ modelPath: '/m/x-Q4_K_M.gguf' }), DEFAULT_SETTINGS).outputPath, '/m/x-Q4_K_M-Q4_K_M.gguf');
  assert.equal(resolveJobInput(req({ modelPath: '/m/x-F16.gguf', type: 'F16' }), DEFAULT_SETTINGS).outputPath, '/m/x-F16.requantized.gguf');
  const input = resolveJobInput(req(), { ...DEFAULT_SETTINGS, threads: 6, ollamaHost: 'http://localhost:1234' });
  assert.equal(input.threads, 6);
  assert.equal(input.ollamaHost, 'http://localhost:1234');
  assert.throws(() => resolveJobInput(req({ type: 'Q9_Z' }), DEFAULT_SETTINGS), /unknown quantization type 'Q9_Z'/);
  assert.equal(jobKindFor(req()), 'fit');
  assert.equal(jobKindFor(req({ register: false })), 'quantize');
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
});

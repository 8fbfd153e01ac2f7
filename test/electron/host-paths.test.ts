import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { calibrationTextPath, quantWasmPath, quantWorkerPath } from '../../src-main/electron/host-paths.ts';

test('the worker entry is taken from app.asar.unpacked when it is there, else beside the host', () => {
  const packed = join('/opt/Quantfit/resources/app.asar/out/main');
  const unpacked = join('/opt/Quantfit/resources/app.asar.unpacked/out/main');
  assert.equal(quantWorkerPath(packed, (p) => p.startsWith(unpacked)), join(unpacked, 'quant-worker.js'));
  assert.equal(quantWorkerPath('/repo/out/main', () => false), join('/repo/out/main', 'quant-worker.js'));
});

test('the wasm kernels: the packaged resource first, then the development build, else none', () => {
  const resources = '/opt/Quantfit/resources';
  const dev = join('/repo/out/main', '..', '..', 'build', 'wasm', 'quant.wasm');
  assert.equal(quantWasmPath('/x/out/main', resources, (p) => p === join(resources, 'quant.wasm') || p === dev), join(resources, 'quant.wasm'));
  assert.equal(quantWasmPath('/repo/out/main', resources, (p) => p === dev), dev);
  assert.equal(quantWasmPath('/repo/out/main', undefined, () => false), undefined);
});

test('the calibration text: the packaged resource first, then the checkout\'s, else none', () => {
  const resources = '/opt/Quantfit/resources';
  const dev = join('/repo/out/main', '..', '..', 'resources', 'calibration', 'calibration.txt');
  assert.equal(calibrationTextPath('/x/out/main', resources, (p) => p === join(resources, 'calibration.txt') || p === dev), join(resources, 'calibration.txt'));
  assert.equal(calibrationTextPath('/repo/out/main', resources, (p) => p === dev), dev);
  assert.equal(calibrationTextPath('/repo/out/main', undefined, () => false), undefined);
});

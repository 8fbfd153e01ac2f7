import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { calibrationTextPath, quantWasmPath, quantWorkerPath } from '../../src-main/electron/host-paths.ts';
import { unpackedPath } from '../../src-main/core/asar-path.ts';

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
  const packaged = join(resources, 'calibration', 'calibration.txt');
  assert.equal(calibrationTextPath('/x/out/main', resources, (p) => p === packaged || p === dev), packaged);
  assert.equal(calibrationTextPath('/repo/out/main', resources, (p) => p === dev), dev);
  assert.equal(calibrationTextPath('/repo/out/main', undefined, () => false), undefined);
});

test('a path inside app.asar becomes the unpacked copy\'s when that exists; others stay', () => {
  const lib = '/opt/Quantfit/resources/app.asar/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64';
  const real = '/opt/Quantfit/resources/app.asar.unpacked/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64';
  assert.equal(unpackedPath(lib, (p) => p === real), real);
  assert.equal(unpackedPath(lib, () => false), lib);
  assert.equal(unpackedPath('/repo/node_modules/koffi', () => true), '/repo/node_modules/koffi');
  assert.equal(unpackedPath('/x/my.app.asar.d/y', () => true), '/x/my.app.asar.d/y');
  assert.equal(unpackedPath('C:\\Quantfit\\resources\\app.asar\\node_modules\\koffi', () => true), 'C:\\Quantfit\\resources\\app.asar.unpacked\\node_modules\\koffi');
});

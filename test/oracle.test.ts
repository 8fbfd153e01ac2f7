import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadOracle, oracleUnavailableReason } from './support/oracle.ts';
import { GgmlType } from '../src-main/core/gguf/ggml-types.ts';

const reason = oracleUnavailableReason();
if (reason) console.log(`# skipping oracle self-test: ${reason}`);

test('the llama.cpp oracle quantizes a Q8_0 block', { skip: reason }, () => {
  const oracle = loadOracle()!;
  const src = Float32Array.from({ length: 32 }, (_, i) => i - 16);
  const out = oracle.quantizeChunk(GgmlType.Q8_0, src, 1, 32);
  assert.equal(out.length, 34);
  // d = 16/127 as fp16 (0x3081), then round(x*127/16): -16 → -127 (0x81).
  assert.equal(Buffer.from(out.subarray(0, 3)).toString('hex'), '083081');
});

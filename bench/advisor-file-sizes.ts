// Checks, for EVERY ftype the advisor estimates, that its fileBytes equals the size of the file
// quantizeFile writes, on two small synthetic llama models (rows of 256 and a GQA shape), and times
// the advisor's planning of a full-size 7B header. Run: node --import tsx bench/advisor-file-sizes.ts

import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { readGgufHeader } from '../src-main/core/gguf/reader.ts';
import { quantizeFile } from '../src-main/core/quant/pipeline.ts';
import { planModel } from '../src-main/core/advisor/estimate.ts';
import { quantizerPlanner } from '../src-main/core/advisor/planner.ts';
import { REQUIRES_IMATRIX } from '../src-main/core/advisor/quality.ts';
import { makeTempDir, removeTempDir, tinyLlama, writeSyntheticGguf } from '../test/support/synthetic-gguf.ts';
import { llama7b, writeSparseGguf } from '../test/advisor/support.ts';

const dir = await makeTempDir('advisor-bench');
let failures = 0;
try {
  const shapes = [
    { nEmbd: 256, nLayer: 1, nHead: 4, nHeadKv: 2, nFf: 256, nVocab: 32 },
    { nEmbd: 512, nLayer: 2, nHead: 8, nHeadKv: 2, nFf: 768, nVocab: 64 },
  ];
  for (const [i, shape] of shapes.entries()) {
    const src = join(dir, `m${i}.gguf`);
    await writeSyntheticGguf(src, tinyLlama({ ...shape, type: 'F16' }));
    const header = await readGgufHeader(src);
    const imatrix = new Map<string, Float32Array>();
    for (const t of header.tensors) if (t.shape.length >= 2) imatrix.set(t.name, new Float32Array(t.shape[0]!).fill(1));
    const model = planModel(header, quantizerPlanner, { hasImatrix: false });
    for (const s of model.skipped) console.log(`model ${i} ${s.type}: not planned: ${s.reason}`);
    for (const plan of model.plans) {
      const out = join(dir, `m${i}-${plan.type}.gguf`);
      const started = performance.now();
      await quantizeFile(src, out, { ftype: plan.type, ...(REQUIRES_IMATRIX.has(plan.type) ? { imatrix } : {}) });
      const size = (await stat(out)).size;
      const ok = size === plan.fileBytes;
      if (!ok) failures++;
      console.log(`model ${i} ${plan.type.padEnd(8)} estimate ${plan.fileBytes} written ${size} ${ok ? 'OK' : 'MISMATCH'} (${Math.round(performance.now() - started)} ms)`);
    }
  }
  const header7b = await writeSparseGguf(join(dir, '7b.gguf'), llama7b());
  const started = performance.now();
  const model = planModel(header7b, quantizerPlanner, { hasImatrix: false });
  console.log(`planning ${model.plans.length} ftypes of a 7B header: ${Math.round(performance.now() - started)} ms`);
} finally {
  await removeTempDir(dir);
}
if (failures > 0) {
  console.error(`${failures} size mismatches`);
  process.exit(1);
}

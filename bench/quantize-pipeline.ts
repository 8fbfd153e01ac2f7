// quantizeFile end to end on a model with one huge tensor: peak RSS (must stay ≤ 512 MB whatever the
// tensor size), throughput, and llama.cpp's llama_model_quantize on the same file for comparison.
// Each run happens in a child process so that its peak RSS is its own.
// Usage: node --import tsx bench/quantize-pipeline.ts [tensor MiB, default 1024] [TYPE, default Q4_K_M]
//        [threads, default all cores] [folder, default tmpdir]

import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GgufWriter } from '../src-main/core/gguf/writer.ts';
import { GgmlType } from '../src-main/core/gguf/ggml-types.ts';
import { GgufValueType, type GgufKv } from '../src-main/core/gguf/types.ts';
import { fp32ToFp16 } from '../src-main/core/quant/numeric.ts';

const self = fileURLToPath(import.meta.url);
const root = fileURLToPath(new URL('..', import.meta.url));

async function child(mode: string, input: string, output: string, type: string, threads: number): Promise<void> {
  const t0 = performance.now();
  let bytesIn = 0;
  if (mode === 'ours') {
    const { quantizeFile } = await import('../src-main/core/quant/pipeline.ts');
    const r = await quantizeFile(input, output, { ftype: type }, { threads });
    bytesIn = r.plan.inputDataBytes;
  } else {
    const { loadQuantizeOracle } = await import('../test/support/llama-quantize-oracle.ts');
    const { parseFtype } = await import('../src-main/core/quant/ftypes.ts');
    const { statSync } = await import('node:fs');
    const oracle = loadQuantizeOracle();
    if (!oracle) throw new Error('llama.cpp oracle unavailable');
    const r = oracle.quantize(input, output, { ftype: parseFtype(type).id, nthread: threads });
    if (!r.ok) throw new Error(r.log);
    bytesIn = statSync(input).size;
  }
  const seconds = (performance.now() - t0) / 1000;
  console.log(JSON.stringify({ seconds, bytesIn, maxRssMB: process.resourceUsage().maxRSS / 1024 }));
}

/** A llama-shaped header around one [4096, n] F16 token_embd of `mib` MiB, written in 16 MiB chunks. */
async function writeBigModel(path: string, mib: number): Promise<void> {
  const ne0 = 4096;
  const rows = Math.max(1, Math.floor((mib << 20) / (ne0 * 2)));
  const arch = 'llama';
  const u32 = (key: string, value: number): GgufKv => ({ key, type: GgufValueType.UINT32, value });
  const kv: GgufKv[] = [
    { key: 'general.architecture', type: GgufValueType.STRING, value: arch },
    u32(`${arch}.context_length`, 2048), u32(`${arch}.embedding_length`, ne0), u32(`${arch}.feed_forward_length`, 11008),
    u32(`${arch}.block_count`, 1), u32(`${arch}.attention.head_count`, 32), u32(`${arch}.attention.head_count_kv`, 32),
    u32(`${arch}.rope.dimension_count`, 128), { key: `${arch}.attention.layer_norm_rms_epsilon`, type: GgufValueType.FLOAT32, value: 1e-5 },
    u32('general.file_type', 1),
  ];
  const tensors = [
    { name: 'token_embd.weight', type: GgmlType.F16, shape: [ne0, rows] },
    { name: 'output_norm.weight', type: GgmlType.F32, shape: [ne0] },
    { name: 'blk.0.attn_q.weight', type: GgmlType.F16, shape: [ne0, 256] },
  ];
  const w = await GgufWriter.create(path, { kv, tensors });
  // One 16 MiB chunk of fp16 values, reused (content does not matter for speed, only finiteness).
  const chunk = new Uint16Array(8 << 20);
  let s = 12345;
  for (let i = 0; i < chunk.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    chunk[i] = fp32ToFp16(((s >>> 8) / (1 << 24) - 0.5) * 0.2);
  }
  const bytes = new Uint8Array(chunk.buffer);
  let left = rows * ne0 * 2;
  while (left > 0) {
    const n = Math.min(left, bytes.length);
    await w.writeTensorData(bytes.subarray(0, n));
    left -= n;
  }
  await w.writeTensorData(new Uint8Array(new Float32Array(ne0).fill(1).buffer));
  await w.writeTensorData(bytes.subarray(0, ne0 * 256 * 2));
  await w.finish();
}

async function main(): Promise<void> {
  const [, , first] = process.argv;
  if (first === '--child') {
    const [mode, input, output, type, threads] = process.argv.slice(3) as [string, string, string, string, string];
    await child(mode, input, output, type, Number(threads));
    return;
  }
  const mib = Number(process.argv[2] ?? 1024);
  const type = process.argv[3] ?? 'Q4_K_M';
  const threads = Number(process.argv[4] ?? availableParallelism());
  const dir = await mkdtemp(join(process.argv[5] ?? tmpdir(), 'quantfit-bench-quantize-'));
  try {
    const input = join(dir, 'big.gguf');
    await writeBigModel(input, mib);
    console.log(`input: one ${mib} MiB F16 tensor; ${type}; ${threads} threads`);
    for (const mode of ['ours', 'llama.cpp']) {
      const r = spawnSync(process.execPath, ['--import', 'tsx', self, '--child', mode, input, join(dir, `${mode}.gguf`), type, String(threads)], { cwd: root, encoding: 'utf8' });
      if (r.status !== 0) {
        console.log(`${mode}: failed: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
        continue;
      }
      const res = JSON.parse(r.stdout.trim().split('\n').pop()!) as { seconds: number; bytesIn: number; maxRssMB: number };
      console.log(`${mode.padEnd(10)} ${res.seconds.toFixed(1).padStart(7)} s  ${(res.bytesIn / (1 << 20) / res.seconds).toFixed(1).padStart(7)} MiB/s in  peak RSS ${res.maxRssMB.toFixed(0)} MB`);
    }
    const same = spawnSync('cmp', ['-s', join(dir, 'ours.gguf'), join(dir, 'llama.cpp.gguf')]).status === 0;
    console.log(`outputs identical: ${same}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();

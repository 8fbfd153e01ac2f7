// The advisor's memory estimate against real loads: each shape of bench/support/memory-models.ts (built
// once with our quantizer, cached) is loaded by node-llama-cpp in a fresh child process per context
// (bench/support/memory-probe.ts), which evaluates one 512-token micro-batch and reports its RSS growth;
// the line shows the CPU estimate (core/advisor/cpu-memory.ts) beside it and the error. With a GPU, the
// child offloads every layer and the VRAM it used is shown as well, beside the advisor's full-offload
// figure (core/advisor/gpu-memory.ts) and the GPU buffers llama.cpp logged. Last, the fit's llama.cpp passes
// (imatrix, eval) on each shape, peak RSS against the figure the fit's room check uses (core/engine/room.ts).
// Each point is the median of --runs loads (default 3): RSS varies by ±20–30 MiB between identical loads
// (what glibc keeps of the loader's freed memory).
// Standalone: node --import tsx bench/memory-estimate.ts [--ctx 512,2048,8192,32768] [--shapes dense,gqa] [--runs N] [--no-engine]

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readGgufHeader } from '../src-main/core/gguf/reader.ts';
import { modelParams } from '../src-main/core/advisor/model-params.ts';
import { cpuRunMemory, type CpuSimd } from '../src-main/core/advisor/cpu-memory.ts';
import { deviceWeights, offloadMemory } from '../src-main/core/advisor/gpu-memory.ts';
import { probeHardware } from '../src-main/core/hardware/probe.ts';
import { MEMORY_SHAPES, quantizedModel } from './support/memory-models.ts';
import type { ProbeResult } from './support/memory-probe.ts';
import type { EngineProbeResult } from './support/engine-probe.ts';
import { enginePassMemory, type EnginePass } from '../src-main/core/engine/room.ts';
import { llamaUnavailableReason } from '../src-main/core/engine/llama.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = fileURLToPath(new URL('..', import.meta.url));
const probe = fileURLToPath(new URL('./support/memory-probe.ts', import.meta.url));
const engineProbe = fileURLToPath(new URL('./support/engine-probe.ts', import.meta.url));
/** The engine passes' text: ~8 chunks of 512 on the synthetic byte vocabularies. */
const ENGINE_TEXT = fileURLToPath(new URL('../test/fixtures/engine/little-stories.txt', import.meta.url));
const ENGINE_CTX = 512;
const MiB = 1024 * 1024;

export interface MemoryBenchOptions {
  readonly contexts?: readonly number[];
  readonly shapes?: readonly string[];
  /** Loads per point; the median RSS growth is compared (glibc's allocator leaves ±10 MiB of noise). */
  readonly runs?: number;
  readonly ftype?: string;
  /** Also the engine's passes (imatrix, eval) on each shape, against the room check's figure (default true). */
  readonly engine?: boolean;
}

export interface MemoryBenchRow {
  readonly shape: string;
  readonly ctx: number;
  /** The estimate for the state measured (one micro-batch in the cache). */
  readonly predictedBytes: number;
  /** The advisor's figure: the same with the whole context in use (larger attention masks). */
  readonly predictedFullBytes: number;
  readonly measuredBytes: number;
  readonly error: number;
  readonly vramBytes?: number;
}

function runProbe(model: string, ctx: number): ProbeResult {
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', probe, model, String(ctx)], { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !line.startsWith('{')) throw new Error(`memory probe failed on ${model} at ${ctx}: ${(r.stderr || r.stdout).trim().split('\n').slice(-4).join(' | ')}`);
  return JSON.parse(line) as ProbeResult;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

const mib = (b: number) => (b / MiB).toFixed(1);

/** The model, KV and compute buffers llama.cpp logged for devices other than the CPU and its host buffers. */
function gpuBuffers(r: ProbeResult): number {
  return Object.entries(r.buffers).filter(([k]) => !/ (CPU|\w+_Host)/.test(k) && !k.startsWith('output ')).reduce((s, [, v]) => s + v, 0);
}

export async function runMemoryEstimateBench(options: MemoryBenchOptions = {}, print: (line: string) => void = console.log): Promise<MemoryBenchRow[]> {
  const contexts = options.contexts ?? [512, 2048, 8192, 32768];
  const runs = Math.max(1, options.runs ?? 3);
  const ftype = options.ftype ?? 'Q4_K_M';
  const hw = await probeHardware();
  const simd: CpuSimd = hw.cpu.simd;
  print(`# memory estimate vs real loads (node-llama-cpp, ${ftype}, flash attention on, one 512-token micro-batch evaluated; RSS growth, median of ${runs}); CPU: avx2 ${simd.avx2}, avx512 ${simd.avx512}, neon ${simd.neon}`);
  print('shape   ctx     predicted MiB  measured MiB  error    mapped  repacked  kv      compute  runtime  full ctx  working set  | VRAM MiB (advisor full-offload figure, error; llama.cpp\'s logged GPU buffers)');
  if (hw.gpus.some((g) => g.offload)) print('# a GPU is present: the probe offloads every layer, "predicted" is then the host part of that offload (gpu-memory.ts), the CPU columns what a CPU run would keep');
  const rows: MemoryBenchRow[] = [];
  for (const shape of MEMORY_SHAPES.filter((s) => !options.shapes || options.shapes.includes(s.name))) {
    const path = await quantizedModel(shape, ftype, print);
    const header = await readGgufHeader(path);
    const params = modelParams(header);
    for (const ctx of contexts) {
      const results = Array.from({ length: runs }, () => runProbe(path, ctx));
      const measured = median(results.map((r) => r.afterEval.rss - r.baseline.rss));
      const vram = results[0]!.vramBytes;
      // The probe fills one micro-batch of cells: the masks span those, not yet the whole context.
      const p = cpuRunMemory(params, header.tensors, ctx, simd, results[0]!.evaluated);
      const full = cpuRunMemory(params, header.tensors, ctx, simd);
      // With a GPU the probe offloads every layer: RAM then holds the host part (gpu-memory.ts), VRAM the rest.
      const gpu = vram !== undefined ? offloadMemory(params, deviceWeights(header.tensors, params.layerCount), ctx, params.layerCount) : undefined;
      const predicted = gpu ? gpu.hostBytes : p.totalBytes;
      const error = (predicted - measured) / measured;
      rows.push({ shape: shape.name, ctx, predictedBytes: predicted, predictedFullBytes: full.totalBytes, measuredBytes: measured, error, ...(vram !== undefined ? { vramBytes: vram } : {}) });
      const vramText = vram !== undefined && gpu
        ? `${mib(vram)} (advisor ${mib(gpu.vramBytes)}, ${(((gpu.vramBytes - vram) / vram) * 100).toFixed(1)}%; llama.cpp's GPU buffers ${mib(gpuBuffers(results[0]!))})`
        : '-';
      print(
        `${shape.name.padEnd(7)} ${String(ctx).padEnd(7)} ${mib(predicted).padStart(13)}  ${mib(measured).padStart(12)}  ${`${(error * 100).toFixed(1)}%`.padStart(6)}  ` +
          `${mib(p.mappedBytes).padStart(6)}  ${mib(p.repackedBytes).padStart(8)}  ${mib(p.kvBytes).padStart(6)}  ${mib(p.computeBytes).padStart(7)}  ${mib(p.runtimeBytes).padStart(7)}  ${mib(full.totalBytes).padStart(9)}  ${mib(full.workingSetBytes).padStart(11)}  | ${vramText}`,
      );
    }
  }
  if (options.engine !== false) await engineRows(options, ftype, simd, print);
  const worst = rows.reduce((m, r) => Math.max(m, Math.abs(r.error)), 0);
  print(`# worst error ${(worst * 100).toFixed(1)}% (target: within 5%). "full ctx": the RSS once the whole context is in use (attention masks over every cell, llama.cpp's formula; not measured here); "working set": the advisor's figure, the same less the mapped pages of repacked tensors (clean, never read again, reclaimable)`);
  return rows;
}

function runEngineProbe(pass: EnginePass, model: string, workDir: string): EngineProbeResult {
  const args = ['--expose-gc', '--import', 'tsx', engineProbe, pass, model, ENGINE_TEXT, String(ENGINE_CTX), '8', workDir];
  const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !line.startsWith('{')) throw new Error(`engine probe failed on ${model} (${pass}): ${(r.stderr || r.stdout).trim().split('\n').slice(-4).join(' | ')}`);
  return JSON.parse(line) as EngineProbeResult;
}

/**
 * The fit's llama.cpp passes (core/engine/room.ts, what the 'advise' stage checks RAM against): each shape
 * through `imatrix` and `eval` (against itself) at chunks of 512, peak RSS growth of a fresh process
 * beside the prediction. The prediction is the working set; RSS also holds the mapped pages of repacked
 * weights (clean, reclaimable), shown apart.
 */
async function engineRows(options: MemoryBenchOptions, ftype: string, simd: CpuSimd, print: (line: string) => void): Promise<void> {
  const why = llamaUnavailableReason();
  if (why !== undefined) {
    print(`# engine passes skipped: ${why}`);
    return;
  }
  print(`# the engine's passes (imatrix, eval against itself; chunks of ${ENGINE_CTX}, 8 chunks): peak RSS growth against the room check's figure`);
  print('shape   pass     predicted MiB  + reclaimable  measured MiB  error (with reclaimable)');
  for (const shape of MEMORY_SHAPES.filter((s) => !options.shapes || options.shapes.includes(s.name))) {
    const path = await quantizedModel(shape, ftype, print);
    const header = await readGgufHeader(path);
    for (const pass of ['imatrix', 'eval'] as const) {
      const workDir = await mkdtemp(join(tmpdir(), 'qf-engine-mem-'));
      try {
        const r = runEngineProbe(pass, path, workDir);
        const p = enginePassMemory(header, ENGINE_CTX, pass, simd);
        const measured = r.peakRss - r.baselineRss;
        const resident = p.totalBytes + p.reclaimableBytes;
        print(
          `${shape.name.padEnd(7)} ${pass.padEnd(8)} ${mib(p.totalBytes).padStart(13)}  ${mib(p.reclaimableBytes).padStart(13)}  ${mib(measured).padStart(12)}  ` +
            `${(((p.totalBytes - measured) / measured) * 100).toFixed(1)}% (${(((resident - measured) / measured) * 100).toFixed(1)}%)`,
        );
      } finally {
        await rm(workDir, { recursive: true, force: true });
      }
    }
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { ctx: { type: 'string' }, shapes: { type: 'string' }, runs: { type: 'string' }, ftype: { type: 'string' }, engine: { type: 'boolean', default: true } }, allowNegative: true });
  await runMemoryEstimateBench({
    ...(values.ctx ? { contexts: values.ctx.split(',').map(Number) } : {}),
    ...(values.shapes ? { shapes: values.shapes.split(',') } : {}),
    ...(values.runs ? { runs: Number(values.runs) } : {}),
    ...(values.ftype ? { ftype: values.ftype } : {}),
    engine: values.engine,
  });
}

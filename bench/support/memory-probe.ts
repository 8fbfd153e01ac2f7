// One real load, measured: run as a child process (a fresh process per load, so its RSS is its own).
// Loads a GGUF with node-llama-cpp, creates a context, evaluates one micro-batch of tokens (so the compute
// buffer's pages are touched as in use), and prints one JSON line: RSS growth at each step, its anonymous
// and file-backed parts (Linux), the buffer sizes llama.cpp logs, and VRAM used when a GPU is present.
// Usage: node --import tsx bench/support/memory-probe.ts MODEL CTX [--fa on|off] [--gpu auto|off] [--eval N]

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

export interface ProbeSample {
  readonly rss: number;
  /** Linux /proc/self/status RssAnon and RssFile (bytes); 0 elsewhere. */
  readonly rssAnon: number;
  readonly rssFile: number;
  /** V8 heap (committed) + external memory (bytes): the JS side's share of the RSS, not llama.cpp's. */
  readonly js: number;
}

export interface ProbeResult {
  readonly model: string;
  readonly ctx: number;
  readonly flashAttention: boolean;
  readonly gpu: string | false;
  readonly gpuLayers: number;
  readonly evaluated: number;
  readonly baseline: ProbeSample;
  readonly afterLoad: ProbeSample;
  readonly afterContext: ProbeSample;
  readonly afterEval: ProbeSample;
  /** llama.cpp's logged buffers in bytes (MiB × 2^20, as logged with two decimals), by name. */
  readonly buffers: Record<string, number>;
  /** VRAM used by this load (bytes), when a GPU is present. */
  readonly vramBytes?: number;
}

const MiB = 1024 * 1024;

function sample(): ProbeSample {
  (globalThis as { gc?: () => void }).gc?.();
  const mu = process.memoryUsage();
  let rssAnon = 0;
  let rssFile = 0;
  let rss = mu.rss;
  if (process.platform === 'linux') {
    const status = readFileSync('/proc/self/status', 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    rss = kb('VmRSS');
    rssAnon = kb('RssAnon');
    rssFile = kb('RssFile');
  }
  return { rss, rssAnon, rssFile, js: mu.heapUsed + mu.external };
}

/** "llama_kv_cache:        CPU KV buffer size =    12.00 MiB" and the like, summed per kind. */
function parseBuffers(log: string): Record<string, number> {
  const out: Record<string, number> = {};
  const add = (key: string, mib: string) => { out[key] = (out[key] ?? 0) + Math.round(Number(mib) * MiB); };
  for (const m of log.matchAll(/(\S+) model buffer size =\s*([\d.]+) MiB/g)) add(`model ${m[1]}`, m[2]!);
  for (const m of log.matchAll(/(\S+) KV buffer size =\s*([\d.]+) MiB/g)) add(`kv ${m[1]}`, m[2]!);
  for (const m of log.matchAll(/(\S+)\s+output buffer size =\s*([\d.]+) MiB/g)) add(`output ${m[1]}`, m[2]!);
  for (const m of log.matchAll(/(\S+) compute buffer size =\s*([\d.]+) MiB/g)) add(`compute ${m[1]}`, m[2]!);
  return out;
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { fa: { type: 'string', default: 'on' }, gpu: { type: 'string', default: 'auto' }, eval: { type: 'string' } },
  });
  const [model, ctxArg] = positionals as [string, string];
  const ctx = Number(ctxArg);
  const flashAttention = values.fa !== 'off';
  const { getLlama, LlamaLogLevel, readGgufFileInfo } = await import('node-llama-cpp');
  type Token = import('node-llama-cpp').Token;
  let log = '';
  const llama = await getLlama({
    gpu: values.gpu === 'off' ? false : 'auto',
    logLevel: LlamaLogLevel.info,
    logger: (_level, message) => { log += `${message}\n`; },
  });
  const gpu = llama.gpu;
  const vram0 = gpu ? (await llama.getVramState()).used : 0;
  // node-llama-cpp reads the file's metadata in JS (the vocabulary too) before loading: done once here
  // first, so that the JS heap has grown to its size before the baseline.
  await readGgufFileInfo(model);
  const baseline = sample();
  const loaded = await llama.loadModel({ modelPath: model, gpuLayers: gpu ? 'max' : 0, useMmap: true });
  const afterLoad = sample();
  // One sequence, n_batch = n_ubatch = 512 (or the context), as llama-server and Ollama run it.
  const context = await loaded.createContext({ contextSize: ctx, batchSize: Math.min(512, ctx), flashAttention, sequences: 1 });
  const afterContext = sample();
  const sequence = context.getSequence();
  const n = Math.min(Number(values.eval ?? 512), ctx - 1);
  // Any ids past the specials will do: the memory does not depend on the text.
  const tokens = Array.from({ length: n }, (_, i) => (3 + ((i * 7919) % 200)) as Token);
  await sequence.evaluateWithoutGeneratingNewTokens(tokens);
  const afterEval = sample();
  const vramBytes = gpu ? (await llama.getVramState()).used - vram0 : undefined;
  const result: ProbeResult = {
    model, ctx, flashAttention, gpu, gpuLayers: loaded.gpuLayers, evaluated: n,
    baseline, afterLoad, afterContext, afterEval, buffers: parseBuffers(log),
    ...(vramBytes !== undefined ? { vramBytes } : {}),
  };
  console.log(JSON.stringify(result));
  await context.dispose();
  await loaded.dispose();
}

await main();

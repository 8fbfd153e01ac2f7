// Hugging Face folder → Q4_K_M: our one pass (safetensors rows → permute/convert → quantizer → GGUF)
// against llama.cpp's two steps, `convert_hf_to_gguf.py --outtype auto` then llama_model_quantize,
// on the same BF16 folder with the same threads. Prints the time ratio (goal ≤ 0.5) and both peak
// RSS (ours ≤ 512 MB). Each side runs in child processes, so peak RSS is its own: ours from
// process.resourceUsage(), the converter's and the quantizer's from /usr/bin/time.
// Run alone: node --import tsx bench/convert-quantize.ts [--threads N] [--layers N] [--type T]

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const self = fileURLToPath(import.meta.url);
const root = fileURLToPath(new URL('..', import.meta.url));

interface Measured { seconds: number; maxRssMB: number }

async function child(mode: string, dir: string, input: string, output: string, type: string, threads: number): Promise<void> {
  const t0 = performance.now();
  if (mode === 'ours') {
    const { quantizeFolder } = await import('../src-main/core/convert/write.ts');
    await quantizeFolder(dir, output, { ftype: type }, { threads });
  } else {
    const { loadQuantizeOracle } = await import('../test/support/llama-quantize-oracle.ts');
    const { parseFtype } = await import('../src-main/core/quant/ftypes.ts');
    const oracle = loadQuantizeOracle();
    if (!oracle) throw new Error('the llama.cpp oracle is not available on this platform');
    const r = oracle.quantize(input, output, { ftype: parseFtype(type).id, nthread: threads });
    if (!r.ok) throw new Error(r.log);
  }
  const m: Measured = { seconds: (performance.now() - t0) / 1000, maxRssMB: process.resourceUsage().maxRSS / 1024 };
  console.log(JSON.stringify(m));
}

/**
 * A child under /usr/bin/time when present: Linux keeps the parent's peak RSS across fork+exec, so a
 * child's own resourceUsage() can report the bench parent's peak; time's %M is the child's alone.
 */
function runNodeChild(args: string[]): Measured | string {
  const node = [process.execPath, '--import', 'tsx', self, '--child', ...args];
  const timed = existsSync('/usr/bin/time');
  const r = spawnSync(timed ? '/usr/bin/time' : node[0]!, timed ? ['-f', 'TIME %e %M', ...node] : node.slice(1), { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) return `failed: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}`;
  const m = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as Measured;
  const t = /TIME ([\d.]+) (\d+)/.exec(r.stderr);
  return t ? { seconds: m.seconds, maxRssMB: Number(t[2]) / 1024 } : m;
}

/** The converter under /usr/bin/time (elapsed seconds and peak RSS in KB on its last stderr line). */
async function runConverter(dir: string, out: string): Promise<Measured | string> {
  const { convertOracleUnavailable, sharedDir } = await import('../test/support/convert-oracle.ts');
  const why = convertOracleUnavailable();
  if (why) return `unavailable: ${why}`;
  if (!existsSync('/usr/bin/time')) return 'unavailable: no /usr/bin/time';
  const wrapper = join(sharedDir()!, 'tools/convert-oracle/run-convert.py');
  const src = join(root, 'node_modules/.cache/quantfit-llama-src');
  const r = spawnSync('/usr/bin/time', ['-f', 'TIME %e %M', '/usr/bin/python3', wrapper, src, dir, '--outtype', 'auto', '--outfile', out], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const m = /TIME ([\d.]+) (\d+)/.exec(r.stderr);
  if (r.status !== 0 || !m) return `failed: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`;
  return { seconds: Number(m[1]), maxRssMB: Number(m[2]) / 1024 };
}

export interface ConvertBenchOptions { threads: number; layers?: number; type?: string; dir?: string }

/** Writes the folder, runs both sides once, prints one result line (and a header line). */
export async function convertBench(o: ConvertBenchOptions): Promise<void> {
  const type = o.type ?? 'Q4_K_M';
  const dir = await mkdtemp(join(o.dir ?? tmpdir(), 'quantfit-convert-bench-'));
  try {
    const model = join(dir, 'TinyLlama-bench');
    const t0 = performance.now();
    // In a child: building ~440 MB of weights must not raise this process's peak RSS (see runNodeChild).
    const w = spawnSync(process.execPath, ['--import', 'tsx', self, '--write-folder', model, String(o.layers ?? 2)], { cwd: root, encoding: 'utf8' });
    if (w.status !== 0) throw new Error(`writing the bench folder failed: ${w.stderr}`);
    console.log(`# HF folder: BF16 llama (n_embd 2048, n_ff 5632, ${o.layers ?? 2} layers, vocab 32000), written in ${((performance.now() - t0) / 1000).toFixed(1)} s; ${o.threads} threads`);
    const ours = runNodeChild(['ours', model, '-', join(dir, 'ours.gguf'), type, String(o.threads)]);
    const conv = await runConverter(model, join(dir, 'auto.gguf'));
    const quant = typeof conv === 'string' ? conv : runNodeChild(['llama.cpp', model, join(dir, 'auto.gguf'), join(dir, 'theirs.gguf'), type, String(o.threads)]);
    const label = `HF folder → ${type}`;
    if (typeof ours === 'string' || typeof conv === 'string' || typeof quant === 'string') {
      console.log(`${label}: ours ${typeof ours === 'string' ? ours : `${ours.seconds.toFixed(2)} s`}; llama.cpp ${typeof conv === 'string' ? conv : typeof quant === 'string' ? quant : ''}`);
      return;
    }
    const theirs = conv.seconds + quant.seconds;
    const same = readFileSync(join(dir, 'ours.gguf')).equals(readFileSync(join(dir, 'theirs.gguf')));
    console.log('what                      ours s  convert+quantize s (convert, quantize)  ratio  ours RSS MB  theirs RSS MB (convert, quantize)  identical');
    console.log(`${label.padEnd(24)} ${ours.seconds.toFixed(2).padStart(7)}  ${theirs.toFixed(2).padStart(18)} (${conv.seconds.toFixed(2)}, ${quant.seconds.toFixed(2)})  ${(ours.seconds / theirs).toFixed(2).padStart(5)}  ${ours.maxRssMB.toFixed(0).padStart(11)}  ${Math.max(conv.maxRssMB, quant.maxRssMB).toFixed(0).padStart(13)} (${conv.maxRssMB.toFixed(0)}, ${quant.maxRssMB.toFixed(0)})  ${same ? 'yes' : 'NO'}`);
    console.log('# ratio: ours / (convert + quantize), goal ≤ 0.5; one run each');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === self) {
  if (process.argv[2] === '--write-folder') {
    const { writeLlamaFolder } = await import('../test/support/hf-folders.ts');
    await writeLlamaFolder(process.argv[3]!, { dtype: 'BF16', hidden: 2048, intermediate: 5632, heads: 32, kvHeads: 4, layers: Number(process.argv[4]), vocab: 32000 });
  } else if (process.argv[2] === '--child') {
    const [mode, dir, input, output, type, threads] = process.argv.slice(3) as [string, string, string, string, string, string];
    await child(mode, dir, input, output, type, Number(threads));
  } else {
    const { values } = parseArgs({ options: { threads: { type: 'string', default: '2' }, layers: { type: 'string', default: '2' }, type: { type: 'string', default: 'Q4_K_M' }, dir: { type: 'string' } } });
    await convertBench({ threads: Number(values.threads), layers: Number(values.layers), type: values.type, ...(values.dir ? { dir: values.dir } : {}) });
  }
}

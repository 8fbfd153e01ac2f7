// Hugging Face folder → Q4_K_M: our one pass (safetensors rows → permute/convert → quantizer → GGUF)
// against llama.cpp's two steps, `convert_hf_to_gguf.py --outtype auto` then llama_model_quantize,
// on the same BF16 folder with the same threads. Prints the time ratio (goal ≤ 0.5) and both peak
// RSS (ours ≤ 512 MB). Each side runs in child processes, so peak RSS is its own: ours from
// process.resourceUsage(), the converter's and the quantizer's from /usr/bin/time.
// Run alone: node --import tsx bench/convert-quantize.ts [--threads N] [--layers N] [--type T]
//   --big-tensor-mib 1024: instead, peak RSS of our one pass (TYPE, then F16) on a folder whose
//   token_embd alone is that big

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const self = fileURLToPath(import.meta.url);
const root = fileURLToPath(new URL('..', import.meta.url));

/** Wall seconds of the work, CPU seconds of the whole process (user + system, all threads), peak RSS. */
interface Measured { seconds: number; cpuSeconds?: number; maxRssMB: number }

async function child(mode: string, dir: string, input: string, output: string, type: string, threads: number): Promise<void> {
  const t0 = performance.now();
  if (mode === 'ours') {
    const { convertFolder, quantizeFolder } = await import('../src-main/core/convert/write.ts');
    if (type === 'F16') await convertFolder(dir, output, { outtype: 'f16' });
    else await quantizeFolder(dir, output, { ftype: type }, { threads });
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

const TIME_FORMAT = 'TIME %e %U %S %M';

function parseTime(stderr: string): Required<Measured> | undefined {
  const m = /TIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)/.exec(stderr);
  return m ? { seconds: Number(m[1]), cpuSeconds: Number(m[2]) + Number(m[3]), maxRssMB: Number(m[4]) / 1024 } : undefined;
}

/**
 * A child under /usr/bin/time when present: Linux keeps the parent's peak RSS across fork+exec, so a
 * child's own resourceUsage() can report the bench parent's peak; time's %M is the child's alone.
 */
function runNodeChild(args: string[]): Measured | string {
  const node = [process.execPath, '--import', 'tsx', self, '--child', ...args];
  const timed = existsSync('/usr/bin/time');
  const r = spawnSync(timed ? '/usr/bin/time' : node[0]!, timed ? ['-f', TIME_FORMAT, ...node] : node.slice(1), { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) return `failed: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}`;
  const m = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as Measured;
  const t = parseTime(r.stderr);
  return t ? { seconds: m.seconds, cpuSeconds: t.cpuSeconds, maxRssMB: t.maxRssMB } : m;
}

/** The converter under /usr/bin/time (elapsed seconds and peak RSS in KB on its last stderr line). */
async function runConverter(dir: string, out: string): Promise<Measured | string> {
  const { convertOracleUnavailable, sharedDir } = await import('../test/support/convert-oracle.ts');
  const why = convertOracleUnavailable();
  if (why) return `unavailable: ${why}`;
  if (!existsSync('/usr/bin/time')) return 'unavailable: no /usr/bin/time';
  const wrapper = join(sharedDir()!, 'tools/convert-oracle/run-convert.py');
  const src = join(root, 'node_modules/.cache/quantfit-llama-src');
  const r = spawnSync('/usr/bin/time', ['-f', TIME_FORMAT, '/usr/bin/python3', wrapper, src, dir, '--outtype', 'auto', '--outfile', out], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const t = parseTime(r.stderr);
  if (r.status !== 0 || !t) return `failed: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`;
  return t;
}

/**
 * A folder whose token_embd alone is `mib` MiB of BF16 (vocab × 4096), streamed to disk in slabs: the
 * peak-RSS check for one huge tensor. Other tensors are minimal (1 layer).
 */
async function writeBigFolder(dir: string, mib: number): Promise<void> {
  const { mkdir, writeFile, open } = await import('node:fs/promises');
  const { llama2TokenizerModel, llamaConfig, llamaTensors } = await import('../test/support/hf-folders.ts');
  const hidden = 4096;
  const vocab = Math.floor((mib * 1024 * 1024) / (hidden * 2));
  const o = { dtype: 'BF16' as const, hidden, intermediate: 256, heads: 32, kvHeads: 8, layers: 1, vocab: 8, tied: true };
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'config.json'), JSON.stringify({ ...llamaConfig(o), vocab_size: vocab }));
  await writeFile(join(dir, 'tokenizer.model'), llama2TokenizerModel());
  const small = llamaTensors(o).filter((t) => t.name !== 'model.embed_tokens.weight');
  const embBytes = vocab * hidden * 2;
  const header: Record<string, unknown> = { 'model.embed_tokens.weight': { dtype: 'BF16', shape: [vocab, hidden], data_offsets: [0, embBytes] } };
  let at = embBytes;
  for (const t of small) { header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [at, at + t.data.length] }; at += t.data.length; }
  let json = Buffer.from(JSON.stringify(header));
  json = Buffer.concat([json, Buffer.alloc((8 - (json.length % 8)) % 8, 0x20)]);
  const fh = await open(join(dir, 'model.safetensors'), 'w');
  try {
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(BigInt(json.length));
    await fh.write(prefix);
    await fh.write(json);
    const slab = new Uint16Array(1 << 22);
    let s = 0x9e3779b9;
    for (let done = 0; done < embBytes / 2; done += slab.length) {
      const n = Math.min(slab.length, embBytes / 2 - done);
      for (let k = 0; k < n; k++) {
        s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
        slab[k] = 0x3c00 | ((s >>> 0) & 0x00ff) | (((s >>> 8) & 1) << 15); // ±(2^-7 … 2^-6)
      }
      await fh.write(new Uint8Array(slab.buffer, 0, n * 2));
    }
    for (const t of small) await fh.write(t.data);
  } finally {
    await fh.close();
  }
}

/** Peak RSS of our one pass (and of the F16 conversion) on a folder with one `mib` MiB tensor. */
export async function bigTensorBench(o: { threads: number; mib: number; type: string; dir?: string }): Promise<void> {
  const dir = await mkdtemp(join(o.dir ?? tmpdir(), 'quantfit-convert-big-'));
  try {
    const model = join(dir, 'big');
    const w = spawnSync(process.execPath, ['--import', 'tsx', self, '--write-big', model, String(o.mib)], { cwd: root, encoding: 'utf8' });
    if (w.status !== 0) throw new Error(`writing the big folder failed: ${w.stderr}`);
    for (const type of [o.type, 'F16']) {
      const r = runNodeChild(['ours', model, '-', join(dir, `out-${type}.gguf`), type, String(o.threads)]);
      console.log(typeof r === 'string' ? `${o.mib} MiB tensor → ${type}: ${r}` : `${o.mib} MiB tensor → ${type}: ${r.seconds.toFixed(1)} s, peak RSS ${r.maxRssMB.toFixed(0)} MB (goal ≤ 512)`);
      await rm(join(dir, `out-${type}.gguf`), { force: true });
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
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
    const cpu = (m: Measured) => (m.cpuSeconds === undefined ? NaN : m.cpuSeconds);
    const theirsCpu = cpu(conv) + cpu(quant);
    console.log('what                      ours s  convert+quantize s (convert, quantize)  ratio  CPU s ours/theirs  ratio  ours RSS MB  theirs RSS MB (convert, quantize)  identical');
    console.log(`${label.padEnd(24)} ${ours.seconds.toFixed(2).padStart(7)}  ${theirs.toFixed(2).padStart(18)} (${conv.seconds.toFixed(2)}, ${quant.seconds.toFixed(2)})  ${(ours.seconds / theirs).toFixed(2).padStart(5)}  ${`${cpu(ours).toFixed(1)}/${theirsCpu.toFixed(1)}`.padStart(17)}  ${(cpu(ours) / theirsCpu).toFixed(2).padStart(5)}  ${ours.maxRssMB.toFixed(0).padStart(11)}  ${Math.max(conv.maxRssMB, quant.maxRssMB).toFixed(0).padStart(13)} (${conv.maxRssMB.toFixed(0)}, ${quant.maxRssMB.toFixed(0)})  ${same ? 'yes' : 'NO'}`);
    console.log('# ratio: ours / (convert + quantize) in wall seconds, goal ≤ 0.5 (one run each); CPU seconds (all threads, from /usr/bin/time) are steadier on a busy machine');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === self) {
  if (process.argv[2] === '--write-big') {
    await writeBigFolder(process.argv[3]!, Number(process.argv[4]));
  } else if (process.argv[2] === '--write-folder') {
    const { writeLlamaFolder } = await import('../test/support/hf-folders.ts');
    await writeLlamaFolder(process.argv[3]!, { dtype: 'BF16', hidden: 2048, intermediate: 5632, heads: 32, kvHeads: 4, layers: Number(process.argv[4]), vocab: 32000 });
  } else if (process.argv[2] === '--child') {
    const [mode, dir, input, output, type, threads] = process.argv.slice(3) as [string, string, string, string, string, string];
    await child(mode, dir, input, output, type, Number(threads));
  } else {
    const { values } = parseArgs({ options: { threads: { type: 'string', default: '2' }, layers: { type: 'string', default: '2' }, type: { type: 'string', default: 'Q4_K_M' }, dir: { type: 'string' }, 'big-tensor-mib': { type: 'string' } } });
    if (values['big-tensor-mib']) await bigTensorBench({ threads: Number(values.threads), mib: Number(values['big-tensor-mib']), type: values.type!, ...(values.dir ? { dir: values.dir } : {}) });
    else await convertBench({ threads: Number(values.threads), layers: Number(values.layers), type: values.type, ...(values.dir ? { dir: values.dir } : {}) });
  }
}

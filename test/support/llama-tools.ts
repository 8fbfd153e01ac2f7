// llama.cpp's own command-line tools (llama-perplexity, llama-imatrix), built from the source
// node-llama-cpp ships by scripts/build-llama-tools.sh (CI) or found in a local build. The engine's
// tests compare against them where present and skip, saying why, where not.

import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { repoRoot } from './cli.ts';

function release(): string {
  try {
    const info = JSON.parse(readFileSync(join(repoRoot, 'node_modules/node-llama-cpp/llama/llama.cpp.info.json'), 'utf8')) as { tag: string };
    return info.tag;
  } catch {
    return 'unknown';
  }
}

/** Folders searched, in order: $QUANTFIT_LLAMA_TOOLS_BIN, the build script's output, a local build. */
export function llamaToolDirs(): string[] {
  const dirs: string[] = [];
  if (process.env.QUANTFIT_LLAMA_TOOLS_BIN) dirs.push(process.env.QUANTFIT_LLAMA_TOOLS_BIN);
  const built = process.env.QUANTFIT_LLAMA_TOOLS ?? join(homedir(), '.cache', 'quantfit', 'llama-tools', release());
  dirs.push(join(built, 'build', 'bin'), '/work/llama-build/bin');
  return dirs;
}

/**
 * A llama.cpp source tree of the pinned release: $QUANTFIT_LLAMA_SRC, the one the build script clones
 * from node-llama-cpp's bundle, or a local clone; undefined when none is here.
 */
export function llamaSourceDir(): string | undefined {
  const built = process.env.QUANTFIT_LLAMA_TOOLS ?? join(homedir(), '.cache', 'quantfit', 'llama-tools', release());
  const candidates = [process.env.QUANTFIT_LLAMA_SRC, join(built, 'src'), '/work/llama-src/llama.cpp'];
  return candidates.find((d): d is string => d !== undefined && existsSync(join(d, 'ggml', 'src', 'ggml-quants.c')));
}

/** The tool's path, or undefined. */
export function findLlamaTool(name: 'llama-perplexity' | 'llama-imatrix'): string | undefined {
  for (const dir of llamaToolDirs()) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

export function llamaToolMissing(name: 'llama-perplexity' | 'llama-imatrix'): string | undefined {
  return findLlamaTool(name) ? undefined : `${name} not found in ${llamaToolDirs().join(', ')} (run scripts/build-llama-tools.sh)`;
}

/** The folder of the tools' own llama.cpp libraries (a shared build puts libllama beside them), or undefined. */
export function llamaToolsLibDir(): string | undefined {
  const tool = findLlamaTool('llama-imatrix');
  if (!tool) return undefined;
  const dir = dirname(tool);
  return readdirSync(dir).some((f) => /^libllama\.(so|dylib)$|^llama\.dll$/.test(f)) ? dir : undefined;
}

/** Runs a tool; throws with its log's tail when it fails. */
export function runLlamaTool(name: 'llama-perplexity' | 'llama-imatrix', args: string[]): string {
  const tool = findLlamaTool(name);
  if (!tool) throw new Error(llamaToolMissing(name));
  const r = spawnSync(tool, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  const out = `${r.stdout}${r.stderr}`;
  if (r.status !== 0) throw new Error(`${name} ${args.join(' ')} failed (${r.status}):\n${out.slice(-3000)}`);
  return out;
}

export interface PerplexityKldReport {
  pplCandidate: number;
  pplBase: number;
  kldMean: number;
  kldMedian: number;
  kldP99: number;
  kldMax: number;
  /** Fractions. */
  rmsDeltaP: number;
  sameTopP: number;
}

/**
 * The statistics llama-perplexity --kl-divergence prints: PPL and KLD from the final block, RMS Δp
 * and same-top from the last per-chunk row (cumulative; the block's own tail is sometimes cut off,
 * llama.cpp's logger being asynchronous).
 */
export function parsePerplexityKld(log: string): PerplexityKldReport {
  const num = (re: RegExp): number => {
    const m = re.exec(log);
    if (!m) throw new Error(`llama-perplexity output lacks ${re}:\n${log.slice(-2000)}`);
    return Number(m[1]);
  };
  const rows = [...log.matchAll(/^\s*\d+\s+[\d.]+ ±\s+[\d.]+\s+-?[\d.]+ ±\s+[\d.]+\s+-?[\d.]+ ±\s+[\d.]+\s+([\d.]+) ±\s+[\d.]+ %\s+([\d.]+) ±\s+[\d.]+ %/gm)];
  const last = rows.at(-1);
  if (!last) throw new Error(`llama-perplexity output has no per-chunk rows:\n${log.slice(-2000)}`);
  return {
    pplCandidate: num(/Mean PPL\(Q\)\s+:\s+([\d.]+)/),
    pplBase: num(/Mean PPL\(base\)\s+:\s+([\d.]+)/),
    kldMean: num(/Mean\s+KLD:\s+([\d.]+)/),
    kldMedian: num(/Median\s+KLD:\s+([\d.]+)/),
    kldP99: num(/99\.0%\s+KLD:\s+([\d.]+)/),
    kldMax: num(/Maximum KLD:\s+([\d.]+)/),
    rmsDeltaP: Number(last[1]) / 100,
    sameTopP: Number(last[2]) / 100,
  };
}

/**
 * llama-perplexity --kl-divergence run and parsed; rerun when its log came out cut short. The tool's
 * logger is a leaked singleton whose queue is not drained at exit (common/log.cpp), so on a busy
 * machine the last lines — the final statistics — are sometimes lost; each run is independent.
 */
export function perplexityKld(args: string[], attempts = 6): PerplexityKldReport {
  for (let attempt = 1; ; attempt++) {
    const log = runLlamaTool('llama-perplexity', args);
    try {
      return parsePerplexityKld(log);
    } catch (err) {
      if (attempt >= attempts) throw err;
    }
  }
}

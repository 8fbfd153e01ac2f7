// The conversion oracle: llama.cpp's own convert_hf_to_gguf.py (at the commit node-llama-cpp 3.22.1
// ships, cloned from its gitRelease.bundle into node_modules/.cache), run on Debian's python3-torch by
// ../shared/tools/convert-oracle/run-convert.py. `convertOracleUnavailable()` says why it cannot run.

import { execFile, spawnSync } from 'node:child_process';
import { existsSync, renameSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PYTHON = '/usr/bin/python3';
const BUNDLE = join(ROOT, 'node_modules/node-llama-cpp/llama/gitRelease.bundle');
const LLAMA_SRC = join(ROOT, 'node_modules/.cache/quantfit-llama-src');

/** shared/ beside the repository (CI, main checkout), or beside its parent (a worktree under wt/). */
export function sharedDir(): string | undefined {
  for (const dir of [resolve(ROOT, '../shared'), resolve(ROOT, '../../shared')]) {
    if (existsSync(join(dir, 'tools/convert-oracle/run-convert.py'))) return dir;
  }
  return undefined;
}

let reason: string | null | undefined;

/** Why the oracle cannot run here, or undefined when it can. Clones the llama.cpp source once. */
export function convertOracleUnavailable(): string | undefined {
  if (reason !== undefined) return reason ?? undefined;
  reason = findReason() ?? null;
  return reason ?? undefined;
}

function findReason(): string | undefined {
  if (sharedDir() === undefined) return 'shared/tools/convert-oracle is absent';
  if (!existsSync(PYTHON)) return `${PYTHON} is absent`;
  const probe = spawnSync(PYTHON, ['-c', 'import torch, numpy, sentencepiece'], { encoding: 'utf8' });
  if (probe.status !== 0) return `${PYTHON} cannot import torch, numpy and sentencepiece (apt-get install python3-torch python3-numpy python3-sentencepiece)`;
  if (!existsSync(join(LLAMA_SRC, 'convert_hf_to_gguf.py'))) {
    if (!existsSync(BUNDLE)) return `${BUNDLE} is absent`;
    // Test files run in parallel processes: each clones beside the target and renames; the first wins.
    const temp = `${LLAMA_SRC}.tmp-${process.pid}`;
    const clone = spawnSync('git', ['clone', '-q', BUNDLE, temp], { encoding: 'utf8' });
    if (clone.status === 0) {
      try {
        renameSync(temp, LLAMA_SRC);
      } catch {
        // Another process got there first.
      }
    }
    rmSync(temp, { recursive: true, force: true });
    if (!existsSync(join(LLAMA_SRC, 'convert_hf_to_gguf.py'))) return `cannot clone llama.cpp from ${BUNDLE}: ${clone.stderr || clone.error}`;
  }
  return undefined;
}

/** convert_hf_to_gguf.py MODEL_DIR --outfile OUT ...args; rejects with the converter's stderr tail. */
export async function runConvertOracle(modelDir: string, outFile: string, args: readonly string[] = []): Promise<void> {
  const why = convertOracleUnavailable();
  if (why !== undefined) throw new Error(`convert oracle unavailable: ${why}`);
  const script = join(sharedDir()!, 'tools/convert-oracle/run-convert.py');
  try {
    await run(PYTHON, [script, LLAMA_SRC, modelDir, '--outfile', outFile, ...args], {
      cwd: dirname(outFile), maxBuffer: 64 * 1024 * 1024, env: { ...process.env, PYTHONHASHSEED: '0' },
    });
  } catch (err) {
    const stderr = String((err as { stderr?: string }).stderr ?? '');
    throw new Error(`convert_hf_to_gguf.py failed on ${modelDir}: ${stderr.split('\n').slice(-6).join('\n')}`);
  }
}

export interface ConvertJob {
  readonly modelDir: string;
  readonly outFile: string;
  readonly args?: readonly string[];
}

/**
 * Several conversions in one Python process (torch imported once: ~5 s saved per folder). Resolves to
 * one entry per job: undefined when it converted, else the converter's error.
 */
export async function runConvertOracleBatch(jobs: readonly ConvertJob[], workDir: string): Promise<(string | undefined)[]> {
  const why = convertOracleUnavailable();
  if (why !== undefined) throw new Error(`convert oracle unavailable: ${why}`);
  const jobsFile = join(workDir, 'convert-jobs.json');
  await writeFile(jobsFile, JSON.stringify(jobs.map((j) => ({ model: j.modelDir, out: j.outFile, args: j.args ?? [] }))));
  const script = join(sharedDir()!, 'tools/convert-oracle/run-convert.py');
  const batch = fileURLToPath(new URL('./convert-oracle-batch.py', import.meta.url));
  const { stdout } = await run(PYTHON, [batch, script, LLAMA_SRC, jobsFile], {
    cwd: workDir, maxBuffer: 256 * 1024 * 1024, env: { ...process.env, PYTHONHASHSEED: '0' },
  });
  const line = stdout.split('\n').find((l) => l.startsWith('BATCH-RESULTS '));
  if (line === undefined) throw new Error('convert-oracle-batch.py printed no results');
  return (JSON.parse(line.slice('BATCH-RESULTS '.length)) as (string | null)[]).map((r) => r ?? undefined);
}

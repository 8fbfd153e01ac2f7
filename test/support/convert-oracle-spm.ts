// The conversion oracle with the GPT-2 BPE vocabulary path replaced by the SentencePiece one
// (run-convert-spm.py), for architectures whose set_vocab needs `transformers` (Qwen3-MoE).

import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { convertOracleUnavailable, sharedDir } from './convert-oracle.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const LLAMA_SRC = join(ROOT, 'node_modules/.cache/quantfit-llama-src');
const SCRIPT = fileURLToPath(new URL('./run-convert-spm.py', import.meta.url));

export async function runConvertOracleSpmVocab(modelDir: string, outFile: string, args: readonly string[] = []): Promise<void> {
  const why = convertOracleUnavailable();
  if (why !== undefined) throw new Error(`convert oracle unavailable: ${why}`);
  const wrapper = join(sharedDir()!, 'tools/convert-oracle/run-convert.py');
  try {
    await run('/usr/bin/python3', [SCRIPT, wrapper, LLAMA_SRC, modelDir, '--outfile', outFile, ...args], { cwd: dirname(outFile), maxBuffer: 64 << 20 });
  } catch (err) {
    const stderr = String((err as { stderr?: string }).stderr ?? '');
    throw new Error(`convert_hf_to_gguf.py failed on ${modelDir}: ${stderr.split('\n').slice(-6).join('\n')}`);
  }
}

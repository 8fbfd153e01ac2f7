// The smoke test after create: load the model with a short prompt, then compare what Ollama reports
// (/api/ps size and size_vram) with the advisor's prediction, and measure decode speed.

import { QuantfitError } from '../errors.ts';
import type { JobEvent } from '../progress.ts';
import type { OllamaClient } from './client.ts';
import { displayName, parseModelName } from './names.ts';
import type { VerifyResult } from './types.ts';

export const DEFAULT_VERIFY_PROMPT = 'Reply with one short sentence: what is 2 + 2?';

export interface VerifyOptions {
  readonly prompt?: string;
  /** Tokens to generate; small so the test is quick on a CPU. */
  readonly numPredict?: number;
  readonly predictedBytes?: number;
  readonly signal?: AbortSignal;
  readonly onEvent?: (e: JobEvent) => void;
}

const NS_PER_MS = 1e6;

export async function verifyModel(client: OllamaClient, model: string, opts: VerifyOptions = {}): Promise<VerifyResult> {
  const { signal, onEvent } = opts;
  onEvent?.({ type: 'stage', stage: 'verify', status: 'start', message: `loading ${model} with a test prompt` });
  const gen = await client.generate(
    { model, prompt: opts.prompt ?? DEFAULT_VERIFY_PROMPT, options: { num_predict: opts.numPredict ?? 24, temperature: 0 } },
    { signal },
  );
  if (gen.evalCount === 0 && gen.response === '') {
    throw new QuantfitError(`'${model}' loaded but produced no tokens for the test prompt (done_reason: ${gen.doneReason ?? 'none'})`);
  }
  const tokensPerSecond = gen.evalDurationNs > 0 ? gen.evalCount / (gen.evalDurationNs / 1e9) : null;

  const wanted = parseModelName(model);
  const key = wanted ? displayName(wanted).toLowerCase() : model.toLowerCase();
  const running = (await client.runningModels({ signal })).find((m) => {
    const p = parseModelName(m.name);
    return (p ? displayName(p).toLowerCase() : m.name.toLowerCase()) === key;
  });

  const predicted = opts.predictedBytes !== undefined && opts.predictedBytes > 0 ? opts.predictedBytes : null;
  const size = running ? running.sizeBytes : null;
  const errorBytes = predicted !== null && size !== null ? size - predicted : null;
  const result: VerifyResult = {
    model,
    response: gen.response.trim().slice(0, 400),
    doneReason: gen.doneReason,
    loadMs: gen.loadDurationNs / NS_PER_MS,
    totalMs: gen.totalDurationNs / NS_PER_MS,
    promptTokens: gen.promptEvalCount,
    evalTokens: gen.evalCount,
    tokensPerSecond,
    sizeBytes: size,
    sizeVramBytes: running ? running.sizeVramBytes : null,
    placement: running ? running.placement : null,
    contextLength: running ? running.contextLength : null,
    predictedBytes: predicted,
    predictionErrorBytes: errorBytes,
    predictionErrorPercent: errorBytes !== null && predicted !== null ? (errorBytes / predicted) * 100 : null,
  };
  if (!running) {
    onEvent?.({ type: 'log', level: 'warn', stage: 'verify', message: `${model} was not listed by /api/ps after loading, so its memory use is unknown` });
  } else if (running.placement !== 'gpu' && running.sizeVramBytes > 0) {
    onEvent?.({
      type: 'log',
      level: 'warn',
      stage: 'verify',
      message: `${model} runs partly on the CPU (${running.gpuPercent}% on the GPU): expect lower speed`,
    });
  }
  onEvent?.({ type: 'stage', stage: 'verify', status: 'done', message: describeVerify(result) });
  return result;
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** One line for people: speed, load time, memory next to the prediction. */
export function describeVerify(v: VerifyResult): string {
  const parts: string[] = [];
  parts.push(v.tokensPerSecond !== null ? `${v.tokensPerSecond.toFixed(1)} tokens/s` : 'speed unknown');
  parts.push(`load ${Math.round(v.loadMs)} ms`);
  if (v.sizeBytes !== null) {
    let mem = `memory ${mib(v.sizeBytes)} (${v.sizeVramBytes !== null ? mib(v.sizeVramBytes) : '?'} on GPU)`;
    if (v.predictedBytes !== null && v.predictionErrorPercent !== null) {
      const sign = v.predictionErrorPercent >= 0 ? '+' : '';
      mem += `, predicted ${mib(v.predictedBytes)} (${sign}${v.predictionErrorPercent.toFixed(1)}%)`;
    }
    parts.push(mem);
  }
  return parts.join(', ');
}

// The smoke test after create: load the model with a short prompt, then compare what Ollama reports
// (/api/ps size and size_vram) with the advisor's prediction, and measure decode speed.

import { quantfitError } from '../errors.ts';
import type { Message } from '../../../src-shared/message.ts';
import { msg } from '../../../src-shared/messages/index.ts';
import { english } from '../jobs/runner.ts';
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
  const start = msg('ollama.verify.start', { model });
  onEvent?.({ type: 'stage', stage: 'verify', status: 'start', message: english(start), text: start });
  const gen = await client.generate(
    { model, prompt: opts.prompt ?? DEFAULT_VERIFY_PROMPT, options: { num_predict: opts.numPredict ?? 24, temperature: 0 } },
    { signal },
  );
  if (gen.evalCount === 0 && gen.response === '') {
    throw quantfitError('ollama.verify.noTokens', { model, reason: gen.doneReason ?? msg('ollama.none') });
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
  const warning = !running
    ? msg('ollama.verify.notListed', { model })
    : running.placement !== 'gpu' && running.sizeVramBytes > 0 ? msg('ollama.verify.partlyCpu', { model, percent: running.gpuPercent }) : null;
  if (warning) onEvent?.({ type: 'log', level: 'warn', stage: 'verify', message: english(warning), text: warning });
  const done = verifySummary(result);
  onEvent?.({ type: 'stage', stage: 'verify', status: 'done', message: english(done), text: done });
  return result;
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** One line for people: speed, load time, memory next to the prediction. */
export function verifySummary(v: VerifyResult): Message {
  const speed = v.tokensPerSecond !== null ? msg('ollama.verify.speed', { value: v.tokensPerSecond.toFixed(1) }) : msg('ollama.verify.speedUnknown');
  let line = msg('ollama.join', { first: speed, second: msg('ollama.verify.load', { ms: Math.round(v.loadMs) }) });
  if (v.sizeBytes !== null) {
    const size = mib(v.sizeBytes);
    const gpu = v.sizeVramBytes !== null ? mib(v.sizeVramBytes) : '?';
    const memory = v.predictedBytes !== null && v.predictionErrorPercent !== null
      ? msg('ollama.verify.memoryPredicted', { size, gpu, predicted: mib(v.predictedBytes), diff: `${v.predictionErrorPercent >= 0 ? '+' : ''}${v.predictionErrorPercent.toFixed(1)}` })
      : msg('ollama.verify.memory', { size, gpu });
    line = msg('ollama.join', { first: line, second: memory });
  }
  return line;
}

/** verifySummary in English. */
export function describeVerify(v: VerifyResult): string {
  return english(verifySummary(v));
}

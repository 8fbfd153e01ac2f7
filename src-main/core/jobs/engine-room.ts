// Checked in the 'advise' stage, before any work: room on this machine for the fit's llama.cpp passes.
// The 'imatrix' and 'evaluate' stages load the unquantized input with llama.cpp (engine/room.ts: the
// advisor's CPU estimate with the engine's chunk layout); 'evaluate' also keeps the reference's
// log-probabilities on disk. Not enough RAM or disk refuses the fit now, with what to do instead, rather
// than paging for hours or failing midway; RAM that is there but taken right now is a warning.

import { dirname } from 'node:path';
import { memoryBudget } from '../advisor/budget.ts';
import { machineFor } from '../advisor/service.ts';
import { formatBytes } from '../advisor/sizes.ts';
import { enginePassMemory, referenceCacheBytes, type EnginePass, type EnginePassMemory } from '../engine/room.ts';
import { QuantfitError, quantfitError } from '../errors.ts';
import { freeBytes, nearestFolder } from '../fs-util.ts';
import type { HardwareProfile } from '../hardware/types.ts';
import { msg } from '../../../src-shared/messages/index.ts';
import type { Message } from '../../../src-shared/message.ts';
import { cannotEvaluate, FIT_ENGINE_CTX, FIT_EVAL_CHUNKS } from './engine-stages.ts';
import type { FitContext, FitTarget, SourceModel } from './fit-stages.ts';

/** What the passes need and what the machine has. */
export interface EngineRoomFacts {
  /** The largest pass the job runs (memory), null when none runs. */
  readonly pass: { readonly name: EnginePass; readonly memory: EnginePassMemory } | null;
  readonly usableRamBytes: number;
  /** Free RAM right now (MemAvailable), when the probe says. */
  readonly availableRamBytes: number | null;
  /** The quality check's log-probabilities, and the output when it goes to the same folder; null without one. */
  readonly disk: { readonly dir: string; readonly cacheBytes: number; readonly outputBytes: number; readonly freeBytes: number | null } | null;
}

const PASS_NAME: Readonly<Record<EnginePass, Message>> = { imatrix: msg('room.pass.imatrix'), eval: msg('room.pass.eval') };
const HINT: Readonly<Record<EnginePass, Message>> = { imatrix: msg('room.hint.imatrix'), eval: msg('room.hint.eval') };

/** The refusal (thrown) or the warning (returned) the facts call for; null when there is room. */
export function judgeEngineRoom(facts: EngineRoomFacts, file: string): Message | null {
  const { pass, disk } = facts;
  if (disk !== null && disk.freeBytes !== null && disk.cacheBytes + disk.outputBytes > disk.freeBytes) {
    const output = disk.outputBytes > 0 ? msg('room.withOutput', { size: formatBytes(disk.outputBytes) }) : msg('common.text', { text: '' });
    throw quantfitError('room.noDisk', { cache: formatBytes(disk.cacheBytes), output, dir: disk.dir, free: formatBytes(disk.freeBytes) }, { file: disk.dir });
  }
  if (pass === null) return null;
  const m = pass.memory;
  const needs = formatBytes(m.totalBytes);
  if (m.totalBytes > facts.usableRamBytes) {
    throw quantfitError('room.noMemory', {
      pass: PASS_NAME[pass.name], needs, weights: formatBytes(m.weightBytes), work: formatBytes(m.totalBytes - m.weightBytes),
      usable: formatBytes(facts.usableRamBytes), hint: HINT[pass.name],
    }, { file });
  }
  if (facts.availableRamBytes !== null && m.totalBytes > facts.availableRamBytes) {
    return msg('room.memoryBusy', { pass: PASS_NAME[pass.name], needs, available: formatBytes(facts.availableRamBytes) });
  }
  return null;
}

/** The passes this job will run: the importance matrix when the stage computes one, the quality check when asked and possible. */
function passesOf(job: FitContext, source: SourceModel, target: Pick<FitTarget, 'plan' | 'makeImatrix'>): EnginePass[] {
  const passes: EnginePass[] = [];
  if (target.makeImatrix) passes.push('imatrix');
  if (cannotEvaluate(job, target) === null) passes.push('eval');
  return passes;
}

/**
 * Refuses the fit when this machine lacks the RAM or disk its llama.cpp passes need; warns (through
 * `warn`) when the RAM is there but taken. `hardware`: the profile the advisor already probed, when it is
 * this machine as it is (no "what if" sizes); otherwise this machine is probed.
 */
export async function checkEngineRoom(
  job: FitContext,
  source: SourceModel,
  target: Pick<FitTarget, 'plan' | 'makeImatrix' | 'outputPath'>,
  hardware: HardwareProfile | null,
  warn: (m: Message) => void,
): Promise<void> {
  const passes = passesOf(job, source, target);
  if (passes.length === 0) return;
  const machine = hardware ?? await machineFor({ outputDir: job.outDir, ...(job.request.hardware ? { hardware: job.request.hardware } : {}) });
  let pass: EngineRoomFacts['pass'] = null;
  let cacheBytes = 0;
  try {
    for (const name of passes) {
      const memory = enginePassMemory(source.header, FIT_ENGINE_CTX, name, machine.cpu.simd);
      if (pass === null || memory.totalBytes > pass.memory.totalBytes) pass = { name, memory };
    }
    if (passes.includes('eval')) cacheBytes = referenceCacheBytes(source.header, FIT_ENGINE_CTX, FIT_EVAL_CHUNKS);
  } catch (err) {
    // Metadata the estimate cannot read: the stage itself will say what is wrong with the model.
    if (!(err instanceof QuantfitError && err.code?.startsWith('advisor.'))) throw err;
    return;
  }
  let disk: EngineRoomFacts['disk'] = null;
  if (passes.includes('eval')) {
    // The cache goes to the output folder (engine-stages.ts: cacheDir), after the output is written, next
    // to a folder source's conversion for llama.cpp (kept until 'evaluate' is done).
    const dir = await nearestFolder(job.outDir);
    const outputNearby = target.plan !== null && (await nearestFolder(dirname(target.outputPath))) === dir;
    const conversion = source.folder === true ? source.header.fileSize : 0;
    disk = { dir, cacheBytes, outputBytes: (outputNearby ? target.plan!.fileBytes : 0) + conversion, freeBytes: await freeBytes(dir) };
  }
  const ram = machine.ram.totalBytes === null ? null : memoryBudget(machine).cpuBytes;
  const warning = judgeEngineRoom({
    pass: ram === null ? null : pass,
    usableRamBytes: ram ?? 0,
    availableRamBytes: machine.ram.availableBytes,
    disk,
  }, job.input);
  if (warning) warn(warning);
}

// The job registry: which core function runs for each job kind. The host dispatches to it.
import type { FitResult } from '../contract.ts';
import { QuantfitError } from '../core/errors.ts';
import type { JobInput, JobRegistry } from './job-protocol.ts';

async function notYet(_input: JobInput): Promise<FitResult> {
  throw new QuantfitError('this job is not available yet');
}

export const JOB_REGISTRY: JobRegistry = {
  quantize: notYet,
  fit: notYet,
};

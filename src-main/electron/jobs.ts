// The job registry: which core work runs for each job kind. 'quantize' and 'fit' are the core's fit
// job (its stages: JOB_STAGES in src-shared/stages.ts; 'quantize' skips the Ollama stages); 'measure'
// is the app's "Measure quality" (measureQuality, the core measurement behind `recommend --measure`).
// The host dispatches here, so the protocol does not know what a job does.
import { runFitJob } from '../core/jobs/fit.ts';
import type { FitResult } from '../../src-shared/contract.ts';
import type { FitJobInput, JobContext, JobRegistry } from './job-protocol.ts';
import { measureQuality } from './services.ts';

function fitRunner(kind: 'quantize' | 'fit'): (input: FitJobInput, ctx: JobContext) => Promise<FitResult> {
  return (input, ctx) =>
    runFitJob(
      {
        ...input.request,
        // Main resolved these from the settings; the renderer cannot choose them.
        outputPath: input.outputPath,
        host: input.ollamaHost,
        threads: input.threads,
        register: kind === 'fit',
        // The app's "force" checkbox is about the Ollama model only. The output file has the app's own
        // name for this model and type, so a re-run (after a cancel, or to register again) rewrites
        // it; it is replaced by rename only once the new one is complete.
        replaceOutput: true,
      },
      { signal: ctx.signal, onEvent: ctx.onEvent },
    );
}

export const JOB_REGISTRY: JobRegistry = {
  quantize: fitRunner('quantize'),
  fit: fitRunner('fit'),
  measure: (input, ctx) =>
    measureQuality(input.modelPath, input.types, { workDir: input.workDir, threads: input.threads, signal: ctx.signal, onEvent: ctx.onEvent }),
};

// Worker-thread side of the quantization pool: receives QuantJobs, quantizes into the job's output
// buffer and sends both buffers back (transferred, not copied) for reuse.

import { parentPort } from 'node:worker_threads';
import { errorMessage } from '../errors.ts';
import { runQuantJob, type QuantJob, type QuantJobResult } from './quant-job.ts';

const port = parentPort;
if (!port) throw new Error('quant-worker.ts must run in a worker thread');

port.on('message', (job: QuantJob) => {
  let result: QuantJobResult;
  try {
    runQuantJob(job);
    result = { id: job.id, ok: true, src: job.src, dst: job.dst };
  } catch (err) {
    result = { id: job.id, ok: false, error: errorMessage(err), tensor: job.tensor, src: job.src, dst: job.dst };
  }
  port.postMessage(result, [job.src.buffer as ArrayBuffer, job.dst.buffer as ArrayBuffer]);
});

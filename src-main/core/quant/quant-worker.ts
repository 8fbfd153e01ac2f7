// Worker-thread side of the quantization pool: receives QuantJobs, answers with the quantized bytes
// (their ArrayBuffer transferred back, not copied).

import { parentPort } from 'node:worker_threads';
import { runQuantJob, type QuantJob, type QuantJobResult } from './quant-job.ts';

const port = parentPort;
if (!port) throw new Error('quant-worker.ts must run in a worker thread');

port.on('message', (job: QuantJob) => {
  let result: QuantJobResult;
  try {
    result = { id: job.id, ok: true, dst: runQuantJob(job) };
  } catch (err) {
    result = { id: job.id, ok: false, message: err instanceof Error ? err.message : String(err), tensor: job.tensor };
  }
  port.postMessage(result, result.ok ? [result.dst.buffer as ArrayBuffer] : []);
});

// Utility-process entry: runs long jobs (quantize, fit) away from the main process.
// Electron gives a utilityProcess `process.parentPort`; everything else lives in job-protocol.ts.
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { setQuantWorkerFactory } from '../core/quant/worker-pool.ts';
import { serveJobs, type HostPort } from './job-protocol.ts';
import { JOB_REGISTRY } from './jobs.ts';

// In the bundled app the quantizer's worker is its own entry beside this file (electron.vite.config.ts).
setQuantWorkerFactory(() => new Worker(join(import.meta.dirname, 'quant-worker.js')));

const parentPort = (process as NodeJS.Process & { parentPort?: HostPort }).parentPort;
if (!parentPort) throw new Error('job-host must run in an Electron utility process');
serveJobs(parentPort, JOB_REGISTRY);

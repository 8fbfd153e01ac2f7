// Utility-process entry: runs long jobs (quantize, fit) away from the main process.
// Electron gives a utilityProcess `process.parentPort`; everything else lives in job-protocol.ts.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { setQuantWorkerFactory } from '../core/quant/worker-pool.ts';
import { serveJobs, type HostPort } from './job-protocol.ts';
import { JOB_REGISTRY } from './jobs.ts';

// In the bundled app the quantizer's worker is its own entry beside this file (electron.vite.config.ts);
// packaged, electron-builder unpacks it from the asar archive so a worker thread can load it.
const here = import.meta.dirname;
const unpacked = here.replace(/([\\/])app\.asar([\\/])/, '$1app.asar.unpacked$2');
const workerPath = join(existsSync(join(unpacked, 'quant-worker.js')) ? unpacked : here, 'quant-worker.js');
setQuantWorkerFactory(() => new Worker(workerPath));

const parentPort = (process as NodeJS.Process & { parentPort?: HostPort }).parentPort;
if (!parentPort) throw new Error('job-host must run in an Electron utility process');
serveJobs(parentPort, JOB_REGISTRY);

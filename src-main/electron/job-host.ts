// Utility-process entry: runs long jobs (quantize, fit) away from the main process.
// Electron gives a utilityProcess `process.parentPort`; everything else lives in job-protocol.ts.
import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { setQuantWorkerFactory } from '../core/quant/worker-pool.ts';
import { setWasmPath } from '../core/quant/wasm/index.ts';
import { setCalibrationTextPath } from '../core/engine/calibration.ts';
import { calibrationTextPath, quantWasmPath, quantWorkerPath } from './host-paths.ts';
import { serveJobs, type HostPort } from './job-protocol.ts';
import { JOB_REGISTRY } from './jobs.ts';

const here = import.meta.dirname;
const workerPath = quantWorkerPath(here, existsSync);
// Set before any worker starts: workers inherit it through the environment.
const resourcesPath = (process as NodeJS.Process & { resourcesPath?: string }).resourcesPath;
const wasm = quantWasmPath(here, resourcesPath, existsSync);
if (wasm) setWasmPath(wasm);
const calibration = calibrationTextPath(here, resourcesPath, existsSync);
if (calibration) setCalibrationTextPath(calibration);
setQuantWorkerFactory(() => new Worker(workerPath));

const parentPort = (process as NodeJS.Process & { parentPort?: HostPort }).parentPort;
if (!parentPort) throw new Error('job-host must run in an Electron utility process');
serveJobs(parentPort, JOB_REGISTRY);

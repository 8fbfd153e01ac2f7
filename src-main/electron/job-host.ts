// Utility-process entry: runs long jobs (quantize, fit) away from the main process.
// Electron gives a utilityProcess `process.parentPort`; everything else lives in job-protocol.ts.
import { serveJobs, type HostPort } from './job-protocol.ts';
import { JOB_REGISTRY } from './jobs.ts';

const parentPort = (process as NodeJS.Process & { parentPort?: HostPort }).parentPort;
if (!parentPort) throw new Error('job-host must run in an Electron utility process');
serveJobs(parentPort, JOB_REGISTRY);

// The real job registry behind the host protocol, in a plain Node child process (what the Electron
// utility process runs, minus Electron), for the e2e bridge.
import { childProcessPort, serveJobs } from '../../../src-main/electron/job-protocol.ts';
import { JOB_REGISTRY } from '../../../src-main/electron/jobs.ts';

serveJobs(childProcessPort(process), JOB_REGISTRY);

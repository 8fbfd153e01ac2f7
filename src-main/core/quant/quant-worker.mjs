// Worker entry for runs from the TypeScript sources when esbuild cannot bundle the worker (see
// worker-pool.ts): worker threads do not inherit the tsx loader, so register it here, then load the
// TypeScript worker. The compiled CLI starts out/cli/quant-worker.js instead.
import { register } from 'tsx/esm/api';

register();
await import('./quant-worker.ts');

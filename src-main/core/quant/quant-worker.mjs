// Worker entry for runs without a build step (CLI and tests): worker threads do not inherit the
// tsx loader that `bin/quantfit.mjs` registers, so register it here, then load the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./quant-worker.ts');

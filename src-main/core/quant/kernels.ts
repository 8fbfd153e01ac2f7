// Importing this module registers every kernel family. Add one import per family module.
export { kernelFor, registeredTypes } from './registry.ts';
import './kquants.ts';
import './iquants-grid.ts';
import './float.ts';
import './legacy.ts';
import './iq4.ts';
import './ternary.ts';
import './fp4.ts';

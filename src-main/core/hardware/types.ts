// What the machine has lives in src-shared (the app shows it); the core imports it from here.
export type * from '../../../src-shared/types/hardware.ts';

// The advisor's answer lives in src-shared (the app shows it); the core imports it from here.
export type * from '../../../src-shared/types/advisor.ts';

// The one bridge to the main process, installed by the preload (or by the e2e test harness).
import type { QuantfitApi } from '../../../src-shared/contract.ts';

declare global {
  interface Window {
    quantfit: QuantfitApi;
  }
}

export const api = (): QuantfitApi => window.quantfit;

/** An error's message for display (the bridge already strips IPC prefixes). */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

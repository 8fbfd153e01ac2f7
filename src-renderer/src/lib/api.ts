// The one bridge to the main process, installed by the preload (or by the e2e test harness).
import type { Message, QuantfitApi } from '../../../src-shared/contract.ts';
import { messageFromErrorText } from '../../../src-shared/message.ts';

declare global {
  interface Window {
    quantfit: QuantfitApi;
  }
}

export const api = (): QuantfitApi => window.quantfit;

/** An error as a Message (main sends one through the error's text); any other error as its text. */
export function messageOf(err: unknown): Message {
  const text = err instanceof Error ? err.message : String(err);
  return messageFromErrorText(text) ?? { code: 'common.text', params: { text } };
}

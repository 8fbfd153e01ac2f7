// What `--json` prints for the texts a person reads. Every such text is in the CLI's language
// (--lang, LC_ALL, LC_MESSAGES, LANG) and travels with its message code and params, which do not
// change with the language: a field that is a string holds the text and a sibling `…Message` holds
// {code, params}; a field that is a message gains `text`.

import type { Message } from '../../src-shared/message.ts';
import { reasonsMessage, type NumberFormat } from '../../src-shared/reasons.ts';
import type { HardwareProfile } from '../core/hardware/types.ts';
import type { Recommendation } from '../core/advisor/types.ts';
import type { TemplateChoice } from '../core/ollama/types.ts';
import type { JobEvent } from '../core/progress.ts';
import { formatBytes } from '../core/advisor/sizes.ts';
import { say } from './locale.ts';

/** Numbers in the advisor's reasons as `quantfit` prints them (its tables do the same). */
export const CLI_NUMBERS: NumberFormat = { bytes: (n) => (n === undefined ? '-' : formatBytes(n)), integer: String };

export type TextedMessage = Message & { readonly text: string };

/** A message with its text in the CLI's language. */
export function withText(message: Message): TextedMessage {
  return { ...message, text: say(message) };
}

/**
 * The advisor's pick: `reason` in the CLI's language, `reasonMessage` the same as a message, and
 * `reasons` the structured items (codes and raw numbers) a program should read.
 */
export function recommendationJson(r: Recommendation): Recommendation & { reasonMessage: Message } {
  const reasonMessage = reasonsMessage(r.reasons, CLI_NUMBERS);
  return { ...r, reason: say(reasonMessage), reasonMessage };
}

/** The hardware profile, each of its unknowns with its text. */
export function hardwareJson(hw: HardwareProfile): Omit<HardwareProfile, 'unknowns'> & { unknowns: TextedMessage[] } {
  return { ...hw, unknowns: hw.unknowns.map(withText) };
}

/** The chat-template choice: `reason` in the CLI's language, `reasonMessage` as a message. */
export function templateJson(choice: TemplateChoice): Omit<TemplateChoice, 'reasonText'> & { reasonMessage: Message } {
  const { reasonText, ...rest } = choice;
  return { ...rest, reason: say(reasonText), reasonMessage: reasonText };
}

/** A job event as one JSON line: its note (`message`) in the CLI's language when it has a coded one. */
export function jsonEventLine(e: JobEvent): string {
  const shown = e.type !== 'progress' && e.text !== undefined ? { ...e, message: say(e.text) } : e;
  return `${JSON.stringify(shown)}\n`;
}

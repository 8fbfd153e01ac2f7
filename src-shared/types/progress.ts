// One shape of progress for every long step: the CLI prints it, the renderer draws it.

import type { Message } from '../message.ts';
import type { Stage } from '../stages.ts';

/** The steps of a fit, in order: the list in stages.ts. */
export type { Stage } from '../stages.ts';

export type JobEvent =
  /** A step began, finished, or was skipped (with why). */
  | {
      type: 'stage';
      stage: Stage;
      status: 'start' | 'done' | 'skipped';
      /** The note in English (what the CLI's JSON output and older readers show). */
      message?: string;
      /** The same note as a message code, for the reader's language. */
      text?: Message;
    }
  /** Work inside a step: `done` of `total` units, the rate over a recent window, and an ETA. */
  | {
      type: 'progress';
      stage: Stage;
      /** Bytes read/written/uploaded, or tokens evaluated by llama.cpp (imatrix, evaluate). */
      unit: 'bytes' | 'tokens';
      done: number;
      total: number;
      /** Units per second, smoothed; 0 until measurable. */
      rate: number;
      /** Seconds left, or null until measurable. */
      etaSeconds: number | null;
      /** Quantize: the tensor being written. */
      tensor?: { index: number; count: number; name: string; type: string };
      /** Quantize: bytes written to the output so far. */
      bytesOut?: number;
      /** Create: the server's status line; upload: hashing or uploading. */
      status?: string;
      /** The same as a message code, for the reader's language. */
      statusText?: Message;
    }
  /** Something a person should read (a warning, a server status line). */
  | {
      type: 'log';
      level: 'info' | 'warn';
      stage?: Stage;
      /** In English. */
      message: string;
      /** The same line as a message code, for the reader's language. */
      text?: Message;
    };

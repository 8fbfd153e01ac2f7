// Test doubles around the job host: an in-memory port (what main sends, what the host replies), a real
// child process running a host entry, and a collector of the JobManager's messages.

import { fork } from 'node:child_process';
import type { JobMessage } from '../../../src-shared/contract.ts';
import type { HostProcess } from '../../../src-main/electron/job-manager.ts';
import type { HostPort, HostReply } from '../../../src-main/electron/job-protocol.ts';

/** Resolves once `pred` holds, re-checked whenever `waiters` are woken. */
function waitUntil(waiters: Array<() => void>) {
  return async (pred: () => boolean): Promise<void> => {
    while (!pred()) await new Promise<void>((r) => waiters.push(r));
  };
}

/** An in-memory port: what main would send, and everything the host replies. */
export function fakePort() {
  let listener: ((m: { data: unknown }) => void) | null = null;
  const replies: HostReply[] = [];
  const waiters: Array<() => void> = [];
  const port: HostPort = {
    on: (_e, l) => (listener = l),
    postMessage: (m) => {
      replies.push(m);
      waiters.splice(0).forEach((w) => w());
    },
  };
  return { port, replies, send: (data: unknown): void => listener!({ data }), until: waitUntil(waiters) };
}

/** A JobManager's host: a child process running `entry` (a host serving the job protocol) through tsx. */
export function forkHost(entry: string): () => HostProcess {
  return () => {
    const child = fork(entry, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    return {
      postMessage: (m) => child.send(m),
      onMessage: (l) => child.on('message', (m) => l(m as HostReply)),
      onExit: (l) => child.on('exit', (code) => l(code)),
      kill: () => {
        child.kill();
      },
    };
  };
}

/** Collects what a JobManager delivers. */
export function collectMessages() {
  const messages: JobMessage[] = [];
  const waiters: Array<() => void> = [];
  return {
    messages,
    deliver: (m: JobMessage) => {
      messages.push(m);
      waiters.splice(0).forEach((w) => w());
    },
    until: waitUntil(waiters),
  };
}

// The CLI progress printer shared by `quantfit quantize` and `quantfit fit`: on a terminal a redrawn
// bar (with the stage and bytes for fit), cleared before other lines; plain lines otherwise.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProgressPrinter, formatEta } from '../../src-main/cli/progress.ts';
import type { JobEvent } from '../../src-main/core/progress.ts';

function stream(isTTY: boolean): { out: NodeJS.WriteStream; text: () => string } {
  let text = '';
  const out = { isTTY, columns: 200, write: (s: string) => ((text += s), true) } as unknown as NodeJS.WriteStream;
  return { out, text: () => text };
}

const MiB = 1024 * 1024;
const progress = (stage: 'quantize' | 'upload', done: number, extra: Partial<Extract<JobEvent, { type: 'progress' }>> = {}): JobEvent =>
  ({ type: 'progress', stage, unit: 'bytes', done, total: 4 * MiB, rate: 2 * MiB, etaSeconds: (4 * MiB - done) / (2 * MiB), ...extra });

test('formatEta', () => {
  assert.deepEqual([formatEta(null), formatEta(4.4), formatEta(75), formatEta(3 * 3600 + 5 * 60)], ['--', '4s', '1m15s', '3h05m']);
});

test('fit on a terminal: stage lines, a redrawn bar with stage, bytes, rate and ETA, cleared before the next line', () => {
  const { out, text } = stream(true);
  const p = new ProgressPrinter(out, { stages: true });
  p.onEvent({ type: 'stage', stage: 'upload', status: 'start' });
  p.onEvent(progress('upload', 1 * MiB));
  p.onEvent(progress('upload', 3 * MiB));
  p.onEvent({ type: 'log', level: 'warn', stage: 'upload', message: 'slow link' });
  p.onEvent({ type: 'stage', stage: 'upload', status: 'done', message: '4194304 bytes sent' });
  p.end();
  const bar = (pct: string, done: string, eta: string) => `\rupload [${'#'.repeat(Math.round((Number(pct) / 100) * 24)).padEnd(24, '-')}] ${pct.padStart(3)}% ${done}/4.0 MiB 2.0 MB/s ETA ${eta} `;
  const expected = [
    'upload…\n',
    bar('25', '1.0', '2s'),
    bar('75', '3.0', '1s'),
    '\r\x1b[K',
    'warning: slow link\n',
    'upload done: 4194304 bytes sent\n',
  ];
  // Bars are padded to the terminal width; compare without the padding.
  assert.equal(text().replace(/ +(?=\r)/g, ' '), expected.join(''));
});

test('quantize without a terminal: the same plain lines as before, at most one per two seconds', () => {
  const { out, text } = stream(false);
  const p = new ProgressPrinter(out);
  p.onEvent({ type: 'stage', stage: 'quantize', status: 'start', message: 'Q8_0' });
  p.onEvent(progress('quantize', 1 * MiB, { tensor: { index: 0, count: 3, name: 'token_embd.weight', type: 'q8_0' } }));
  p.onEvent(progress('quantize', 2 * MiB));
  p.onEvent(progress('quantize', 4 * MiB, { tensor: { index: 2, count: 3, name: 'output.weight', type: 'q6_K' } }));
  p.onEvent({ type: 'log', level: 'info', message: 'note' });
  assert.equal(
    text(),
    'quantize: 25.0% (1.0/4.0 MiB) 2.0 MB/s ETA 2s [1/3] token_embd.weight → q8_0\n' +
      'quantize: 100.0% (4.0/4.0 MiB) 2.0 MB/s ETA 0s [3/3] output.weight → q6_K\n' +
      'quantfit: note\n',
  );
});

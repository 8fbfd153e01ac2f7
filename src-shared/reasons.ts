// The advisor's structured reasons (ReasonItem) as messages, for the app and the CLI alike; the
// caller formats the numbers (the app for its locale, the CLI as `quantfit` prints sizes).
import type { Message } from './message.ts';
import type { ReasonItem } from './types/advisor.ts';
import type { UiCode } from './messages/ui.ts';

export interface NumberFormat {
  bytes(n: number | undefined): string;
  integer(n: number): string;
}

const m = (code: UiCode, params?: Message['params']): Message => (params === undefined ? { code } : { code, params });

/** "A or B or C" in the reader's language. */
function orList(items: readonly string[]): Message | string {
  if (items.length === 0) return '';
  return items.slice(1).reduce<Message | string>((first, second) => m('reason.orList', { first, second }), items[0]!);
}

export function reasonMessage(r: ReasonItem, fmt: NumberFormat): Message {
  const p = {
    type: r.type ?? '',
    place: r.fit ? m(`place.${r.fit}`) : '',
    need: fmt.bytes(r.totalBytes),
    budget: fmt.bytes(r.budgetBytes),
    bytes: fmt.bytes(r.bytes),
    ctx: r.ctx !== undefined ? fmt.integer(r.ctx) : '',
    layers: r.gpuLayers ?? 0,
    types: orList(r.types ?? []),
    detail: (r.unknowns ?? []).reduce<Message | string>((first, second) => (first === '' ? second : m('reason.list', { first, second })), ''),
  };
  switch (r.code) {
    case 'fits':
      return m(r.fit === 'partial' ? 'reason.fitsPartial' : 'reason.fits', p);
    case 'step_up':
      return m(r.detail === 'slower_on_cpu' ? 'reason.stepUpSlower' : r.fit === 'none' ? 'reason.stepUpNone' : 'reason.stepUpOnly', p);
    case 'step_down':
      return m('reason.stepDown', p);
    case 'shorter_context':
      return m('reason.shorterContext', p);
    case 'needs_imatrix':
      return m(r.types && r.types.length > 0 ? 'reason.needsImatrixInstead' : 'reason.needsImatrix', p);
    case 'nothing_fits':
      return m('reason.nothingFits', p);
    case 'more_memory':
      return m('reason.moreMemory', p);
    case 'gpu_memory_estimated':
      return m('reason.gpuEstimated', p);
    case 'hardware_unknown':
      return m('reason.hardwareUnknown', p);
  }
}

/** All reasons as one paragraph: Chinese sentences run on after their full stop, English ones take a space. */
export function reasonsMessage(items: readonly ReasonItem[], fmt: NumberFormat): Message {
  const sentences = items.map((r) => reasonMessage(r, fmt));
  if (sentences.length === 0) return m('reason.none');
  return sentences.reduce((first, second) => m('reason.sentences', { first, second }));
}

// Phrase the advisor's structured reasons in the active language (the same cases as the
// advisor's English sentences in core/advisor/recommend.ts).
import type { Fit, ReasonItem } from '../../../src-shared/contract.ts';
import { bytes, integer } from './format.ts';
import { i18n, say, t } from './i18n.svelte.ts';
import type { MessageKey } from './i18n.svelte.ts';

export function fitLabel(fit: Fit, gpuLayers?: number): string {
  if (fit === 'partial' && gpuLayers !== undefined && gpuLayers > 0) return t('fit.partialLayers', { layers: gpuLayers });
  return t(`fit.${fit}` as MessageKey);
}

export function reasonText(r: ReasonItem): string {
  const p = {
    type: r.type ?? '',
    place: r.fit ? t(`place.${r.fit}` as MessageKey) : '',
    need: bytes(r.totalBytes),
    budget: bytes(r.budgetBytes),
    bytes: bytes(r.bytes),
    ctx: r.ctx !== undefined ? integer(r.ctx) : '',
    layers: r.gpuLayers ?? 0,
    types: (r.types ?? []).join(t('common.or')),
    detail: (r.unknowns ?? []).map(say).join(t('common.listSeparator')),
  };
  switch (r.code) {
    case 'fits':
      return t(r.fit === 'partial' ? 'reason.fitsPartial' : 'reason.fits', p);
    case 'step_up':
      return t(r.detail === 'slower_on_cpu' ? 'reason.stepUpSlower' : r.fit === 'none' ? 'reason.stepUpNone' : 'reason.stepUpOnly', p);
    case 'step_down':
      return t('reason.stepDown', p);
    case 'shorter_context':
      return t('reason.shorterContext', p);
    case 'needs_imatrix':
      return t(r.types && r.types.length > 0 ? 'reason.needsImatrixInstead' : 'reason.needsImatrix', p);
    case 'nothing_fits':
      return t('reason.nothingFits', p);
    case 'more_memory':
      return t('reason.moreMemory', p);
    case 'gpu_memory_estimated':
      return t('reason.gpuEstimated', p);
    case 'hardware_unknown':
      return t('reason.hardwareUnknown', p);
  }
}

export function reasonsText(items: readonly ReasonItem[]): string {
  // Chinese sentences run on after their full stop; English ones are separated by a space.
  return items.map(reasonText).join(i18n.locale === 'zh-CN' ? '' : ' ');
}

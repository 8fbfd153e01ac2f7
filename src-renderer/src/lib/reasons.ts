// Phrase the advisor's structured reasons in the active language.
import type { Fit, ReasonItem } from '../../../src-main/contract.ts';
import { bytes } from './format.ts';
import { t } from './i18n.svelte.ts';
import type { MessageKey } from './messages-en.ts';

export function fitLabel(fit: Fit, gpuLayers?: number): string {
  if (fit === 'partial' && gpuLayers !== undefined && gpuLayers > 0) return t('fit.partialLayers', { layers: gpuLayers });
  return t(`fit.${fit}` as MessageKey);
}

export function reasonText(r: ReasonItem): string {
  return t(`reason.${r.code}` as MessageKey, {
    type: r.type ?? '',
    types: (r.types ?? []).join(', '),
    fitText: r.fit ? fitLabel(r.fit) : '',
    ctx: r.ctx ?? '',
    need: bytes(r.totalBytes),
    budget: bytes(r.budgetBytes),
    bytes: bytes(r.bytes),
    detail: r.detail ?? '',
  });
}

export function reasonsText(items: readonly ReasonItem[]): string {
  return items.map(reasonText).join(' ');
}

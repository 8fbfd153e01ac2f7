// The advisor's structured reasons in the active language (phrased in src-shared/reasons.ts, which
// the CLI uses too), and the placement labels.
import type { Fit, ReasonItem } from '../../../src-shared/contract.ts';
import { bytes, integer } from './format.ts';
import { say, t } from './i18n.svelte.ts';
import { reasonsMessage, type NumberFormat } from '../../../src-shared/reasons.ts';
import type { MessageKey } from './i18n.svelte.ts';

export function fitLabel(fit: Fit, gpuLayers?: number): string {
  if (fit === 'partial' && gpuLayers !== undefined && gpuLayers > 0) return t('fit.partialLayers', { layers: gpuLayers });
  return t(`fit.${fit}` as MessageKey);
}

const FORMAT: NumberFormat = { bytes, integer };

export function reasonsText(items: readonly ReasonItem[]): string {
  return say(reasonsMessage(items, FORMAT));
}

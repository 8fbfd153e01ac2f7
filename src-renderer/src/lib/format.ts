// Locale-aware formatting of sizes, rates, durations and numbers.
import { i18n } from './i18n.svelte.ts';

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB'];

/** Binary sizes with the conventional short names (GB = GiB, as Ollama and most tools show them). */
export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  let v = Math.abs(n);
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  const digits = u === 0 ? 0 : v < 10 ? 2 : v < 100 ? 1 : 0;
  return `${n < 0 ? '-' : ''}${number(v, digits)} ${UNITS[u]}`;
}

export function number(n: number, digits = 0): string {
  return new Intl.NumberFormat(i18n.locale, { maximumFractionDigits: digits, minimumFractionDigits: digits }).format(n);
}

/** A change with its sign: +1.25, -0.40, 0 (never "+-"). */
export function signed(n: number, digits = 0): string {
  return new Intl.NumberFormat(i18n.locale, { maximumFractionDigits: digits, minimumFractionDigits: digits, signDisplay: 'exceptZero' }).format(n);
}

/** A perplexity change in percent, with its sign: two decimals, or two significant digits below 1 % (Q8_0's estimate is +0.0068%). */
export function percentChange(v: number): string {
  const digits = Math.abs(v) >= 1 || v === 0 ? 2 : Math.min(6, 1 - Math.floor(Math.log10(Math.abs(v))));
  return `${signed(v, digits)}%`;
}

export function integer(n: number | null | undefined): string {
  return n === null || n === undefined ? '—' : new Intl.NumberFormat(i18n.locale).format(n);
}

/** 260K, 7.2B: compact parameter counts. */
export function compact(n: number): string {
  return new Intl.NumberFormat(i18n.locale, { notation: 'compact', maximumFractionDigits: 1 }).format(n);
}

export function percent(n: number, digits = 0): string {
  return new Intl.NumberFormat(i18n.locale, { style: 'percent', maximumFractionDigits: digits }).format(n);
}

/** Seconds as "1 h 4 min", "3 min 20 s", "12 s". */
export function duration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '—';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const zh = i18n.locale === 'zh-CN';
  const u = zh ? { h: ' 小时', m: ' 分', s: ' 秒' } : { h: ' h', m: ' min', s: ' s' };
  if (h > 0) return `${h}${u.h} ${m}${u.m}`;
  if (m > 0) return `${m}${u.m} ${sec}${u.s}`;
  return `${sec}${u.s}`;
}

export function dateTime(iso: string | null): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat(i18n.locale, { dateStyle: 'medium', timeStyle: 'short' }).format(d);
}

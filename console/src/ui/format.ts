/** Dates and numbers in the viewer's own locale and time zone (Intl's defaults are the browser's). */

const exact = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const short = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const day = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', timeZone: 'UTC' });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
const numbers = new Intl.NumberFormat();

export function exactTime(iso: string): string {
  return exact.format(new Date(iso));
}

export function shortTime(iso: string): string {
  return short.format(new Date(iso));
}

/** A UTC day of the usage rollups ("2026-05-01"), shown as it is named: the day itself, not a local instant. */
export function dayLabel(isoDay: string): string {
  return day.format(new Date(`${isoDay}T00:00:00Z`));
}

export function count(value: number): string {
  return numbers.format(value);
}

const UNITS: Array<[Intl.RelativeTimeFormatUnit, number]> = [
  ['year', 365 * 86_400_000],
  ['month', 30 * 86_400_000],
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
  ['second', 1000],
];

/** "3 minutes ago", "in 2 hours": the largest unit that fits. */
export function relativeTime(iso: string, now: number): string {
  const diff = new Date(iso).getTime() - now;
  for (const [unit, ms] of UNITS) {
    if (Math.abs(diff) >= ms || unit === 'second') return relative.format(Math.round(diff / ms), unit);
  }
  return relative.format(0, 'second');
}

/** What is left until a moment, as "23 h 59 min 10 s". */
export function countdown(msLeft: number): string {
  if (msLeft <= 0) return 'ended';
  const seconds = Math.floor(msLeft / 1000);
  const d = Math.floor(seconds / 86_400);
  const h = Math.floor((seconds % 86_400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const parts = [d ? `${d} d` : '', d || h ? `${h} h` : '', `${m} min`, `${s} s`].filter(Boolean);
  return parts.join(' ');
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${count(n)} ${n === 1 ? one : many}`;
}

import { countdown, exactTime, relativeTime } from './format.ts';
import { useNow } from './useNow.ts';

/** A relative time ("5 minutes ago") with the exact local time on hover and for assistive technology. */
export function RelativeTime({ iso, never = 'Never' }: { iso: string | null; never?: string }) {
  const now = useNow(10_000);
  if (!iso) return <span className="muted">{never}</span>;
  return (
    <time dateTime={iso} title={exactTime(iso)}>
      {relativeTime(iso, now)}
    </time>
  );
}

export function ExactTime({ iso, empty = '—' }: { iso: string | null; empty?: string }) {
  if (!iso) return <span className="muted">{empty}</span>;
  return <time dateTime={iso}>{exactTime(iso)}</time>;
}

/** A live countdown to `iso`, e.g. the end of a rotation's overlap. */
export function Countdown({ iso }: { iso: string }) {
  const now = useNow(1000);
  return (
    <time dateTime={iso} title={exactTime(iso)} className="countdown">
      {countdown(new Date(iso).getTime() - now)}
    </time>
  );
}

import { useNow } from './use-now';

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
  ['second', 1000],
];
const format = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

function formatRelative(iso: string, now: number): string {
  const delta = Date.parse(iso) - now;
  for (const [unit, ms] of UNITS) {
    if (Math.abs(delta) >= ms || unit === 'second') {
      return format.format(Math.round(delta / ms), unit);
    }
  }
  return '';
}

/** "3 minutes ago", with the exact time on hover; updates as time passes. */
export function RelativeTime({ iso }: { iso: string | null }) {
  const now = useNow(10_000);
  if (!iso) return <span className="muted">never</span>;
  return (
    <time dateTime={iso} title={new Date(iso).toLocaleString()}>
      {formatRelative(iso, now)}
    </time>
  );
}

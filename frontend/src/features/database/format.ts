/** Display helpers of the Database area. */
import { formatCount } from '../../lib/format';

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

/** An estimate of rows: "~1.2M", "~350", "not analyzed" when PostgreSQL has none. */
export function formatEstimate(n: number | null): string {
  if (n === null) return 'not analyzed';
  if (n < 10_000) return `~${formatCount(n)}`;
  if (n < 1_000_000) return `~${(n / 1000).toFixed(n < 100_000 ? 1 : 0)}k`;
  return `~${(n / 1_000_000).toFixed(n < 10_000_000 ? 1 : 0)}M`;
}

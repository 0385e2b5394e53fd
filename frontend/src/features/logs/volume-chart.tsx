/**
 * Lines per time bucket, stacked by level (error, warn, info, the rest), as a small inline SVG:
 * the histogram of /api/logs/stats/histogram for the explorer's range, narrowed to its source.
 */
import { useMemo } from 'react';
import { Skeleton } from '../../ui/misc';
import { useLogVolume } from './hooks';
import type { LogSource, TimeRange } from './search';

const groups = [
  { key: 'error', label: 'error', className: 'fill-danger', swatch: 'bg-danger' },
  { key: 'warn', label: 'warn', className: 'fill-warning', swatch: 'bg-warning' },
  { key: 'info', label: 'info', className: 'fill-primary', swatch: 'bg-primary' },
  { key: 'other', label: 'other', className: 'fill-muted', swatch: 'bg-muted' },
] as const;
type GroupKey = (typeof groups)[number]['key'];

function groupOf(level: string): GroupKey {
  return level === 'error' || level === 'warn' || level === 'info' ? level : 'other';
}

function formatBucket(seconds: number): string {
  if (seconds % 86_400 === 0) return seconds === 86_400 ? 'day' : `${seconds / 86_400} days`;
  if (seconds % 3600 === 0) return seconds === 3600 ? 'hour' : `${seconds / 3600} hours`;
  if (seconds % 60 === 0) return seconds === 60 ? 'minute' : `${seconds / 60} minutes`;
  return `${seconds} s`;
}

const WIDTH = 1000;
const HEIGHT = 80;

export function VolumeChart({
  source,
  range,
  live,
}: {
  source?: LogSource;
  range: TimeRange;
  live?: boolean;
}) {
  const volume = useLogVolume(range, live);
  const data = useMemo(() => {
    if (!volume.data) return undefined;
    const n = volume.data.buckets.length;
    const stacks = Array.from({ length: n }, () => ({ error: 0, warn: 0, info: 0, other: 0 }));
    const totals = { error: 0, warn: 0, info: 0, other: 0 };
    for (const s of volume.data.series) {
      if (source && s.source !== source) continue;
      const g = groupOf(s.level);
      s.counts.forEach((c, i) => {
        stacks[i]![g] += c;
        totals[g] += c;
      });
    }
    const max = Math.max(1, ...stacks.map((b) => b.error + b.warn + b.info + b.other));
    return { stacks, totals, max, buckets: volume.data.buckets };
  }, [volume.data, source]);

  if (volume.error) {
    return <p className="text-sm text-muted">The volume chart could not be loaded.</p>;
  }
  if (!data) return <Skeleton className="h-24 w-full" />;
  const barW = WIDTH / Math.max(1, data.stacks.length);
  const summary = groups.map((g) => `${data.totals[g.key].toLocaleString('en-US')} ${g.label}`);
  return (
    <figure className="flex flex-col gap-1.5 rounded-lg border border-border bg-surface p-3">
      <svg
        role="img"
        aria-label={`Log volume over time: ${summary.join(', ')}`}
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        preserveAspectRatio="none"
        className="h-20 w-full"
      >
        {data.stacks.map((b, i) => {
          let y = HEIGHT;
          return groups.map((g) => {
            const h = (b[g.key] / data.max) * HEIGHT;
            if (h <= 0) return null;
            y -= h;
            return (
              <rect
                key={`${i}-${g.key}`}
                x={i * barW + barW * 0.1}
                width={barW * 0.8}
                y={y}
                height={h}
                className={g.className}
              >
                <title>{`${new Date(data.buckets[i]!).toLocaleString()}: ${b[g.key]} ${g.label}`}</title>
              </rect>
            );
          });
        })}
      </svg>
      <figcaption className="flex flex-wrap gap-x-4 gap-y-1 text-xs text-muted">
        {groups.map((g) => (
          <span key={g.key} className="inline-flex items-center gap-1.5">
            <span className={`size-2.5 rounded-sm ${g.swatch}`} aria-hidden />
            {g.label} {data.totals[g.key].toLocaleString('en-US')}
          </span>
        ))}
        <span className="ml-auto">
          {source ?? 'All sources'}, every level · one bar per{' '}
          {formatBucket(volume.data?.bucketSeconds ?? 0)}
        </span>
      </figcaption>
    </figure>
  );
}

/**
 * Usage (loaded when the tab is first opened): totals over the range, a chart of tokens or
 * requests per day stacked by model or by user (GET /api/ai/overview's byDayModel / byDayUser,
 * the five biggest series and "other"), and the totals per model and per user. Range, metric and
 * grouping are in the URL.
 */
import { useMemo } from 'react';
import { getRouteApi } from '@tanstack/react-router';
import { BarChart3 } from 'lucide-react';
import { cn } from '../../lib/cn';
import { formatCount } from '../../lib/format';
import { DataTable, type ColumnDef } from '../../ui/data-table';
import { ErrorPanel } from '../../ui/error-panel';
import { FormField } from '../../ui/form-field';
import { Badge, Card, EmptyState, Skeleton } from '../../ui/misc';
import { Section } from '../../ui/section';
import { Select } from '../../ui/select';
import { useAiOverview, type AiOverviewResponse } from './hooks';
import {
  DEFAULT_USAGE_RANGE,
  usageRanges,
  type UsageGroup,
  type UsageMetric,
  type UsageRange,
} from './search';

const route = getRouteApi('/app/ai');

const rangeOptions = usageRanges.map((d) => ({ value: d, label: `Last ${d} days` }));
const metricLabels: Record<UsageMetric, string> = { tokens: 'Tokens', requests: 'Requests' };
const groupLabels: Record<UsageGroup, string> = { model: 'By model', user: 'By user' };

/** Series colours, biggest first; the rest is "other". */
const SERIES = [
  { fill: 'fill-chart-1', swatch: 'bg-chart-1' },
  { fill: 'fill-chart-2', swatch: 'bg-chart-2' },
  { fill: 'fill-chart-3', swatch: 'bg-chart-3' },
  { fill: 'fill-chart-4', swatch: 'bg-chart-4' },
  { fill: 'fill-chart-5', swatch: 'bg-chart-5' },
] as const;
const OTHER = { fill: 'fill-muted', swatch: 'bg-muted' };

const ADMINS = 'Admins and the API key';

type ByModel = AiOverviewResponse['byModel'][number];
type ByUser = AiOverviewResponse['byUser'][number];

function userLabel(u: { userId: string | null; email: string | null }): string {
  return u.email ?? u.userId ?? ADMINS;
}

/** The range's days, oldest first (UTC, as the server groups them), plus any the data has. */
function daysOf(count: number, present: string[]): string[] {
  const days = new Set(present);
  const today = Date.now();
  for (let i = 0; i < count; i++) {
    days.add(new Date(today - i * 86_400_000).toISOString().slice(0, 10));
  }
  return [...days].sort().slice(-count);
}

interface Series {
  key: string;
  label: string;
  total: number;
  perDay: number[];
  fill: string;
  swatch: string;
}

function buildChart(
  data: AiOverviewResponse,
  count: number,
  metric: UsageMetric,
  by: UsageGroup,
): { days: string[]; series: Series[]; max: number } {
  const rows = (by === 'model' ? data.byDayModel : data.byDayUser).map((r) => ({
    day: r.day,
    key: 'model' in r ? r.model : userLabel(r),
    value: metric === 'tokens' ? r.totalTokens : r.requests,
  }));
  const days = daysOf(
    count,
    rows.map((r) => r.day),
  );
  const index = new Map(days.map((d, i) => [d, i]));
  const totals = new Map<string, number>();
  for (const r of rows) totals.set(r.key, (totals.get(r.key) ?? 0) + r.value);
  // Series that add nothing (failed calls' tokens) stay out of the chart and its legend.
  const ranked = [...totals.entries()]
    .filter(([, v]) => v > 0)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const top = ranked.slice(0, SERIES.length);
  const hasOther = ranked.length > SERIES.length;
  const series: Series[] = top.map(([key, total], i) => ({
    key,
    label: key,
    total,
    perDay: days.map(() => 0),
    ...SERIES[i]!,
  }));
  const other: Series = {
    key: '\u0000other',
    label: `${ranked.length - SERIES.length} more`,
    total: ranked.slice(SERIES.length).reduce((n, [, v]) => n + v, 0),
    perDay: days.map(() => 0),
    ...OTHER,
  };
  const byKey = new Map(series.map((s) => [s.key, s]));
  for (const r of rows) {
    const i = index.get(r.day);
    if (i === undefined) continue;
    (byKey.get(r.key) ?? other).perDay[i]! += r.value;
  }
  const all = hasOther ? [...series, other] : series;
  const peak = Math.max(1, ...days.map((_, i) => all.reduce((n, s) => n + s.perDay[i]!, 0)));
  return { days, series: all, max: niceCeiling(peak) };
}

/** The smallest of 1, 2, 5, 10, 20, 50... at or above `n`: the chart's top line. */
function niceCeiling(n: number): number {
  const scale = 10 ** Math.floor(Math.log10(n));
  return [1, 2, 5, 10].map((f) => f * scale).find((v) => v >= n) ?? 10 * scale;
}

function formatDay(day: string): string {
  return new Date(`${day}T00:00:00Z`).toLocaleDateString('en-US', {
    month: 'short',
    day: 'numeric',
    timeZone: 'UTC',
  });
}

const WIDTH = 1000;
const HEIGHT = 180;

function UsageChart({
  data,
  count,
  metric,
  by,
}: {
  data: AiOverviewResponse;
  count: number;
  metric: UsageMetric;
  by: UsageGroup;
}) {
  const chart = useMemo(() => buildChart(data, count, metric, by), [data, count, metric, by]);
  const what = `${metricLabels[metric]} per day ${groupLabels[by].toLowerCase()}, last ${count} days`;
  if (!chart.series.length) {
    return (
      <EmptyState
        icon={BarChart3}
        title={
          data.totals.requests
            ? `No ${metricLabels[metric].toLowerCase()} in the last ${count} days`
            : `No AI calls in the last ${count} days`
        }
        description="Calls through /api/ai (the SDK's client.ai, or the Playground tab) show up here."
      />
    );
  }
  const slot = WIDTH / chart.days.length;
  const label = `${what}: ${chart.series.map((s) => `${s.label} ${formatCount(s.total)}`).join(', ')}`;
  const mid = chart.days[Math.floor((chart.days.length - 1) / 2)]!;
  return (
    <figure className="flex flex-col gap-2">
      <div className="grid grid-cols-[auto_minmax(0,1fr)] gap-x-2">
        <div
          className="flex h-44 flex-col justify-between text-right text-xs text-muted tabular-nums"
          aria-hidden
        >
          <span>{formatCount(chart.max)}</span>
          <span>{chart.max % 2 === 0 ? formatCount(chart.max / 2) : ''}</span>
          <span>0</span>
        </div>
        <div className="relative h-44 border-b border-l border-border">
          <div
            className="absolute inset-x-0 top-0 border-t border-dashed border-border"
            aria-hidden
          />
          <div
            className="absolute inset-x-0 top-1/2 border-t border-dashed border-border"
            aria-hidden
          />
          <svg
            role="img"
            aria-label={label}
            viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
            preserveAspectRatio="none"
            className="relative size-full"
          >
            {chart.days.map((day, i) => {
              let y = HEIGHT;
              return chart.series.map((s) => {
                const v = s.perDay[i]!;
                const h = (v / chart.max) * HEIGHT;
                if (h <= 0) return null;
                y -= h;
                return (
                  <rect
                    key={`${day}-${s.key}`}
                    x={i * slot + slot * 0.15}
                    width={slot * 0.7}
                    y={y}
                    height={h}
                    className={s.fill}
                  >
                    <title>{`${formatDay(day)} · ${s.label}: ${formatCount(v)} ${metricLabels[metric].toLowerCase()}`}</title>
                  </rect>
                );
              });
            })}
          </svg>
        </div>
        <div />
        <div className="flex justify-between pt-1 text-xs text-muted" aria-hidden>
          <span>{formatDay(chart.days[0]!)}</span>
          <span>{formatDay(mid)}</span>
          <span>{formatDay(chart.days.at(-1)!)}</span>
        </div>
      </div>
      <figcaption className="flex flex-wrap gap-x-4 gap-y-1 text-xs text-muted">
        {chart.series.map((s) => (
          <span key={s.key} className="inline-flex min-w-0 items-center gap-1.5">
            <span className={cn('size-2.5 shrink-0 rounded-sm', s.swatch)} aria-hidden />
            <span className="max-w-64 truncate text-fg" title={s.label}>
              {s.label}
            </span>
            <span className="tabular-nums">{formatCount(s.total)}</span>
          </span>
        ))}
      </figcaption>
    </figure>
  );
}

function Stat({ label, value, detail }: { label: string; value: number; detail?: string }) {
  return (
    <div className="rounded-lg border border-border bg-surface px-4 py-3 shadow-xs">
      <p className="text-xs text-muted">{label}</p>
      <p className="mt-1 text-xl font-semibold tabular-nums">{formatCount(value)}</p>
      {detail && <p className="mt-0.5 truncate text-xs text-muted">{detail}</p>}
    </div>
  );
}

function Toggle<T extends string>({
  label,
  value,
  options,
  onChange,
}: {
  label: string;
  value: T;
  options: { value: T; label: string }[];
  onChange: (v: T) => void;
}) {
  return (
    <div
      role="group"
      aria-label={label}
      className="inline-flex rounded-md border border-border-strong p-0.5"
    >
      {options.map((o) => (
        <button
          key={o.value}
          type="button"
          aria-pressed={o.value === value}
          className={cn(
            'h-6 cursor-pointer rounded px-2.5 text-xs font-medium transition-colors',
            o.value === value
              ? 'bg-accent font-semibold text-primary'
              : 'text-muted hover:bg-surface-2 hover:text-fg',
          )}
          onClick={() => onChange(o.value)}
        >
          {o.label}
        </button>
      ))}
    </div>
  );
}

const modelColumns: ColumnDef<ByModel, unknown>[] = [
  {
    id: 'model',
    header: 'Model',
    cell: ({ row }) => <span className="font-mono text-xs">{row.original.model}</span>,
  },
  {
    id: 'modality',
    header: 'Kind',
    size: 110,
    cell: ({ row }) => <Badge>{row.original.modality}</Badge>,
  },
  {
    id: 'requests',
    header: 'Requests',
    size: 110,
    cell: ({ row }) => <span className="tabular-nums">{formatCount(row.original.requests)}</span>,
  },
  {
    id: 'tokens',
    header: 'Tokens',
    size: 110,
    cell: ({ row }) => (
      <span className="tabular-nums">{formatCount(row.original.totalTokens)}</span>
    ),
  },
  {
    id: 'images',
    header: 'Images',
    size: 90,
    cell: ({ row }) => <span className="tabular-nums">{formatCount(row.original.images)}</span>,
  },
];

const userColumns: ColumnDef<ByUser, unknown>[] = [
  {
    id: 'user',
    header: 'User',
    cell: ({ row }) =>
      row.original.userId ? (
        <span className="truncate" title={row.original.userId}>
          {userLabel(row.original)}
        </span>
      ) : (
        <span className="text-muted">{ADMINS}</span>
      ),
  },
  {
    id: 'requests',
    header: 'Requests',
    size: 110,
    cell: ({ row }) => <span className="tabular-nums">{formatCount(row.original.requests)}</span>,
  },
  {
    id: 'tokens',
    header: 'Tokens',
    size: 110,
    cell: ({ row }) => (
      <span className="tabular-nums">{formatCount(row.original.totalTokens)}</span>
    ),
  },
  {
    id: 'images',
    header: 'Images',
    size: 90,
    cell: ({ row }) => <span className="tabular-nums">{formatCount(row.original.images)}</span>,
  },
];

export function UsageTab() {
  const { days = DEFAULT_USAGE_RANGE, metric = 'tokens', by = 'model' } = route.useSearch();
  const navigate = route.useNavigate();
  const count = Number(days);
  const overview = useAiOverview(count);
  const data = overview.data;
  return (
    <div className="flex flex-col gap-4">
      <div className="flex flex-wrap items-end gap-3">
        <div className="w-44">
          <FormField label="Range">
            <Select
              value={days}
              onValueChange={(v) =>
                void navigate({
                  search: (s) => ({
                    ...s,
                    days: v === DEFAULT_USAGE_RANGE ? undefined : (v as UsageRange),
                  }),
                })
              }
              options={rangeOptions}
            />
          </FormField>
        </div>
        <Toggle
          label="Metric"
          value={metric}
          options={[
            { value: 'tokens', label: 'Tokens' },
            { value: 'requests', label: 'Requests' },
          ]}
          onChange={(v) =>
            void navigate({
              search: (s) => ({ ...s, metric: v === 'tokens' ? undefined : v }),
            })
          }
        />
        <Toggle
          label="Group"
          value={by}
          options={[
            { value: 'model', label: 'By model' },
            { value: 'user', label: 'By user' },
          ]}
          onChange={(v) =>
            void navigate({ search: (s) => ({ ...s, by: v === 'model' ? undefined : v }) })
          }
        />
      </div>
      {overview.error ? (
        <ErrorPanel error={overview.error} onRetry={() => void overview.refetch()} />
      ) : !data ? (
        <Skeleton className="h-72 w-full" />
      ) : (
        <>
          <div className="grid grid-cols-4 gap-3 max-[1180px]:grid-cols-2">
            <Stat label="Requests" value={data.totals.requests} />
            <Stat
              label="Tokens"
              value={data.totals.totalTokens}
              detail={`${formatCount(data.totals.promptTokens)} prompt · ${formatCount(data.totals.completionTokens)} completion`}
            />
            <Stat label="Images" value={data.totals.images} />
            <Stat
              label="Failed or stopped"
              value={data.totals.failures}
              detail={
                data.totals.requests
                  ? `${Math.round((data.totals.failures / data.totals.requests) * 100)} % of requests`
                  : undefined
              }
            />
          </div>
          <Card
            title={`${metricLabels[metric]} per day, ${groupLabels[by].toLowerCase()}`}
            description="The five biggest series are shown on their own, the rest together."
          >
            <UsageChart data={data} count={count} metric={metric} by={by} />
          </Card>
          <div className="grid grid-cols-2 gap-4 max-[1180px]:grid-cols-1">
            <Section title="By model">
              <DataTable
                label="Usage by model"
                columns={modelColumns}
                data={data.byModel}
                getRowId={(r) => `${r.model}:${r.modality}`}
                maxHeight={360}
                empty={{ title: 'No calls yet' }}
              />
            </Section>
            <Section title="By user">
              <DataTable
                label="Usage by user"
                columns={userColumns}
                data={data.byUser}
                getRowId={(r) => r.userId ?? 'admins'}
                maxHeight={360}
                empty={{ title: 'No calls yet' }}
              />
            </Section>
          </div>
        </>
      )}
    </div>
  );
}

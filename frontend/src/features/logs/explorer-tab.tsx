/**
 * The log explorer: filters in the URL, one virtualised list of lines (newest first, "Load older"
 * fetches the next page of the same window), a line's JSON in a sheet with a link to the other
 * lines of its request.
 */
import { useEffect, useMemo, useState } from 'react';
import { getRouteApi, Link } from '@tanstack/react-router';
import { ArrowDownToLine, Radio, RefreshCw, Search } from 'lucide-react';
import { Button } from '../../ui/button';
import { CopyButton } from '../../ui/copy-button';
import { DataTable, type ColumnDef } from '../../ui/data-table';
import { FormField } from '../../ui/form-field';
import { Input } from '../../ui/input';
import { Sheet, SheetContent } from '../../ui/sheet';
import { Select } from '../../ui/select';
import { useLogLines, useLogSources, type LogEntry } from './hooks';
import { LevelBadge } from './level-badge';
import { VolumeChart } from './volume-chart';
import {
  DEFAULT_RANGE,
  logLevels,
  logSources,
  timeRangeLabels,
  timeRanges,
  type LogLevel,
  type LogSource,
  type LogsSearch,
  type TimeRange,
} from './search';

const route = getRouteApi('/app/logs');

const ALL = 'all';

/** Date and time to the millisecond, in the browser's zone. */
const lineTime = new Intl.DateTimeFormat('en-GB', {
  month: 'short',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  fractionalSecondDigits: 3,
});

export function ExplorerTab() {
  const search = route.useSearch();
  const navigate = route.useNavigate();
  const range = search.range ?? DEFAULT_RANGE;
  const set = (patch: Partial<LogsSearch>) =>
    void navigate({ search: (s) => ({ ...s, ...patch }) });
  const sources = useLogSources();
  const lines = useLogLines({
    source: search.source,
    q: search.q,
    level: search.level,
    range,
    live: search.live,
  });
  const entries = useMemo(() => lines.data?.pages.flatMap((p) => p.logs), [lines.data]);
  const first = lines.data?.pages[0];
  const selected = search.line ? entries?.find((e) => e.id === search.line) : undefined;

  const [text, setText] = useState(search.q ?? '');
  useEffect(() => setText(search.q ?? ''), [search.q]);

  const sourceOptions = [
    { value: ALL, label: 'All sources' },
    ...(sources.data?.sources.map((s) => ({ value: s.name, label: s.name })) ??
      logSources.map((s) => ({ value: s, label: s }))),
  ];

  const columns = useMemo<ColumnDef<LogEntry, unknown>[]>(
    () => [
      {
        id: 'time',
        header: 'Time',
        size: 170,
        cell: ({ row }) => (
          <time
            dateTime={row.original.timestamp}
            className="font-mono text-xs whitespace-nowrap text-muted"
          >
            {lineTime.format(new Date(row.original.timestamp))}
          </time>
        ),
      },
      {
        id: 'level',
        header: 'Level',
        size: 80,
        cell: ({ row }) => <LevelBadge level={row.original.level} />,
      },
      {
        id: 'source',
        header: 'Source',
        size: 120,
        cell: ({ row }) => <span className="text-xs text-muted">{row.original.source}</span>,
      },
      {
        id: 'message',
        header: 'Message',
        cell: ({ row }) => (
          <button
            type="button"
            className="block w-full max-w-[48rem] cursor-pointer truncate text-left font-mono text-xs hover:underline"
            onClick={(e) => {
              e.stopPropagation();
              set({ line: row.original.id });
            }}
          >
            {summary(row.original)}
          </button>
        ),
      },
    ],
    [],
  );

  return (
    <div className="flex flex-col gap-3">
      <form
        role="search"
        aria-label="Filter log lines"
        className="grid grid-cols-1 items-end gap-3 sm:grid-cols-2 lg:grid-cols-[minmax(0,1fr)_minmax(0,1fr)_minmax(0,1fr)_auto] xl:grid-cols-[minmax(0,1fr)_11rem_9rem_11rem_auto]"
        onSubmit={(e) => {
          e.preventDefault();
          set({ q: text.trim() || undefined, line: undefined });
        }}
      >
        <div className="sm:col-span-2 lg:col-span-4 xl:col-span-1">
          <FormField label="Search">
            <Input
              type="search"
              value={text}
              onChange={(e) => setText(e.target.value)}
              placeholder="Text, path or request id (Enter to search)"
            />
          </FormField>
        </div>
        <FormField label="Source">
          <Select
            value={search.source ?? ALL}
            onValueChange={(v) =>
              set({ source: v === ALL ? undefined : (v as LogSource), line: undefined })
            }
            options={sourceOptions}
          />
        </FormField>
        <FormField label="Level">
          <Select
            value={search.level ?? ALL}
            onValueChange={(v) =>
              set({ level: v === ALL ? undefined : (v as LogLevel), line: undefined })
            }
            options={[
              { value: ALL, label: 'All levels' },
              ...logLevels.map((l) => ({ value: l, label: l })),
            ]}
          />
        </FormField>
        <FormField label="Time range">
          <Select
            value={range}
            onValueChange={(v) =>
              set({ range: v === DEFAULT_RANGE ? undefined : (v as TimeRange), line: undefined })
            }
            options={timeRanges.map((r) => ({ value: r, label: timeRangeLabels[r] }))}
          />
        </FormField>
        <div className="flex gap-2">
          <Button type="submit">
            <Search aria-hidden /> Search
          </Button>
          <Button
            type="button"
            variant="outline"
            size="icon"
            aria-label="Refresh"
            onClick={() => void lines.refetch()}
          >
            <RefreshCw
              className={lines.isFetching && !search.live ? 'animate-spin' : undefined}
              aria-hidden
            />
          </Button>
          <Button
            type="button"
            variant={search.live ? 'primary' : 'outline'}
            aria-pressed={Boolean(search.live)}
            onClick={() => set({ live: search.live ? undefined : true })}
          >
            <Radio className={search.live ? 'animate-pulse' : undefined} aria-hidden /> Live
          </Button>
        </div>
      </form>

      <VolumeChart source={search.source} range={range} live={search.live} />

      <p className="text-sm text-muted" aria-live="polite">
        {first
          ? `${first.totalExact ? '' : '~'}${first.total.toLocaleString('en-US')} matching line${first.total === 1 ? '' : 's'} · ${timeRangeLabels[range].toLowerCase()}${entries && entries.length < first.total ? ` · ${entries.length.toLocaleString('en-US')} shown` : ''}`
          : ' '}
      </p>

      <DataTable
        label="Log lines"
        columns={columns}
        data={entries}
        getRowId={(e, i) => `${e.id}:${i}`}
        isLoading={lines.isLoading}
        error={lines.error}
        onRetry={() => void lines.refetch()}
        onRowClick={(e) => set({ line: e.id })}
        rowHeight={36}
        maxHeight="calc(100vh - 22rem)"
        className={lines.isPlaceholderData ? 'opacity-60 transition-opacity' : undefined}
        empty={{
          title: 'No log lines',
          description: search.q
            ? `Nothing matches “${search.q}” in this range. Widen the time range or clear the search.`
            : 'Nothing was written in this range. Widen the time range or pick another source.',
        }}
      />
      {lines.hasNextPage && !search.live && (
        <div className="flex justify-center">
          <Button
            variant="outline"
            loading={lines.isFetchingNextPage}
            onClick={() => void lines.fetchNextPage()}
          >
            <ArrowDownToLine aria-hidden /> Load older
          </Button>
        </div>
      )}

      <Sheet open={Boolean(selected)} onOpenChange={(open) => !open && set({ line: undefined })}>
        {selected && <LineDetail entry={selected} />}
      </Sheet>
    </div>
  );
}

/** The list's text for a line: access lines as "GET /path → 200 (12 ms)". */
function summary(e: LogEntry): string {
  const m = e.metadata;
  if (m.kind === 'access' && typeof m.method === 'string' && typeof m.path === 'string') {
    return `${m.method} ${m.path} → ${String(m.status)}${typeof m.durationMs === 'number' ? ` (${m.durationMs} ms)` : ''}`;
  }
  return e.message;
}

function LineDetail({ entry }: { entry: LogEntry }) {
  const requestId = typeof entry.metadata.requestId === 'string' ? entry.metadata.requestId : '';
  const json = JSON.stringify(
    { timestamp: entry.timestamp, level: entry.level, message: entry.message, ...entry.metadata },
    null,
    2,
  );
  return (
    <SheetContent
      title="Log line"
      description={
        <span className="inline-flex flex-wrap items-center gap-2">
          <LevelBadge level={entry.level} />
          <span>{entry.source}</span>
          <time dateTime={entry.timestamp}>{lineTime.format(new Date(entry.timestamp))}</time>
        </span>
      }
    >
      <div className="flex flex-col gap-4">
        {requestId && (
          <div className="flex flex-wrap items-center gap-2 text-sm">
            <span className="text-muted">Request id</span>
            <code className="rounded bg-surface-2 px-1.5 py-0.5 font-mono text-xs">
              {requestId}
            </code>
            <CopyButton value={requestId} label="the request id" />
            <Link
              from="/logs"
              to="/logs"
              search={(s) => ({ ...s, q: requestId, source: undefined, line: undefined })}
              className="text-primary underline-offset-2 hover:underline"
            >
              Show this request’s lines
            </Link>
          </div>
        )}
        <div className="relative">
          <div className="absolute top-2 right-2">
            <CopyButton value={json} label="the line as JSON" />
          </div>
          <pre
            aria-label="The line as JSON"
            tabIndex={0}
            className="overflow-auto rounded-md border border-border bg-surface-2 p-3 font-mono text-xs leading-relaxed whitespace-pre-wrap break-all"
          >
            {json}
          </pre>
        </div>
      </div>
    </SheetContent>
  );
}

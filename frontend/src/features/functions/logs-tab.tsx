/**
 * The function's live log: its console output and one line per call, newest first, read again
 * every 2 s unless paused (?paused=true); the Logs explorer has the rest.
 */
import { useMemo } from 'react';
import { getRouteApi, Link } from '@tanstack/react-router';
import { ExternalLink, Pause, Radio } from 'lucide-react';
import { Button } from '../../ui/button';
import { DataTable, type ColumnDef } from '../../ui/data-table';
import { LevelBadge } from '../logs/level-badge';
import { type LogEntry, useFunctionLogs } from './hooks';

const route = getRouteApi('/app/functions');

const lineTime = new Intl.DateTimeFormat('en-GB', {
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  fractionalSecondDigits: 3,
});

/** Console lines as printed; a call as "POST → 201 (12 ms)". */
function text(e: LogEntry): string {
  const m = e.metadata;
  if (e.message === 'invocation' && typeof m.method === 'string') {
    return `${m.method} → ${String(m.status)}${typeof m.durationMs === 'number' ? ` (${m.durationMs} ms)` : ''}`;
  }
  return e.message;
}

function kind(e: LogEntry): string {
  const stream = e.metadata.stream;
  return typeof stream === 'string' ? stream : e.message === 'invocation' ? 'call' : '';
}

export function LogsTab({ slug }: { slug: string }) {
  const { paused } = route.useSearch();
  const navigate = route.useNavigate();
  const logs = useFunctionLogs(slug, !paused);

  const columns = useMemo<ColumnDef<LogEntry, unknown>[]>(
    () => [
      {
        id: 'time',
        header: 'Time',
        size: 120,
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
        id: 'kind',
        header: 'Kind',
        size: 80,
        cell: ({ row }) => <span className="text-xs text-muted">{kind(row.original)}</span>,
      },
      {
        id: 'message',
        header: 'Message',
        cell: ({ row }) => (
          <span className="block truncate font-mono text-xs" title={row.original.message}>
            {text(row.original)}
          </span>
        ),
      },
    ],
    [],
  );

  return (
    <div className="flex flex-col gap-3">
      <div className="flex flex-wrap items-center gap-2">
        <Button
          variant={paused ? 'outline' : 'primary'}
          aria-pressed={!paused}
          onClick={() =>
            void navigate({ search: (s) => ({ ...s, paused: paused ? undefined : true }) })
          }
        >
          {paused ? <Pause aria-hidden /> : <Radio className="animate-pulse" aria-hidden />}
          {paused ? 'Paused' : 'Live'}
        </Button>
        <p className="text-sm text-muted" aria-live="polite">
          {logs.entries
            ? `${logs.entries.length} line${logs.entries.length === 1 ? '' : 's'} in the last hour${paused ? '' : ' · following new lines'}`
            : ' '}
        </p>
        <Link
          to="/logs"
          search={{ source: 'function.logs', q: slug }}
          className="ml-auto inline-flex items-center gap-1 text-sm text-primary underline-offset-2 hover:underline"
        >
          Open in the Logs explorer <ExternalLink className="size-3.5" aria-hidden />
        </Link>
      </div>
      <DataTable
        label={`Log of ${slug}`}
        columns={columns}
        data={logs.entries}
        getRowId={(e, i) => `${e.id}:${i}`}
        isLoading={logs.isLoading}
        error={logs.error}
        onRetry={() => void logs.refetch()}
        rowHeight={36}
        maxHeight="calc(100vh - 20rem)"
        empty={{
          title: 'No lines in the last hour',
          description:
            'Call the function (the Test tab does): what it prints with console.log and each call show here.',
        }}
      />
    </div>
  );
}

/**
 * Message history: the stored messages newest first (kept for the retention period), filtered by
 * channel and event, one server page at a time, with their webhook deliveries by status; a
 * message's payload in a sheet. Totals from /api/realtime/messages/stats on top.
 */
import { useEffect, useMemo, useState } from 'react';
import { getRouteApi, Link } from '@tanstack/react-router';
import { History, Search, Trash2 } from 'lucide-react';
import { formatCount, formatDateTime } from '../../lib/format';
import { Button } from '../../ui/button';
import { ConfirmDialog } from '../../ui/dialog';
import { Select } from '../../ui/select';
import { DataTable, type ColumnDef } from '../../ui/data-table';
import { FormField } from '../../ui/form-field';
import { Input } from '../../ui/input';
import { Badge, Skeleton } from '../../ui/misc';
import { Sheet, SheetContent } from '../../ui/sheet';
import {
  MESSAGES_PAGE,
  useMessageStats,
  useMessages,
  usePurgeMessages,
  type StoredMessage,
} from './hooks';

/** How old the messages a purge deletes are: older than this many ms (0: every message). */
const purgeAges: { value: string; label: string; ms: number }[] = [
  { value: '1h', label: 'Older than an hour', ms: 3600_000 },
  { value: '24h', label: 'Older than a day', ms: 86_400_000 },
  { value: '7d', label: 'Older than 7 days', ms: 7 * 86_400_000 },
  { value: 'all', label: 'All of them', ms: 0 },
];

function PurgeButton({ channel }: { channel?: string }) {
  const [open, setOpen] = useState(false);
  const [age, setAge] = useState('24h');
  const purge = usePurgeMessages();
  const ms = purgeAges.find((a) => a.value === age)?.ms ?? 0;
  return (
    <>
      <Button variant="outline" onClick={() => setOpen(true)}>
        <Trash2 aria-hidden /> Delete…
      </Button>
      <ConfirmDialog
        open={open}
        onOpenChange={setOpen}
        title={channel ? `Delete messages of ${channel}?` : 'Delete stored messages?'}
        description="Their webhook deliveries go with them. This cannot be undone; messages are also deleted on their own after the retention period."
        confirmLabel="Delete messages"
        destructive
        onConfirm={() =>
          purge.mutateAsync({ before: new Date(Date.now() - ms).toISOString(), channel })
        }
      >
        <FormField label="Which">
          <Select
            value={age}
            onValueChange={setAge}
            options={purgeAges.map(({ value, label }) => ({ value, label }))}
          />
        </FormField>
      </ConfirmDialog>
    </>
  );
}

const route = getRouteApi('/app/realtime');

function Stats() {
  const stats = useMessageStats();
  const s = stats.data;
  const items: [string, string | undefined][] = [
    ['Stored messages', s && formatCount(s.totalMessages)],
    ['Last hour', s && formatCount(s.lastHour)],
    ['Last 24 hours', s && formatCount(s.lastDay)],
    ['Webhook success', s && `${Math.round(s.whDeliveryRate * 100)} %`],
    ['Kept for', s && `${s.retentionDays} day${s.retentionDays === 1 ? '' : 's'}`],
  ];
  if (stats.error) return null;
  return (
    <dl className="grid grid-cols-2 gap-3 sm:grid-cols-3 lg:grid-cols-5">
      {items.map(([label, value]) => (
        <div key={label} className="rounded-lg border border-border bg-surface px-3 py-2 shadow-xs">
          <dt className="text-xs text-muted">{label}</dt>
          <dd className="mt-0.5 text-lg font-semibold tabular-nums">
            {value ?? <Skeleton className="h-6 w-16" />}
          </dd>
        </div>
      ))}
    </dl>
  );
}

function json(v: unknown): string {
  return JSON.stringify(v) ?? '';
}

export function MessagesTab() {
  const search = route.useSearch();
  const navigate = route.useNavigate();
  const offset = search.offset ?? 0;
  const messages = useMessages({ channel: search.mchannel, event: search.event, offset });
  const [channel, setChannel] = useState(search.mchannel ?? '');
  const [event, setEvent] = useState(search.event ?? '');
  useEffect(() => setChannel(search.mchannel ?? ''), [search.mchannel]);
  useEffect(() => setEvent(search.event ?? ''), [search.event]);
  const open = messages.data?.data.find((m) => m.id === search.msg);

  const columns = useMemo<ColumnDef<StoredMessage, unknown>[]>(
    () => [
      {
        id: 'time',
        header: 'Time',
        size: 170,
        cell: ({ row }) => (
          <time dateTime={row.original.createdAt} className="whitespace-nowrap text-muted">
            {formatDateTime(row.original.createdAt)}
          </time>
        ),
      },
      {
        id: 'channel',
        header: 'Channel',
        cell: ({ row }) => (
          <span className="block truncate font-mono text-xs">{row.original.channel}</span>
        ),
      },
      {
        id: 'event',
        header: 'Event',
        cell: ({ row }) => (
          <span className="block truncate font-mono text-xs font-medium">{row.original.event}</span>
        ),
      },
      {
        id: 'sender',
        header: 'Sender',
        size: 90,
        cell: ({ row }) => (
          <Badge
            tone={row.original.senderType === 'system' ? 'info' : 'neutral'}
            title={row.original.senderId ?? undefined}
          >
            {row.original.senderType}
          </Badge>
        ),
      },
      {
        id: 'payload',
        header: 'Payload',
        size: 260,
        cell: ({ row }) => (
          <span className="block truncate font-mono text-xs text-muted">
            {json(row.original.payload)}
          </span>
        ),
      },
      {
        id: 'webhooks',
        header: 'Webhooks',
        size: 150,
        cell: ({ row }) => {
          const w = row.original.webhooks;
          if (!w.total) return <span className="text-muted">—</span>;
          return (
            <Link
              to="/realtime"
              search={{ tab: 'deliveries', message: row.original.id }}
              onClick={(e) => e.stopPropagation()}
              className="flex items-center gap-1 hover:underline"
              aria-label={`Webhook deliveries of message ${row.original.id}`}
            >
              {w.delivered > 0 && <Badge tone="success">{w.delivered} ok</Badge>}
              {w.failed > 0 && <Badge tone="danger">{w.failed} failed</Badge>}
              {w.pending > 0 && <Badge tone="warning">{w.pending} pending</Badge>}
            </Link>
          );
        },
      },
    ],
    [],
  );

  const filtered = Boolean(search.mchannel || search.event);
  return (
    <div className="flex flex-col gap-3">
      <Stats />
      <div className="flex flex-wrap items-end gap-3">
        <form
          role="search"
          aria-label="Filter the message history"
          className="grid min-w-0 flex-1 grid-cols-1 items-end gap-3 md:grid-cols-[minmax(0,1fr)_minmax(0,1fr)_auto]"
          onSubmit={(e) => {
            e.preventDefault();
            void navigate({
              search: (s) => ({
                ...s,
                mchannel: channel.trim() || undefined,
                event: event.trim() || undefined,
                offset: undefined,
                msg: undefined,
              }),
            });
          }}
        >
          <FormField label="Channel">
            <Input
              value={channel}
              onChange={(e) => setChannel(e.target.value)}
              placeholder="Any channel, e.g. chat:lobby"
              className="font-mono"
            />
          </FormField>
          <FormField label="Event">
            <Input
              value={event}
              onChange={(e) => setEvent(e.target.value)}
              placeholder="Any event, e.g. new_message"
              className="font-mono"
            />
          </FormField>
          <Button type="submit">
            <Search aria-hidden /> Filter
          </Button>
        </form>
        <PurgeButton channel={search.mchannel} />
      </div>
      <DataTable
        label="Messages"
        columns={columns}
        data={messages.data?.data}
        getRowId={(m) => m.id}
        isLoading={messages.isLoading}
        error={messages.error}
        onRetry={() => void messages.refetch()}
        maxHeight="calc(100vh - 24rem)"
        onRowClick={(m) => void navigate({ search: (s) => ({ ...s, msg: m.id }) })}
        empty={{
          icon: History,
          title: 'No messages',
          description: filtered
            ? 'No stored message matches these filters (names are exact).'
            : 'Messages published by clients, SQL or triggers are stored here for the retention period.',
        }}
        pagination={{
          offset,
          limit: MESSAGES_PAGE,
          total: messages.data?.total,
          onOffsetChange: (o) =>
            void navigate({ search: (s) => ({ ...s, offset: o || undefined, msg: undefined }) }),
        }}
      />
      <Sheet
        open={open !== undefined}
        onOpenChange={(o) => !o && void navigate({ search: (s) => ({ ...s, msg: undefined }) })}
      >
        {open && <MessageDetail message={open} />}
      </Sheet>
    </div>
  );
}

function MessageDetail({ message: m }: { message: StoredMessage }) {
  const rows: [string, React.ReactNode][] = [
    ['Channel', <span className="font-mono">{m.channel}</span>],
    ['Event', <span className="font-mono">{m.event}</span>],
    ['Sent', formatDateTime(m.createdAt)],
    ['Sender', m.senderId ? `${m.senderType} · ${m.senderId}` : m.senderType],
    ['Id', <span className="font-mono">{m.id}</span>],
    [
      'Webhooks',
      m.webhooks.total
        ? `${m.webhooks.delivered} delivered, ${m.webhooks.failed} failed, ${m.webhooks.pending} pending`
        : 'none',
    ],
  ];
  return (
    <SheetContent title="Message" description={`${m.event} on ${m.channel}`}>
      <dl className="grid grid-cols-[6rem_minmax(0,1fr)] gap-x-3 gap-y-2 text-sm">
        {rows.map(([k, v]) => (
          <div key={k} className="contents">
            <dt className="text-muted">{k}</dt>
            <dd className="break-all">{v}</dd>
          </div>
        ))}
      </dl>
      <h3 className="mt-5 mb-1.5 text-sm font-semibold">Payload</h3>
      <pre
        aria-label="Payload"
        className="overflow-auto rounded bg-surface-2 px-3 py-2 font-mono text-xs break-all whitespace-pre-wrap"
      >
        {JSON.stringify(m.payload, null, 2)}
      </pre>
      {m.webhooks.total > 0 && (
        <Link
          to="/realtime"
          search={{ tab: 'deliveries', message: m.id }}
          className="mt-4 inline-block text-sm text-primary hover:underline"
        >
          Show this message’s webhook deliveries
        </Link>
      )}
    </SheetContent>
  );
}

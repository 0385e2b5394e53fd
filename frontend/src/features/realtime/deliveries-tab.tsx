/**
 * Webhook deliveries, newest first: status, attempts, the receiver's last response code or
 * error, the next attempt or when it was delivered; replay any that is not pending. Filtered by
 * status and by message (from the history), one server page at a time; re-read every 2 s while a
 * delivery on the page is pending.
 */
import { useMemo } from 'react';
import { getRouteApi } from '@tanstack/react-router';
import { RotateCw, Webhook, X } from 'lucide-react';
import { formatDateTime, formatRelative } from '../../lib/format';
import { Button } from '../../ui/button';
import { DataTable, type ColumnDef } from '../../ui/data-table';
import { FormField } from '../../ui/form-field';
import { Badge, type BadgeTone } from '../../ui/misc';
import { Select } from '../../ui/select';
import { DELIVERIES_PAGE, useDeliveries, useReplayDelivery, type WebhookDelivery } from './hooks';
import { deliveryStatuses, type DeliveryStatus } from './search';

const route = getRouteApi('/app/realtime');
const ANY = 'any';

const statusTones: Record<DeliveryStatus, BadgeTone> = {
  pending: 'warning',
  delivered: 'success',
  failed: 'danger',
};

function responseTone(code: number): BadgeTone {
  if (code >= 200 && code < 300) return 'success';
  if (code >= 500 || code === 429) return 'warning';
  return 'danger';
}

export function DeliveriesTab() {
  const search = route.useSearch();
  const navigate = route.useNavigate();
  const offset = search.offset ?? 0;
  const deliveries = useDeliveries({ status: search.status, messageId: search.message, offset });
  const { mutateAsync: replay } = useReplayDelivery();

  const columns = useMemo<ColumnDef<WebhookDelivery, unknown>[]>(
    () => [
      {
        id: 'time',
        header: 'Queued',
        size: 160,
        cell: ({ row }) => (
          <time dateTime={row.original.createdAt} className="whitespace-nowrap text-muted">
            {formatDateTime(row.original.createdAt)}
          </time>
        ),
      },
      {
        id: 'status',
        header: 'Status',
        size: 150,
        cell: ({ row }) => {
          const d = row.original;
          const at = d.deliveredAt ?? d.nextAttemptAt;
          return (
            <span className="flex flex-col items-start gap-0.5">
              <Badge tone={statusTones[d.status]}>{d.status}</Badge>
              {at && (
                <time
                  dateTime={at}
                  className="text-xs whitespace-nowrap text-muted"
                  title={formatDateTime(at)}
                >
                  {d.deliveredAt ? formatRelative(at) : `next try ${formatRelative(at)}`}
                </time>
              )}
            </span>
          );
        },
      },
      {
        id: 'url',
        header: 'URL',
        cell: ({ row }) => (
          <span className="block truncate font-mono text-xs" title={row.original.url}>
            {row.original.url}
          </span>
        ),
      },
      {
        id: 'attempts',
        header: 'Attempts',
        size: 76,
        cell: ({ row }) => <span className="tabular-nums">{row.original.attempts}</span>,
      },
      {
        id: 'response',
        header: 'Response',
        size: 160,
        cell: ({ row }) => {
          const d = row.original;
          return (
            <span className="flex min-w-0 items-center gap-1.5 text-xs">
              {d.lastStatus !== null && (
                <Badge tone={responseTone(d.lastStatus)} className="font-mono">
                  {d.lastStatus}
                </Badge>
              )}
              {d.lastError && d.lastError !== `HTTP ${d.lastStatus}` ? (
                <span className="truncate text-muted" title={d.lastError}>
                  {d.lastError}
                </span>
              ) : (
                d.lastStatus === null && <span className="text-muted">—</span>
              )}
            </span>
          );
        },
      },
      {
        id: 'actions',
        size: 100,
        header: () => <span className="sr-only">Actions</span>,
        cell: ({ row }) =>
          row.original.status === 'pending' ? null : (
            <div className="flex justify-end">
              <Button
                size="sm"
                variant="outline"
                aria-label={`Replay delivery to ${row.original.url}`}
                onClick={() => void replay(row.original.id).catch(() => undefined)}
              >
                <RotateCw aria-hidden /> Replay
              </Button>
            </div>
          ),
      },
    ],
    [replay],
  );

  return (
    <div className="flex flex-col gap-3">
      <div className="flex flex-wrap items-end gap-3">
        <div className="w-48">
          <FormField label="Status">
            <Select
              value={search.status ?? ANY}
              onValueChange={(v) =>
                void navigate({
                  search: (s) => ({
                    ...s,
                    status: v === ANY ? undefined : (v as DeliveryStatus),
                    offset: undefined,
                  }),
                })
              }
              options={[
                { value: ANY, label: 'Any status' },
                ...deliveryStatuses.map((s) => ({ value: s, label: s })),
              ]}
            />
          </FormField>
        </div>
        {search.message && (
          <Badge tone="neutral" className="h-8 gap-2 px-2.5 text-sm">
            <span>
              Message <span className="font-mono">{search.message.slice(0, 8)}…</span>
            </span>
            <button
              type="button"
              className="cursor-pointer rounded text-muted hover:text-fg"
              aria-label="Show the deliveries of every message"
              onClick={() =>
                void navigate({ search: (s) => ({ ...s, message: undefined, offset: undefined }) })
              }
            >
              <X className="size-3.5" aria-hidden />
            </button>
          </Badge>
        )}
        <Button
          variant="outline"
          className="ml-auto"
          onClick={() => void deliveries.refetch()}
          loading={deliveries.isFetching && !deliveries.isLoading}
        >
          <RotateCw aria-hidden /> Refresh
        </Button>
      </div>
      <DataTable
        label="Webhook deliveries"
        columns={columns}
        rowHeight={52}
        data={deliveries.data?.data}
        getRowId={(d) => d.id}
        isLoading={deliveries.isLoading}
        error={deliveries.error}
        onRetry={() => void deliveries.refetch()}
        maxHeight="calc(100vh - 20rem)"
        empty={{
          icon: Webhook,
          title: 'No webhook deliveries',
          description:
            search.status || search.message
              ? 'No delivery matches these filters.'
              : 'Add webhook URLs to a channel: every message published on it is POSTed to each, and each attempt shows up here.',
        }}
        pagination={{
          offset,
          limit: DELIVERIES_PAGE,
          total: deliveries.data?.pagination.total,
          onOffsetChange: (o) =>
            void navigate({ search: (s) => ({ ...s, offset: o || undefined }) }),
        }}
      />
    </div>
  );
}

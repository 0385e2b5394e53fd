/**
 * Channels: names or `%` patterns, enabled or not (switched in place), their webhooks; create,
 * edit, delete, and open one in the inspector.
 */
import { useMemo, useState } from 'react';
import { Link } from '@tanstack/react-router';
import { Pencil, Plus, Radio, Trash2, Webhook } from 'lucide-react';
import { formatRelative } from '../../lib/format';
import { Button, buttonClass } from '../../ui/button';
import { Switch } from '../../ui/checkbox';
import { ConfirmDialog } from '../../ui/dialog';
import { DataTable, type ColumnDef } from '../../ui/data-table';
import { Card } from '../../ui/misc';
import { ChannelDialog } from './channel-dialog';
import { ConfigCard } from './config-card';
import { PermissionsCard } from './permissions-card';
import { type RealtimeChannel, useChannels, useDeleteChannel, useUpdateChannel } from './hooks';

/** A channel name (no `%` wildcard) can be opened in the inspector as it is. */
const isName = (pattern: string) => !pattern.includes('%');

export function ChannelsTab() {
  const channels = useChannels();
  const { mutateAsync: updateChannel } = useUpdateChannel();
  const del = useDeleteChannel();
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<RealtimeChannel | undefined>();
  const [deleting, setDeleting] = useState<RealtimeChannel | undefined>();

  const columns = useMemo<ColumnDef<RealtimeChannel, unknown>[]>(
    () => [
      {
        id: 'pattern',
        header: 'Pattern',
        cell: ({ row }) => (
          <div className="min-w-0">
            <span className="block truncate font-mono text-xs font-medium">
              {row.original.pattern}
            </span>
            {row.original.description && (
              <span className="block truncate text-xs text-muted" title={row.original.description}>
                {row.original.description}
              </span>
            )}
          </div>
        ),
      },
      {
        id: 'enabled',
        header: 'Enabled',
        size: 90,
        cell: ({ row }) => (
          <Switch
            aria-label={`Enabled: ${row.original.pattern}`}
            checked={row.original.enabled}
            onCheckedChange={(enabled) =>
              void updateChannel({ id: row.original.id, body: { enabled } }).catch(() => undefined)
            }
          />
        ),
      },
      {
        id: 'webhooks',
        header: 'Webhooks',
        cell: ({ row }) => {
          const urls = row.original.webhookUrls;
          if (!urls.length) return <span className="text-muted">—</span>;
          return (
            <span className="flex min-w-0 items-center gap-1.5 text-xs" title={urls.join('\n')}>
              <Webhook className="size-3.5 shrink-0 text-muted" aria-hidden />
              <span className="truncate font-mono">{urls[0]}</span>
              {urls.length > 1 && <span className="shrink-0 text-muted">+{urls.length - 1}</span>}
            </span>
          );
        },
      },
      {
        id: 'updated',
        header: 'Updated',
        size: 120,
        cell: ({ row }) => (
          <time dateTime={row.original.updatedAt} className="whitespace-nowrap text-muted">
            {formatRelative(row.original.updatedAt)}
          </time>
        ),
      },
      {
        id: 'actions',
        size: 120,
        header: () => <span className="sr-only">Actions</span>,
        cell: ({ row }) => {
          const name = row.original.pattern;
          return (
            <div className="flex justify-end gap-0.5">
              {isName(name) && (
                <Link
                  to="/realtime"
                  search={{ tab: 'inspector', channel: name }}
                  className={buttonClass('ghost', 'icon-sm')}
                  aria-label={`Inspect ${name}`}
                  title={`Inspect ${name}`}
                >
                  <Radio aria-hidden />
                </Link>
              )}
              <Button
                size="icon-sm"
                variant="ghost"
                aria-label={`Edit channel ${row.original.pattern}`}
                title="Edit channel"
                onClick={() => setEditing(row.original)}
              >
                <Pencil aria-hidden />
              </Button>
              <Button
                size="icon-sm"
                variant="ghost"
                aria-label={`Delete channel ${row.original.pattern}`}
                title="Delete channel"
                onClick={() => setDeleting(row.original)}
              >
                <Trash2 aria-hidden />
              </Button>
            </div>
          );
        },
      },
    ],
    [updateChannel],
  );

  return (
    <div className="flex flex-col gap-4">
      <Card
        title="Channels"
        description="A message goes to the channel rows its name matches; subscribing needs an enabled one."
        actions={
          <Button size="sm" onClick={() => setCreating(true)}>
            <Plus aria-hidden /> New channel
          </Button>
        }
      >
        <DataTable
          label="Channels"
          columns={columns}
          data={channels.data}
          getRowId={(c) => c.id}
          isLoading={channels.isLoading}
          error={channels.error}
          onRetry={() => void channels.refetch()}
          rowHeight={48}
          empty={{
            icon: Radio,
            title: 'No channels yet',
            description:
              'Create a channel (a name such as chat:lobby, or a pattern such as orders:%), then subscribe with client.realtime.subscribe(name).',
            action: (
              <Button size="sm" onClick={() => setCreating(true)}>
                <Plus aria-hidden /> New channel
              </Button>
            ),
          }}
        />
        <ChannelDialog open={creating} onOpenChange={setCreating} />
        <ChannelDialog
          open={editing !== undefined}
          channel={editing}
          onOpenChange={(open) => !open && setEditing(undefined)}
        />
        <ConfirmDialog
          open={deleting !== undefined}
          onOpenChange={(open) => !open && setDeleting(undefined)}
          title={`Delete channel ${deleting?.pattern ?? ''}?`}
          description="Subscribers keep their connection but can no longer subscribe to the channels it matched; stored messages are kept."
          confirmLabel="Delete channel"
          destructive
          onConfirm={() => deleting && del.mutateAsync(deleting.id)}
        />
      </Card>
      <PermissionsCard />
      <ConfigCard />
    </div>
  );
}

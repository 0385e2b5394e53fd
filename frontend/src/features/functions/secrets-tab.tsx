/**
 * Secrets: every function's environment. Values are masked in the list; add, edit (value,
 * active, expiry) and delete; the reserved ones Kiln provides (INSFORGE_BASE_URL, ANON_KEY, …)
 * are shown read-only. Functions are restarted with the new values after each change.
 */
import { useMemo, useState } from 'react';
import { KeyRound, Lock, Pencil, Plus, Trash2 } from 'lucide-react';
import { formatDateTime, formatRelative } from '../../lib/format';
import { Button } from '../../ui/button';
import { ConfirmDialog } from '../../ui/dialog';
import { DataTable, type ColumnDef } from '../../ui/data-table';
import { Badge } from '../../ui/misc';
import { type SecretSummary, useDeleteSecret, useSecrets } from './hooks';
import { SecretDialog } from './secret-dialog';

function SecretStatus({ secret }: { secret: SecretSummary }) {
  if (secret.isReserved) return <Badge tone="neutral">Reserved</Badge>;
  if (secret.unreadable) return <Badge tone="danger">Unreadable</Badge>;
  if (!secret.isActive) return <Badge tone="neutral">Inactive</Badge>;
  if (secret.expiresAt && new Date(secret.expiresAt).getTime() <= Date.now())
    return <Badge tone="warning">Expired</Badge>;
  return <Badge tone="success">Active</Badge>;
}

export function SecretsTab() {
  const secrets = useSecrets();
  const del = useDeleteSecret();
  const [adding, setAdding] = useState(false);
  const [editing, setEditing] = useState<SecretSummary | undefined>();
  const [deleting, setDeleting] = useState<SecretSummary | undefined>();

  const columns = useMemo<ColumnDef<SecretSummary, unknown>[]>(
    () => [
      {
        id: 'key',
        header: 'Name',
        cell: ({ row }) => (
          <span className="flex min-w-0 items-center gap-1.5 font-mono text-xs font-medium">
            {row.original.isReserved && (
              <Lock className="size-3.5 shrink-0 text-muted" aria-label="Reserved" />
            )}
            <span className="truncate">{row.original.key}</span>
          </span>
        ),
      },
      {
        id: 'value',
        header: 'Value',
        cell: ({ row }) => (
          <span className="block truncate font-mono text-xs text-muted">
            {row.original.maskedValue}
          </span>
        ),
      },
      {
        id: 'status',
        header: 'Status',
        size: 110,
        cell: ({ row }) => <SecretStatus secret={row.original} />,
      },
      {
        id: 'expires',
        header: 'Expires',
        size: 150,
        cell: ({ row }) =>
          row.original.expiresAt ? (
            <time dateTime={row.original.expiresAt} className="whitespace-nowrap">
              {formatDateTime(row.original.expiresAt)}
            </time>
          ) : (
            <span className="text-muted">Never</span>
          ),
      },
      {
        id: 'updated',
        header: 'Updated',
        size: 120,
        cell: ({ row }) => (
          <time
            dateTime={row.original.updatedAt}
            title={formatDateTime(row.original.updatedAt)}
            className="whitespace-nowrap"
          >
            {formatRelative(row.original.updatedAt)}
          </time>
        ),
      },
      {
        id: 'actions',
        size: 84,
        header: () => <span className="sr-only">Actions</span>,
        cell: ({ row }) =>
          row.original.isReserved ? (
            <span className="block text-right text-xs text-muted">Provided by Kiln</span>
          ) : (
            <div className="flex justify-end gap-0.5">
              <Button
                size="icon-sm"
                variant="ghost"
                aria-label={`Edit secret ${row.original.key}`}
                title="Edit secret"
                onClick={() => setEditing(row.original)}
              >
                <Pencil aria-hidden />
              </Button>
              <Button
                size="icon-sm"
                variant="ghost"
                aria-label={`Delete secret ${row.original.key}`}
                title="Delete secret"
                onClick={() => setDeleting(row.original)}
              >
                <Trash2 aria-hidden />
              </Button>
            </div>
          ),
      },
    ],
    [],
  );

  return (
    <div className="flex flex-col gap-3">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <p className="max-w-2xl text-sm text-muted">
          Each function gets these as environment variables (<code>Deno.env.get('NAME')</code>);
          functions restart with the new values after a change.
        </p>
        <Button onClick={() => setAdding(true)}>
          <Plus aria-hidden /> Add secret
        </Button>
      </div>
      <DataTable
        label="Secrets"
        columns={columns}
        data={secrets.data?.secrets}
        getRowId={(s) => s.key}
        isLoading={secrets.isLoading}
        error={secrets.error}
        onRetry={() => void secrets.refetch()}
        maxHeight="calc(100vh - 16rem)"
        empty={{
          icon: KeyRound,
          title: 'No secrets',
          description: 'Add an API key or a password your functions need.',
        }}
      />
      <SecretDialog open={adding} onOpenChange={setAdding} />
      <SecretDialog
        open={Boolean(editing)}
        onOpenChange={(open) => !open && setEditing(undefined)}
        secret={editing}
      />
      <ConfirmDialog
        open={Boolean(deleting)}
        onOpenChange={(open) => !open && setDeleting(undefined)}
        title={`Delete secret ${deleting?.key ?? ''}?`}
        description="Functions no longer get it once they restart, which happens right after."
        confirmLabel="Delete secret"
        destructive
        onConfirm={() => deleting && del.mutateAsync(deleting.key)}
      />
    </div>
  );
}

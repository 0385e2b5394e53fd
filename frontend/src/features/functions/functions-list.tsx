/** The functions: name and endpoint, status, version, last deploy; create one, delete one. */
import { useMemo, useState } from 'react';
import { Link } from '@tanstack/react-router';
import { Plus, SquareFunction, Trash2 } from 'lucide-react';
import { formatDateTime, formatRelative } from '../../lib/format';
import { Button } from '../../ui/button';
import { ConfirmDialog } from '../../ui/dialog';
import { DataTable, type ColumnDef } from '../../ui/data-table';
import { Badge } from '../../ui/misc';
import { lastDeploy, StatusBadge } from './function-status';
import { type EdgeFunction, useDeleteFunction, useFunctions } from './hooks';
import { NewFunctionDialog } from './new-function-dialog';

export function FunctionsList() {
  const functions = useFunctions();
  const [creating, setCreating] = useState(false);
  const [deleting, setDeleting] = useState<EdgeFunction | undefined>();
  const del = useDeleteFunction();
  const runtime = functions.data?.runtime;

  const columns = useMemo<ColumnDef<EdgeFunction, unknown>[]>(
    () => [
      {
        id: 'name',
        header: 'Function',
        cell: ({ row }) => (
          <div className="min-w-0">
            <Link
              to="/functions"
              search={{ fn: row.original.slug }}
              className="block truncate font-medium text-fg hover:underline"
            >
              {row.original.name}
            </Link>
            <span className="block truncate font-mono text-xs text-muted">
              /functions/{row.original.slug}
            </span>
          </div>
        ),
      },
      {
        id: 'status',
        header: 'Status',
        size: 110,
        cell: ({ row }) => <StatusBadge fn={row.original} />,
      },
      {
        id: 'version',
        header: 'Version',
        size: 90,
        cell: ({ row }) => <span className="tabular-nums">v{row.original.version}</span>,
      },
      {
        id: 'deployed',
        header: 'Last deploy',
        size: 150,
        cell: ({ row }) => {
          const at = lastDeploy(row.original);
          return at ? (
            <time dateTime={at} title={formatDateTime(at)} className="whitespace-nowrap">
              {formatRelative(at)}
            </time>
          ) : (
            <span className="text-muted">Never</span>
          );
        },
      },
      {
        id: 'actions',
        size: 56,
        header: () => <span className="sr-only">Actions</span>,
        cell: ({ row }) => (
          <div className="flex justify-end">
            <Button
              size="icon-sm"
              variant="ghost"
              aria-label={`Delete function ${row.original.slug}`}
              title="Delete function"
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
        <p className="flex items-center gap-2 text-sm text-muted">
          {runtime && (
            <>
              Runtime
              <Badge tone={runtime.status === 'running' ? 'success' : 'danger'}>
                {runtime.provider === 'local' ? 'Local Deno' : 'Deno Subhosting'} · {runtime.status}
              </Badge>
            </>
          )}
        </p>
        <Button onClick={() => setCreating(true)}>
          <Plus aria-hidden /> New function
        </Button>
      </div>
      <DataTable
        label="Functions"
        columns={columns}
        data={functions.data?.functions}
        getRowId={(f) => f.slug}
        isLoading={functions.isLoading}
        error={functions.error}
        onRetry={() => void functions.refetch()}
        rowHeight={52}
        empty={{
          icon: SquareFunction,
          title: 'No functions yet',
          description:
            'Create one: it starts from a small handler you can edit, deploy and call from here.',
          action: (
            <Button onClick={() => setCreating(true)}>
              <Plus aria-hidden /> New function
            </Button>
          ),
        }}
      />
      <NewFunctionDialog open={creating} onOpenChange={setCreating} />
      <ConfirmDialog
        open={Boolean(deleting)}
        onOpenChange={(open) => !open && setDeleting(undefined)}
        title={`Delete function ${deleting?.slug ?? ''}?`}
        description={`/functions/${deleting?.slug ?? ''} stops answering and its code is gone. This cannot be undone.`}
        confirmLabel="Delete function"
        destructive
        typeToConfirm={deleting?.slug}
        onConfirm={() => deleting && del.mutateAsync(deleting.slug)}
      />
    </div>
  );
}

/**
 * Storage: the buckets (public or private, size and type limits), and for the open bucket an
 * object browser: folders from the keys' "/" prefixes (the folder is in the URL), search, one
 * server page at a time, multi-select delete, download, public or signed links, and uploads (picker
 * or drag-and-drop, several at once, a progress bar and a cancel button per file).
 */
import { useMemo, useState } from 'react';
import { createLazyRoute, getRouteApi, Link, useNavigate } from '@tanstack/react-router';
import { ChevronRight, Folder, HardDrive, Plus, Search, Settings2, Trash2 } from 'lucide-react';
import { useRegisterCommands, type Command } from '../../lib/commands';
import { formatCount } from '../../lib/format';
import { Button } from '../../ui/button';
import { ConfirmDialog } from '../../ui/dialog';
import { DataTable, type ColumnDef } from '../../ui/data-table';
import { Input } from '../../ui/input';
import { Badge, Card, PageHeader } from '../../ui/misc';
import { CreateBucketDialog } from './create-bucket-dialog';
import { formatBytes } from './format';
import { type Bucket, useBuckets, useDeleteBucket } from './hooks';
import { ObjectBrowser } from './object-browser';

export const Route = createLazyRoute('/app/storage')({ component: StoragePage });

const route = getRouteApi('/app/storage');

/** One palette entry per bucket while the Storage area is open. */
function useBucketCommands() {
  const buckets = useBuckets();
  const navigate = useNavigate();
  const commands = useMemo<Command[]>(
    () =>
      (buckets.data ?? []).map((b) => ({
        id: `bucket:${b.name}`,
        group: 'Buckets',
        label: b.name,
        keywords: ['bucket', 'storage', b.isPublic ? 'public' : 'private'],
        icon: HardDrive,
        run: () => void navigate({ to: '/storage', search: { bucket: b.name } }),
      })),
    [buckets.data, navigate],
  );
  useRegisterCommands('storage', commands);
}

function StoragePage() {
  const { bucket } = route.useSearch();
  useBucketCommands();
  return bucket ? <BucketView bucket={bucket} /> : <BucketsView />;
}

function BucketsView() {
  const buckets = useBuckets();
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<Bucket | undefined>();
  const [deleting, setDeleting] = useState<Bucket | undefined>();
  const [filter, setFilter] = useState('');
  const del = useDeleteBucket();
  const rows = useMemo(
    () => buckets.data?.filter((b) => b.name.includes(filter.trim().toLowerCase())),
    [buckets.data, filter],
  );

  const columns = useMemo<ColumnDef<Bucket, unknown>[]>(
    () => [
      {
        id: 'name',
        header: 'Name',
        cell: ({ row }) => (
          <Link
            to="/storage"
            search={{ bucket: row.original.name }}
            className="font-medium text-fg hover:underline"
          >
            {row.original.name}
          </Link>
        ),
      },
      {
        id: 'access',
        size: 100,
        header: 'Access',
        cell: ({ row }) =>
          row.original.isPublic ? (
            <Badge tone="warning">Public</Badge>
          ) : (
            <Badge tone="neutral">Private</Badge>
          ),
      },
      {
        id: 'objects',
        size: 90,
        header: 'Files',
        cell: ({ row }) => (
          <span className="tabular-nums">{formatCount(row.original.objectCount)}</span>
        ),
      },
      {
        id: 'size',
        size: 100,
        header: 'Size',
        cell: ({ row }) => (
          <span className="tabular-nums">{formatBytes(row.original.totalSize)}</span>
        ),
      },
      {
        id: 'limits',
        header: 'Limits',
        cell: ({ row }) => {
          const b = row.original;
          const parts = [
            b.maxFileSize ? `≤ ${formatBytes(b.maxFileSize)}` : undefined,
            b.allowedMimeTypes?.length ? b.allowedMimeTypes.join(', ') : undefined,
            b.allowUserUploads ? 'user uploads' : undefined,
          ].filter(Boolean);
          return (
            <span className="block max-w-72 truncate text-muted" title={parts.join(' · ')}>
              {parts.length ? parts.join(' · ') : '—'}
            </span>
          );
        },
      },
      {
        id: 'actions',
        size: 84,
        header: () => <span className="sr-only">Actions</span>,
        cell: ({ row }) => (
          <div className="flex justify-end gap-0.5">
            <Button
              size="icon-sm"
              variant="ghost"
              aria-label={`Edit bucket ${row.original.name}`}
              title="Edit bucket"
              onClick={() => setEditing(row.original)}
            >
              <Settings2 aria-hidden />
            </Button>
            <Button
              size="icon-sm"
              variant="ghost"
              aria-label={`Delete bucket ${row.original.name}`}
              title="Delete bucket"
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
    <div>
      <PageHeader
        title="Storage"
        description="Buckets hold files. Public buckets are readable by anyone with the link; private ones through signed URLs or the API."
        actions={
          <Button onClick={() => setCreating(true)}>
            <Plus aria-hidden /> New bucket
          </Button>
        }
      />
      <Card
        title="Buckets"
        actions={
          <div className="relative w-56">
            <Search
              className="pointer-events-none absolute top-1/2 left-2.5 size-4 -translate-y-1/2 text-muted"
              aria-hidden
            />
            <Input
              aria-label="Filter buckets"
              placeholder="Filter buckets"
              className="h-8 pl-8"
              value={filter}
              onChange={(e) => setFilter(e.target.value)}
            />
          </div>
        }
      >
        <DataTable
          label="Buckets"
          columns={columns}
          data={rows}
          getRowId={(b) => b.name}
          isLoading={buckets.isLoading}
          error={buckets.error}
          onRetry={() => void buckets.refetch()}
          empty={{
            icon: HardDrive,
            title: filter ? 'No bucket matches' : 'No buckets yet',
            description: filter
              ? 'Try another name.'
              : 'Create a bucket, then upload files into it here or with client.storage.from(name).upload().',
          }}
        />
      </Card>
      <CreateBucketDialog open={creating} onOpenChange={setCreating} />
      <CreateBucketDialog
        open={editing !== undefined}
        bucket={editing}
        onOpenChange={(open) => !open && setEditing(undefined)}
      />
      <ConfirmDialog
        open={deleting !== undefined}
        onOpenChange={(open) => !open && setDeleting(undefined)}
        title={`Delete bucket ${deleting?.name ?? ''}?`}
        description={
          deleting && deleting.objectCount > 0
            ? `Its ${formatCount(deleting.objectCount)} file(s) are deleted with it. This cannot be undone.`
            : 'This cannot be undone.'
        }
        confirmLabel="Delete bucket"
        destructive
        typeToConfirm={deleting?.name}
        onConfirm={() => deleting && del.mutateAsync(deleting.name)}
      />
    </div>
  );
}

function BucketView({ bucket }: { bucket: string }) {
  const { prefix = '' } = route.useSearch();
  const buckets = useBuckets();
  const info = buckets.data?.find((b) => b.name === bucket);
  const parts = prefix.split('/').filter(Boolean);
  return (
    <div>
      <nav aria-label="Folder" className="mb-2 flex flex-wrap items-center gap-1 text-sm">
        <Link to="/storage" search={{}} className="text-muted hover:text-fg hover:underline">
          Buckets
        </Link>
        <ChevronRight className="size-3.5 text-muted" aria-hidden />
        <Link
          to="/storage"
          search={{ bucket }}
          className="text-muted hover:text-fg hover:underline"
          aria-current={parts.length === 0 ? 'page' : undefined}
        >
          {bucket}
        </Link>
        {parts.map((p, i) => (
          <span key={i} className="flex items-center gap-1">
            <ChevronRight className="size-3.5 text-muted" aria-hidden />
            <Link
              to="/storage"
              search={{ bucket, prefix: `${parts.slice(0, i + 1).join('/')}/` }}
              className="flex items-center gap-1 text-muted hover:text-fg hover:underline"
              aria-current={i === parts.length - 1 ? 'page' : undefined}
            >
              <Folder className="size-3.5" aria-hidden />
              {p}
            </Link>
          </span>
        ))}
      </nav>
      <PageHeader
        title={bucket}
        description={
          info ? (
            <span className="flex items-center gap-2">
              {info.isPublic ? (
                <Badge tone="warning">Public</Badge>
              ) : (
                <Badge tone="neutral">Private</Badge>
              )}
              {formatCount(info.objectCount)} files · {formatBytes(info.totalSize)}
            </span>
          ) : undefined
        }
      />
      <ObjectBrowser bucket={bucket} isPublic={info?.isPublic ?? false} />
    </div>
  );
}

/**
 * One bucket's files: the folder (key prefix) from the URL, its sub-folders and files (the
 * server's listing by "/" delimiter, paged together), a search over the keys under the folder
 * (flat: every match below it), server-side pages,
 * a multi-select delete, and per file: download, links (public or signed) and delete.
 */
import { useMemo, useState } from 'react';
import { getRouteApi, Link } from '@tanstack/react-router';
import { Download, File, Folder, FolderOpen, Link2, Search, Trash2 } from 'lucide-react';
import { toast } from 'sonner';
import { formatDateTime } from '../../lib/format';
import { Button } from '../../ui/button';
import { Checkbox } from '../../ui/checkbox';
import { ConfirmDialog } from '../../ui/dialog';
import { DataTable, type ColumnDef } from '../../ui/data-table';
import { Input } from '../../ui/input';
import { Card } from '../../ui/misc';
import { formatBytes } from './format';
import { OBJECTS_PAGE, signedUrl, useDeleteObjects, useObjects, type StoredObject } from './hooks';
import { PreviewSheet } from './preview-sheet';
import { ShareDialog } from './share-dialog';
import { UploadZone } from './upload-zone';

const route = getRouteApi('/app/storage');

type Entry =
  | { kind: 'folder'; id: string; name: string; prefix: string }
  | { kind: 'file'; id: string; name: string; object: StoredObject };

/** A page of the folder as its entries: the sub-folders the server grouped, then the files. */
function entriesOf(objects: StoredObject[], folders: string[], prefix: string): Entry[] {
  return [
    ...folders.map((p): Entry => ({
      kind: 'folder',
      id: `d:${p}`,
      name: p.slice(prefix.length, -1),
      prefix: p,
    })),
    ...objects.map((o): Entry => ({
      kind: 'file',
      id: `f:${o.key}`,
      name: o.key.slice(prefix.length),
      object: o,
    })),
  ];
}

async function download(bucket: string, key: string) {
  try {
    const { url } = await signedUrl(bucket, key, 60);
    const a = document.createElement('a');
    a.href = url;
    a.download = key.split('/').pop() ?? key;
    a.click();
  } catch (err) {
    toast.error(`Could not download ${key}`, {
      description: err instanceof Error ? err.message : undefined,
    });
  }
}

export function ObjectBrowser({ bucket, isPublic }: { bucket: string; isPublic: boolean }) {
  const { prefix = '', search = '', offset = 0, file } = route.useSearch();
  const navigate = route.useNavigate();
  const objects = useObjects(bucket, prefix, search, offset);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [confirmKeys, setConfirmKeys] = useState<string[] | undefined>();
  const [sharing, setSharing] = useState<StoredObject | undefined>();
  const del = useDeleteObjects(bucket);

  const entries = useMemo(
    () =>
      objects.data ? entriesOf(objects.data.data, objects.data.prefixes ?? [], prefix) : undefined,
    [objects.data, prefix],
  );
  const fileKeys = useMemo(
    () => entries?.flatMap((e) => (e.kind === 'file' ? [e.object.key] : [])) ?? [],
    [entries],
  );
  const allChecked =
    fileKeys.length > 0 && fileKeys.every((k) => selected.has(k))
      ? true
      : fileKeys.some((k) => selected.has(k))
        ? 'indeterminate'
        : false;

  const columns = useMemo<ColumnDef<Entry, unknown>[]>(
    () => [
      {
        id: 'select',
        size: 44,
        header: () => (
          <Checkbox
            aria-label="Select all files on this page"
            checked={allChecked}
            disabled={fileKeys.length === 0}
            onCheckedChange={(c) => setSelected(c === true ? new Set(fileKeys) : new Set())}
          />
        ),
        cell: ({ row }) => {
          const e = row.original;
          if (e.kind !== 'file') return null;
          return (
            <Checkbox
              aria-label={`Select ${e.name}`}
              checked={selected.has(e.object.key)}
              onCheckedChange={(c) =>
                setSelected((s) => {
                  const next = new Set(s);
                  if (c === true) next.add(e.object.key);
                  else next.delete(e.object.key);
                  return next;
                })
              }
            />
          );
        },
      },
      {
        id: 'name',
        header: 'Name',
        cell: ({ row }) => {
          const e = row.original;
          return e.kind === 'folder' ? (
            <Link
              to="/storage"
              search={{ bucket, prefix: e.prefix }}
              className="inline-flex items-center gap-2 font-medium hover:underline"
            >
              <Folder className="size-4 shrink-0 text-primary" aria-hidden />
              {e.name}/
            </Link>
          ) : (
            <button
              type="button"
              className="inline-flex max-w-full min-w-0 items-center gap-2 text-left hover:underline"
              title={e.object.key}
              aria-label={`Preview ${e.name}`}
              onClick={() => void navigate({ search: (s) => ({ ...s, file: e.object.key }) })}
            >
              <File className="size-4 shrink-0 text-muted" aria-hidden />
              <span className="truncate">{e.name}</span>
            </button>
          );
        },
      },
      {
        id: 'size',
        size: 100,
        header: 'Size',
        cell: ({ row }) =>
          row.original.kind === 'file' ? (
            <span className="tabular-nums">{formatBytes(row.original.object.size)}</span>
          ) : null,
      },
      {
        id: 'type',
        header: 'Type',
        cell: ({ row }) =>
          row.original.kind === 'file' ? (
            <span className="text-muted">{row.original.object.mimeType}</span>
          ) : (
            <span className="text-muted">Folder</span>
          ),
      },
      {
        id: 'uploaded',
        size: 170,
        header: 'Uploaded',
        cell: ({ row }) =>
          row.original.kind === 'file' ? (
            <span className="whitespace-nowrap text-muted">
              {formatDateTime(row.original.object.uploadedAt)}
            </span>
          ) : null,
      },
      {
        id: 'actions',
        size: 112,
        header: () => <span className="sr-only">Actions</span>,
        cell: ({ row }) => {
          const e = row.original;
          if (e.kind !== 'file') return null;
          return (
            <div className="flex justify-end gap-0.5">
              <Button
                size="icon-sm"
                variant="ghost"
                aria-label={`Download ${e.name}`}
                title="Download"
                onClick={() => void download(bucket, e.object.key)}
              >
                <Download aria-hidden />
              </Button>
              <Button
                size="icon-sm"
                variant="ghost"
                aria-label={`Links to ${e.name}`}
                title="Copy a link"
                onClick={() => setSharing(e.object)}
              >
                <Link2 aria-hidden />
              </Button>
              <Button
                size="icon-sm"
                variant="ghost"
                aria-label={`Delete ${e.name}`}
                title="Delete"
                onClick={() => setConfirmKeys([e.object.key])}
              >
                <Trash2 aria-hidden />
              </Button>
            </div>
          );
        },
      },
    ],
    [bucket, selected, allChecked, fileKeys, navigate],
  );

  const page = objects.data?.pagination;
  return (
    <>
      <UploadZone bucket={bucket} prefix={prefix}>
        {(uploadButton) => (
          <Card
            title={prefix ? `Folder ${prefix}` : 'Files'}
            actions={
              <>
                {selected.size > 0 && (
                  <Button variant="danger" size="sm" onClick={() => setConfirmKeys([...selected])}>
                    <Trash2 aria-hidden /> Delete {selected.size} selected
                  </Button>
                )}
                <div className="relative w-56">
                  <Search
                    className="pointer-events-none absolute top-1/2 left-2.5 size-4 -translate-y-1/2 text-muted"
                    aria-hidden
                  />
                  <Input
                    type="search"
                    aria-label={prefix ? `Search in ${prefix}` : 'Search files'}
                    placeholder={prefix ? 'Search in this folder' : 'Search files'}
                    className="h-8 pl-8"
                    defaultValue={search}
                    key={`${bucket}:${prefix}`}
                    onChange={(ev) => {
                      const value = ev.target.value;
                      void navigate({
                        search: (s) => ({ ...s, search: value || undefined, offset: undefined }),
                        replace: true,
                      });
                    }}
                  />
                </div>
                {uploadButton}
              </>
            }
          >
            <DataTable
              label="Files"
              columns={columns}
              data={entries}
              getRowId={(e) => e.id}
              isLoading={objects.isLoading}
              error={objects.error}
              onRetry={() => void objects.refetch()}
              empty={{
                icon: FolderOpen,
                title: search
                  ? 'No file matches'
                  : prefix
                    ? 'This folder is empty'
                    : 'No files yet',
                description: search
                  ? 'Try another part of the name.'
                  : 'Drop files here or use Upload files. A "/" in a key makes folders.',
              }}
              pagination={
                page && (page.total > OBJECTS_PAGE || offset > 0)
                  ? {
                      offset,
                      limit: OBJECTS_PAGE,
                      total: page.total,
                      onOffsetChange: (o) =>
                        void navigate({ search: (s) => ({ ...s, offset: o || undefined }) }),
                    }
                  : undefined
              }
            />
          </Card>
        )}
      </UploadZone>
      <ConfirmDialog
        open={confirmKeys !== undefined}
        onOpenChange={(open) => !open && setConfirmKeys(undefined)}
        title={
          confirmKeys?.length === 1
            ? `Delete ${confirmKeys[0]}?`
            : `Delete ${confirmKeys?.length ?? 0} files?`
        }
        description="Deleted files cannot be recovered, and their signed URLs stop working."
        confirmLabel="Delete"
        destructive
        onConfirm={async () => {
          if (!confirmKeys) return;
          await del.mutateAsync(confirmKeys);
          setSelected((s) => {
            const next = new Set(s);
            for (const k of confirmKeys) next.delete(k);
            return next;
          });
        }}
      />
      <PreviewSheet
        bucket={bucket}
        object={file ? objects.data?.data.find((o) => o.key === file) : undefined}
        onOpenChange={(open) =>
          !open && void navigate({ search: (s) => ({ ...s, file: undefined }) })
        }
        onDownload={(key) => void download(bucket, key)}
      />
      <ShareDialog
        bucket={bucket}
        isPublic={isPublic}
        object={sharing}
        onOpenChange={(open) => !open && setSharing(undefined)}
      />
    </>
  );
}

/** The SQL editor's side panel: saved snippets (search, open, rename, delete) and run history. */
import { useEffect, useState } from 'react';
import {
  CheckCircle2,
  FileCode2,
  History,
  MoreHorizontal,
  Pencil,
  Search,
  Trash2,
  XCircle,
} from 'lucide-react';
import { formatCount, formatDateTime, formatRelative } from '../../lib/format';
import { cn } from '../../lib/cn';
import { Button } from '../../ui/button';
import { ConfirmDialog } from '../../ui/dialog';
import { ErrorPanel } from '../../ui/error-panel';
import { Input } from '../../ui/input';
import {
  DropdownMenu,
  DropdownMenuContent,
  DropdownMenuItem,
  DropdownMenuTrigger,
} from '../../ui/menu';
import { EmptyState, Skeleton } from '../../ui/misc';
import { Pagination } from '../../ui/pagination';
import { Select } from '../../ui/select';
import {
  HISTORY_PAGE,
  useClearHistory,
  useDeleteSnippet,
  useHistory,
  useSnippets,
  useUpdateSnippet,
  type HistoryEntry,
  type Snippet,
} from './hooks';
import { NameDialog } from './name-dialog';
import type { HistoryStatus } from './search';

function ListSkeleton() {
  return (
    <div className="flex flex-col gap-2 p-3" aria-hidden>
      {Array.from({ length: 5 }, (_, i) => (
        <div key={i} className="flex flex-col gap-1.5">
          <Skeleton className="h-4 w-2/3" />
          <Skeleton className="h-3 w-full" />
        </div>
      ))}
    </div>
  );
}

/** First line of some SQL, for lists. */
function firstLine(sql: string): string {
  return sql.trim().split('\n', 1)[0] ?? '';
}

export function SnippetsPanel({
  search,
  onSearchChange,
  activeSnippetId,
  onOpen,
  onRenamed,
  onDeleted,
}: {
  search: string;
  onSearchChange: (q: string) => void;
  activeSnippetId: string | undefined;
  onOpen: (s: Snippet) => void;
  onRenamed: (s: Snippet) => void;
  onDeleted: (id: string) => void;
}) {
  // The box updates the URL (and the query) a moment after typing stops.
  const [text, setText] = useState(search);
  useEffect(() => setText(search), [search]);
  useEffect(() => {
    if (text === search) return;
    const t = setTimeout(() => onSearchChange(text), 250);
    return () => clearTimeout(t);
  }, [text, search, onSearchChange]);

  const snippets = useSnippets(search);
  const update = useUpdateSnippet();
  const remove = useDeleteSnippet();
  const [renaming, setRenaming] = useState<Snippet | null>(null);
  const [deleting, setDeleting] = useState<Snippet | null>(null);

  const list = snippets.data?.data;
  return (
    <div className="flex min-h-0 flex-1 flex-col">
      <div className="relative p-3 pb-2">
        <Search
          className="pointer-events-none absolute top-1/2 left-5.5 mt-0.5 size-4 -translate-y-1/2 text-muted"
          aria-hidden
        />
        <Input
          type="search"
          value={text}
          onChange={(e) => setText(e.target.value)}
          placeholder="Search snippets"
          aria-label="Search snippets"
          className="pl-8"
        />
      </div>
      <div className="min-h-0 flex-1 overflow-auto">
        {snippets.isLoading ? (
          <ListSkeleton />
        ) : snippets.error ? (
          <ErrorPanel
            className="m-3"
            error={snippets.error}
            title="Could not load snippets"
            onRetry={() => void snippets.refetch()}
          />
        ) : !list?.length ? (
          <EmptyState
            icon={FileCode2}
            title={search ? 'No snippet matches' : 'No saved snippets'}
            description={
              search
                ? 'Try other words: names, descriptions and the SQL itself are searched.'
                : 'Write a query, then Save to keep it here for every admin.'
            }
          />
        ) : (
          <ul aria-label="Saved snippets" className="flex flex-col px-2 pb-2">
            {list.map((s) => (
              <li
                key={s.id}
                className={cn(
                  'group flex items-start gap-1 rounded-md',
                  s.id === activeSnippetId ? 'bg-accent' : 'hover:bg-surface-2',
                )}
              >
                <button
                  type="button"
                  onClick={() => onOpen(s)}
                  aria-current={s.id === activeSnippetId ? 'true' : undefined}
                  className="min-w-0 flex-1 cursor-pointer rounded-md px-2 py-1.5 text-left"
                >
                  <span className="block truncate text-sm font-medium">{s.name}</span>
                  <span className="block truncate font-mono text-xs text-muted">
                    {firstLine(s.sql) || 'Empty'}
                  </span>
                  <span
                    className="block text-[11px] text-muted"
                    title={`Saved ${formatDateTime(s.updatedAt)} by ${s.updatedBy}`}
                  >
                    {formatRelative(s.updatedAt)} · {s.updatedBy}
                  </span>
                </button>
                <DropdownMenu>
                  <DropdownMenuTrigger asChild>
                    <Button
                      variant="ghost"
                      size="icon-sm"
                      className="mt-1 mr-1"
                      aria-label={`Actions for ${s.name}`}
                    >
                      <MoreHorizontal aria-hidden />
                    </Button>
                  </DropdownMenuTrigger>
                  <DropdownMenuContent align="end">
                    <DropdownMenuItem onSelect={() => setRenaming(s)}>
                      <Pencil aria-hidden /> Rename
                    </DropdownMenuItem>
                    <DropdownMenuItem destructive onSelect={() => setDeleting(s)}>
                      <Trash2 aria-hidden /> Delete
                    </DropdownMenuItem>
                  </DropdownMenuContent>
                </DropdownMenu>
              </li>
            ))}
          </ul>
        )}
      </div>
      {list && snippets.data && snippets.data.pagination.total > list.length && (
        <p className="border-t border-border px-3 py-2 text-xs text-muted">
          Showing {list.length} of {formatCount(snippets.data.pagination.total)}: search to narrow.
        </p>
      )}
      <NameDialog
        open={renaming !== null}
        onOpenChange={(o) => !o && setRenaming(null)}
        title="Rename snippet"
        label="Name"
        initial={renaming?.name ?? ''}
        confirmLabel="Rename"
        onSubmit={async (name) => {
          const s = await update.mutateAsync({ id: renaming!.id, name });
          onRenamed(s);
        }}
      />
      <ConfirmDialog
        open={deleting !== null}
        onOpenChange={(o) => !o && setDeleting(null)}
        title="Delete this snippet?"
        description={
          <>
            “{deleting?.name}” is removed for every admin. Tabs showing it keep their text as an
            unsaved draft.
          </>
        }
        confirmLabel="Delete snippet"
        destructive
        onConfirm={async () => {
          const id = deleting!.id;
          await remove.mutateAsync(id);
          onDeleted(id);
        }}
      />
    </div>
  );
}

function HistoryItem({ entry, onOpen }: { entry: HistoryEntry; onOpen: () => void }) {
  const ok = entry.status === 'success';
  return (
    <li>
      <button
        type="button"
        onClick={onOpen}
        title={entry.sql.length > 2000 ? `${entry.sql.slice(0, 2000)}…` : entry.sql}
        className="flex w-full cursor-pointer items-start gap-2 rounded-md px-2 py-1.5 text-left hover:bg-surface-2"
      >
        {ok ? (
          <CheckCircle2 className="mt-0.5 size-4 shrink-0 text-success" aria-label="Succeeded" />
        ) : (
          <XCircle className="mt-0.5 size-4 shrink-0 text-danger" aria-label="Failed" />
        )}
        <span className="min-w-0 flex-1">
          <span className="block truncate font-mono text-xs">{firstLine(entry.sql)}</span>
          {!ok && entry.errorMessage && (
            <span className="block truncate text-xs text-danger">{entry.errorMessage}</span>
          )}
          <span
            className="block text-[11px] text-muted tabular-nums"
            title={`${formatDateTime(entry.createdAt)} by ${entry.runBy}`}
          >
            {formatRelative(entry.createdAt)} · {entry.durationMs} ms
            {entry.rowCount !== null &&
              ` · ${formatCount(entry.rowCount)} ${entry.rowCount === 1 ? 'row' : 'rows'}`}
            {entry.mode === 'unrestricted' && ' · unrestricted'}
          </span>
        </span>
      </button>
    </li>
  );
}

export function HistoryPanel({
  status,
  offset,
  onChange,
  onOpen,
}: {
  status: HistoryStatus | undefined;
  offset: number;
  onChange: (next: { status?: HistoryStatus; offset?: number }) => void;
  onOpen: (e: HistoryEntry) => void;
}) {
  const history = useHistory(status, offset);
  const clear = useClearHistory();
  const [confirming, setConfirming] = useState(false);
  const page = history.data;
  return (
    <div className="flex min-h-0 flex-1 flex-col">
      <div className="flex items-center gap-2 p-3 pb-2">
        <Select
          aria-label="Filter runs by status"
          value={status ?? 'all'}
          onValueChange={(v) =>
            onChange({ status: v === 'all' ? undefined : (v as HistoryStatus), offset: undefined })
          }
          options={[
            { value: 'all', label: 'All runs' },
            { value: 'success', label: 'Succeeded' },
            { value: 'error', label: 'Failed' },
          ]}
        />
        <Button
          variant="outline"
          size="sm"
          className="h-8"
          onClick={() => setConfirming(true)}
          disabled={!page?.pagination.total}
        >
          <Trash2 aria-hidden /> Clear
        </Button>
      </div>
      <div className="min-h-0 flex-1 overflow-auto">
        {history.isLoading ? (
          <ListSkeleton />
        ) : history.error ? (
          <ErrorPanel
            className="m-3"
            error={history.error}
            title="Could not load the history"
            onRetry={() => void history.refetch()}
          />
        ) : !page?.data.length ? (
          <EmptyState
            icon={History}
            title={
              status ? `No ${status === 'error' ? 'failed' : 'successful'} runs` : 'No runs yet'
            }
            description="Every query run from here or the API is recorded; the newest 1000 are kept."
          />
        ) : (
          <ul aria-label="Run history" className="flex flex-col px-2 pb-2">
            {page.data.map((e) => (
              <HistoryItem key={e.id} entry={e} onOpen={() => onOpen(e)} />
            ))}
          </ul>
        )}
      </div>
      {page && page.pagination.total > 0 && (
        <div className="border-t border-border px-3 py-2">
          <Pagination
            offset={offset}
            limit={HISTORY_PAGE}
            total={page.pagination.total}
            pageRows={page.data.length}
            onOffsetChange={(o) => onChange({ status, offset: o || undefined })}
          />
        </div>
      )}
      <ConfirmDialog
        open={confirming}
        onOpenChange={setConfirming}
        title="Clear the run history?"
        description="Every recorded run is deleted, for every admin. Saved snippets stay."
        confirmLabel="Clear history"
        destructive
        onConfirm={async () => {
          await clear.mutateAsync();
          onChange({ status, offset: undefined });
        }}
      />
    </div>
  );
}

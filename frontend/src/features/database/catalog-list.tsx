/**
 * The catalog pages' common frame (functions, views, enums, extensions): a searchable list
 * (`?q=`) of one catalog listing, and the item picked (`?item=`) open in a side panel with its
 * definition. The list is what the catalog answers: small by nature, filtered here.
 */
import { useMemo } from 'react';
import { Search } from 'lucide-react';
import { DataTable, type ColumnDef } from '../../ui/data-table';
import { Input } from '../../ui/input';
import { Sheet, SheetContent } from '../../ui/sheet';
import { SectionHeader } from './section-header';
import type { CatalogSearch } from './search';

export interface CatalogListProps<T> {
  title: string;
  description: string;
  /** The list's accessible name, plural (e.g. "Functions"). */
  label: string;
  items: T[] | undefined;
  isLoading: boolean;
  error: unknown;
  onRetry: () => void;
  /** The columns after the name (which opens the item). */
  columns: ColumnDef<T, unknown>[];
  nameOf: (item: T) => string;
  /** Stable id of an item (`?item=`). */
  idOf: (item: T) => string;
  /** What `?q=` matches. */
  textOf: (item: T) => string;
  search: CatalogSearch;
  setSearch: (patch: Partial<CatalogSearch>) => void;
  empty: { icon: React.ComponentType<{ className?: string }>; title: string; description: string };
  /** The side panel's title and body for the open item. */
  detail: (item: T) => { title: string; description?: React.ReactNode; body: React.ReactNode };
  actions?: React.ReactNode;
}

export function CatalogList<T>(p: CatalogListProps<T>) {
  const q = p.search.q?.toLowerCase() ?? '';
  const rows = useMemo(
    () => p.items?.filter((i) => !q || p.textOf(i).toLowerCase().includes(q)),
    [p.items, q],
  );
  const columns = useMemo<ColumnDef<T, unknown>[]>(
    () => [
      {
        id: 'name',
        header: 'Name',
        cell: ({ row }) => (
          <button
            type="button"
            className="cursor-pointer truncate font-medium text-fg hover:text-primary hover:underline"
            onClick={(e) => {
              e.stopPropagation();
              p.setSearch({ item: p.idOf(row.original) });
            }}
          >
            {p.nameOf(row.original)}
          </button>
        ),
      },
      ...p.columns,
    ],
    [p.columns],
  );
  const open = p.search.item ? p.items?.find((i) => p.idOf(i) === p.search.item) : undefined;
  const detail = open ? p.detail(open) : undefined;
  return (
    <div className="flex flex-col gap-4">
      <SectionHeader title={p.title} description={p.description} actions={p.actions} />
      <div className="relative max-w-sm">
        <Search
          className="pointer-events-none absolute top-1/2 left-2.5 size-4 -translate-y-1/2 text-muted"
          aria-hidden
        />
        <Input
          aria-label={`Search ${p.label.toLowerCase()}`}
          placeholder={`Search ${p.label.toLowerCase()}…`}
          className="pl-8"
          value={p.search.q ?? ''}
          onChange={(e) => p.setSearch({ q: e.target.value || undefined })}
        />
      </div>
      <DataTable
        label={p.label}
        columns={columns}
        data={rows}
        isLoading={p.isLoading}
        error={p.error}
        onRetry={p.onRetry}
        getRowId={p.idOf}
        onRowClick={(i) => p.setSearch({ item: p.idOf(i) })}
        empty={
          q
            ? {
                icon: p.empty.icon,
                title: `No ${p.label.toLowerCase()} match “${p.search.q}”`,
                description: 'Try another name, or clear the search.',
              }
            : p.empty
        }
      />
      <Sheet open={Boolean(detail)} onOpenChange={(o) => !o && p.setSearch({ item: undefined })}>
        {detail && (
          <SheetContent title={detail.title} description={detail.description}>
            {detail.body}
          </SheetContent>
        )}
      </Sheet>
    </div>
  );
}

/** A definition (SQL) in the side panel. */
export function Definition({ sql }: { sql: string }) {
  return (
    <pre
      tabIndex={0}
      aria-label="Definition"
      className="overflow-auto rounded-md border border-border bg-surface-2 p-3 font-mono text-xs leading-relaxed whitespace-pre-wrap text-fg"
    >
      {sql}
    </pre>
  );
}

/** `schema.name`, the schema left out when it is public. */
export const qualifiedName = (schema: string, name: string) =>
  schema === 'public' ? name : `${schema}.${name}`;

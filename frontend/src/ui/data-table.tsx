/**
 * DataTable: TanStack Table for columns and sorting state, TanStack Virtual for rows, for lists
 * of one server page at a time (users, sessions, audit records...). Sorting and paging are the
 * caller's (kept in the URL, done by the server): pass `sort` + `onSortChange` and `pagination`.
 * For the table editor's editable grid use react-data-grid (lazy), not this.
 */
import { useRef } from 'react';
import { flexRender, getCoreRowModel, useReactTable, type ColumnDef } from '@tanstack/react-table';
import { useVirtualizer } from '@tanstack/react-virtual';
import { ArrowDown, ArrowUp, ArrowUpDown, Inbox } from 'lucide-react';
import { cn } from '../lib/cn';
import { EmptyState, Skeleton, type EmptyStateProps } from './misc';
import { ErrorPanel } from './error-panel';
import { Pagination, type PaginationProps } from './pagination';

export type { ColumnDef } from '@tanstack/react-table';

export interface SortState {
  id: string;
  desc: boolean;
}

export interface DataTableProps<T> {
  columns: ColumnDef<T, unknown>[];
  data: T[] | undefined;
  /** Accessible name of the table. */
  label: string;
  getRowId?: (row: T, index: number) => string;
  isLoading?: boolean;
  error?: unknown;
  onRetry?: () => void;
  empty?: EmptyStateProps;
  /** Server-side sort: column ids with `enableSorting: true` get a sortable header. */
  sort?: SortState;
  onSortChange?: (sort: SortState | undefined) => void;
  pagination?: Omit<PaginationProps, 'pageRows'>;
  onRowClick?: (row: T) => void;
  rowHeight?: number;
  /** Max height of the scrolling body (rows are virtualised inside it). */
  maxHeight?: number | string;
  className?: string;
}

/**
 * One empty array for "no rows yet": a new `[]` on every render makes TanStack Table reset its
 * state on every render, which loops until the tab stops responding.
 */
const NO_ROWS: never[] = [];

export function DataTable<T>({
  columns,
  data,
  label,
  getRowId,
  isLoading,
  error,
  onRetry,
  empty,
  sort,
  onSortChange,
  pagination,
  onRowClick,
  rowHeight = 40,
  maxHeight = 560,
  className,
}: DataTableProps<T>) {
  const table = useReactTable({
    data: data ?? NO_ROWS,
    columns,
    getRowId,
    getCoreRowModel: getCoreRowModel(),
    manualSorting: true,
    enableSortingRemoval: true,
    state: { sorting: sort ? [sort] : [] },
    onSortingChange: (updater) => {
      const next = typeof updater === 'function' ? updater(sort ? [sort] : []) : updater;
      onSortChange?.(next[0]);
    },
  });
  const scrollRef = useRef<HTMLDivElement>(null);
  const rows = table.getRowModel().rows;
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => rowHeight,
    overscan: 12,
  });
  const items = virtualizer.getVirtualItems();
  const padTop = items[0]?.start ?? 0;
  const padBottom = items.length ? virtualizer.getTotalSize() - items[items.length - 1]!.end : 0;
  const colCount = columns.length;

  let body: React.ReactNode;
  if (error) {
    body = (
      <tr>
        <td colSpan={colCount} className="p-4">
          <ErrorPanel
            error={error}
            onRetry={onRetry}
            title={`Could not load ${label.toLowerCase()}`}
          />
        </td>
      </tr>
    );
  } else if (isLoading || !data) {
    body = Array.from({ length: 5 }, (_, i) => (
      <tr key={i} className="border-b border-border">
        {columns.map((_c, j) => (
          <td key={j} className="px-3 py-2.5">
            <Skeleton className="h-4 w-3/4" />
          </td>
        ))}
      </tr>
    ));
  } else if (rows.length === 0) {
    body = (
      <tr>
        <td colSpan={colCount}>
          <EmptyState icon={Inbox} title={`No ${label.toLowerCase()}`} {...empty} />
        </td>
      </tr>
    );
  } else {
    body = (
      <>
        {padTop > 0 && (
          <tr aria-hidden>
            <td colSpan={colCount} style={{ height: padTop, padding: 0 }} />
          </tr>
        )}
        {items.map((vi) => {
          const row = rows[vi.index]!;
          return (
            <tr
              key={row.id}
              data-index={vi.index}
              style={{ height: rowHeight }}
              className={cn(
                'border-b border-border last:border-b-0',
                onRowClick && 'cursor-pointer hover:bg-surface-2',
              )}
              onClick={onRowClick ? () => onRowClick(row.original) : undefined}
            >
              {row.getVisibleCells().map((cell) => (
                <td key={cell.id} className="max-w-96 truncate px-3 py-2 align-middle">
                  {flexRender(cell.column.columnDef.cell, cell.getContext())}
                </td>
              ))}
            </tr>
          );
        })}
        {padBottom > 0 && (
          <tr aria-hidden>
            <td colSpan={colCount} style={{ height: padBottom, padding: 0 }} />
          </tr>
        )}
      </>
    );
  }

  return (
    <div className={cn('flex flex-col gap-2', className)}>
      {/* Focusable: once the rows overflow, keyboard users scroll the region too (axe). */}
      <div
        ref={scrollRef}
        role="region"
        aria-label={label}
        tabIndex={0}
        className="overflow-auto rounded-lg border border-border bg-surface focus-visible:outline-2 focus-visible:outline-offset-2"
        style={{ maxHeight }}
      >
        <table
          className="w-full border-collapse text-sm"
          aria-label={label}
          aria-busy={isLoading || undefined}
        >
          <thead className="sticky top-0 z-10 bg-surface-2">
            {table.getHeaderGroups().map((hg) => (
              <tr key={hg.id}>
                {hg.headers.map((h) => {
                  const sortable = h.column.getCanSort() && Boolean(onSortChange);
                  const dir =
                    sort?.id === h.column.id ? (sort.desc ? 'descending' : 'ascending') : undefined;
                  const content = h.isPlaceholder
                    ? null
                    : flexRender(h.column.columnDef.header, h.getContext());
                  return (
                    <th
                      key={h.id}
                      scope="col"
                      aria-sort={sortable ? (dir ?? 'none') : undefined}
                      className="border-b border-border px-3 py-2 text-left text-xs font-semibold whitespace-nowrap text-muted"
                      style={h.column.columnDef.size ? { width: h.getSize() } : undefined}
                    >
                      {sortable ? (
                        <button
                          type="button"
                          className="inline-flex cursor-pointer items-center gap-1 hover:text-fg"
                          onClick={h.column.getToggleSortingHandler()}
                        >
                          {content}
                          {dir === 'ascending' ? (
                            <ArrowUp className="size-3.5" aria-hidden />
                          ) : dir === 'descending' ? (
                            <ArrowDown className="size-3.5" aria-hidden />
                          ) : (
                            <ArrowUpDown className="size-3.5 opacity-50" aria-hidden />
                          )}
                        </button>
                      ) : (
                        content
                      )}
                    </th>
                  );
                })}
              </tr>
            ))}
          </thead>
          <tbody>{body}</tbody>
        </table>
      </div>
      {pagination && !error && <Pagination {...pagination} pageRows={data?.length} />}
    </div>
  );
}

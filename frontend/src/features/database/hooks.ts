/**
 * The Database area's queries and mutations: table statistics (catalog estimates, never
 * count(*)), a table's description, and pages of rows through the records API.
 */
import { useMemo } from 'react';
import { keepPreviousData, queryOptions, useQuery } from '@tanstack/react-query';
import { useNavigate } from '@tanstack/react-router';
import { Table2 } from 'lucide-react';
import type { z } from 'zod';
import type {
  databaseSchemaInfoSchema,
  describeTableResponseSchema,
  enumInfoSchema,
  tableStatsResponseSchema,
} from '@kiln/shared-schemas';
import { api, request } from '../../lib/api';
import { useRegisterCommands, type Command } from '../../lib/commands';
import { useApiMutation } from '../../lib/mutation';
import { queryKeys } from '../../lib/query';
import { defaultPageSize, type RowFilter, type TableSearch } from './search';

export type TableStatsResponse = z.infer<typeof tableStatsResponseSchema>;
export type TableStat = TableStatsResponse['data'][number];
export type TableDescription = z.infer<typeof describeTableResponseSchema>;
export type ColumnInfo = TableDescription['columns'][number];

/** Tables with estimated rows and sizes; `schema` absent: every exposed schema. */
export function useTableStats(schema?: string) {
  return useQuery({
    queryKey: queryKeys.database.tableStats(schema),
    queryFn: ({ signal }) =>
      api.get<TableStatsResponse>('/api/database/tables/stats', { schema }, signal),
  });
}

export const tableDescriptionQuery = (schema: string, table: string) =>
  queryOptions({
    queryKey: queryKeys.database.table(schema, table),
    queryFn: ({ signal }) =>
      api.get<TableDescription>(
        `/api/database/tables/${encodeURIComponent(table)}/schema`,
        { schema },
        signal,
      ),
  });

export function useTableDescription(schema: string, table: string) {
  return useQuery(tableDescriptionQuery(schema, table));
}

/** One palette entry per table of the exposed schemas while the Database area is open. */
export function useTablePaletteCommands(): void {
  const stats = useTableStats();
  const navigate = useNavigate();
  const commands = useMemo<Command[]>(
    () =>
      (stats.data?.data ?? []).map((t) => ({
        id: `table:${t.schemaName}.${t.tableName}`,
        group: 'Tables',
        label: t.schemaName === 'public' ? t.tableName : `${t.schemaName}.${t.tableName}`,
        keywords: ['table', t.schemaName],
        icon: Table2,
        run: () =>
          void navigate({
            to: '/database/tables/$table',
            params: { table: t.tableName },
            search: { schema: t.schemaName === 'public' ? undefined : t.schemaName },
          }),
      })),
    [stats.data, navigate],
  );
  useRegisterCommands('database', commands);
}

export type SchemaInfo = z.infer<typeof databaseSchemaInfoSchema>;

/** Every schema (Kiln's own marked protected, the exposed ones marked). */
export function useSchemas() {
  return useQuery({
    queryKey: [...queryKeys.database.all, 'schemas'],
    queryFn: ({ signal }) =>
      api.get<{ schemas: SchemaInfo[] }>('/api/database/schemas', undefined, signal),
    staleTime: 60_000,
  });
}

// ---- rows through the records API ----------------------------------------------------------------

export type Row = Record<string, unknown>;

export interface RowsQuery {
  schema: string;
  table: string;
  sort?: string;
  filter?: RowFilter[];
  limit: number;
  offset: number;
  /** Columns that order rows after `sort`, so pages are stable (the primary key). */
  tieBreak: string[];
}

export interface RowsPage {
  rows: Row[];
  /** Content-Range's total: exact below the server's threshold, the planner's estimate above. */
  total: number | undefined;
  /** Whether `total` is known exactly (small table, or the page ended before the limit). */
  exact: boolean;
}

const recordsPath = (table: string) => `/api/database/records/${encodeURIComponent(table)}`;

/** Accept-Profile / Content-Profile: the records API reads other exposed schemas by header. */
function profile(schema: string, write = false): Record<string, string> {
  if (schema === 'public') return {};
  return { [write ? 'Content-Profile' : 'Accept-Profile']: schema };
}

/** A filter's value in the records API's grammar (`in` takes a list, quoted). */
export function filterValue(f: RowFilter): string {
  if (f.op === 'in') {
    const inner = f.value.trim().replace(/^\(|\)$/g, '');
    const items = inner === '' ? [] : inner.split(',').map((v) => v.trim());
    return `(${items.map(quoteItem).join(',')})`;
  }
  return f.value;
}

/** A value inside a records API list, always double-quoted (commas, parentheses, quotes safe). */
export function quoteItem(v: string): string {
  return `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export function filterParams(filters: RowFilter[] | undefined, params: URLSearchParams): void {
  for (const f of filters ?? []) {
    params.append(f.column, `${f.not ? 'not.' : ''}${f.op}.${filterValue(f)}`);
  }
}

/** `0-99/1270`, `*\/0`, `0-99/*` → the total, when given. */
export function contentRangeTotal(header: string | null): number | undefined {
  const total = header?.split('/')[1];
  if (!total || total === '*') return undefined;
  const n = Number(total);
  return Number.isFinite(n) ? n : undefined;
}

export async function fetchRows(q: RowsQuery, signal?: AbortSignal): Promise<RowsPage> {
  const params = new URLSearchParams();
  params.set('select', '*');
  filterParams(q.filter, params);
  const order = [
    q.sort,
    ...q.tieBreak.filter((c) => !q.sort?.startsWith(`${c}.`)).map((c) => `${c}.asc`),
  ]
    .filter(Boolean)
    .join(',');
  if (order) params.set('order', order);
  params.set('limit', String(q.limit));
  params.set('offset', String(q.offset));
  let range: string | null = null;
  const rows = await request<Row[]>('GET', `${recordsPath(q.table)}?${params.toString()}`, {
    signal,
    headers: { Prefer: 'count=estimated', ...profile(q.schema) },
    onResponse: (res) => {
      range = res.headers.get('content-range');
    },
  });
  let total = contentRangeTotal(range);
  // The server counts exactly below its threshold; a short page tells the exact end too.
  let exact = total !== undefined && total <= 1000;
  if (rows.length < q.limit && (rows.length > 0 || q.offset === 0)) {
    total = q.offset + rows.length;
    exact = true;
  }
  return { rows, total, exact };
}

export const rowsQueryOptions = (q: RowsQuery) =>
  queryOptions({
    queryKey: [...queryKeys.database.rows(q.schema, q.table), q],
    queryFn: ({ signal }) => fetchRows(q, signal),
    staleTime: 5_000,
  });

export function useRows(q: RowsQuery) {
  return useQuery({ ...rowsQueryOptions(q), placeholderData: keepPreviousData });
}

/** The page of rows the table editor shows for its URL state (sort on a known column). */
export function rowsQueryOf(
  schema: string,
  table: string,
  desc: TableDescription,
  search: Pick<TableSearch, 'sort' | 'filter' | 'page' | 'size'>,
): RowsQuery {
  const size = search.size ?? defaultPageSize;
  const page = search.page ?? 1;
  const sortColumn = search.sort?.replace(/\.(asc|desc)$/, '');
  const known = desc.columns.some((c) => c.columnName === sortColumn);
  return {
    schema,
    table,
    sort: known ? search.sort : undefined,
    filter: search.filter,
    limit: size,
    offset: (page - 1) * size,
    tieBreak: desc.columns.filter((c) => c.isPrimaryKey).map((c) => c.columnName),
  };
}

/** An exact count (count(*) with the filters), run only when the admin asks for it. */
export function useExactCount(q: Pick<RowsQuery, 'schema' | 'table' | 'filter'>, enabled: boolean) {
  return useQuery({
    queryKey: [...queryKeys.database.rows(q.schema, q.table), 'exact-count', q.filter ?? []],
    enabled,
    queryFn: async ({ signal }) => {
      // One row read (the body is ignored), counted exactly: Content-Range `0-0/<count>`.
      const params = new URLSearchParams();
      filterParams(q.filter, params);
      params.set('limit', '1');
      let range: string | null = null;
      await request<unknown>('GET', `${recordsPath(q.table)}?${params.toString()}`, {
        signal,
        headers: { Prefer: 'count=exact', ...profile(q.schema) },
        onResponse: (res) => {
          range = res.headers.get('content-range');
        },
      });
      return contentRangeTotal(range) ?? 0;
    },
  });
}

/** The row's primary key as records API filters (`id=eq.5`). */
export function keyParams(pk: string[], row: Row): URLSearchParams {
  const params = new URLSearchParams();
  for (const c of pk) params.set(c, `eq.${String(row[c])}`);
  return params;
}

export function useUpdateCell(schema: string, table: string) {
  return useApiMutation({
    progress: 'Saving…',
    mutationFn: async (v: { pk: string[]; row: Row; column: string; value: unknown }) => {
      const rows = await request<Row[]>(
        'PATCH',
        `${recordsPath(table)}?${keyParams(v.pk, v.row).toString()}`,
        {
          body: { [v.column]: v.value },
          headers: { Prefer: 'return=representation', ...profile(schema, true) },
        },
      );
      if (rows.length === 0) {
        throw new Error('No row was updated: it may have been deleted or changed meanwhile');
      }
      return rows[0]!;
    },
    success: (_d, v) => `Saved ${v.column}`,
  });
}

export function useInsertRow(schema: string, table: string) {
  return useApiMutation({
    progress: 'Inserting the row…',
    mutationFn: (values: Row) =>
      request<Row[]>('POST', recordsPath(table), {
        body: values,
        headers: { Prefer: 'return=representation', ...profile(schema, true) },
      }),
    success: 'Row inserted',
    invalidate: [queryKeys.database.rows(schema, table), queryKeys.database.tableStats()],
  });
}

export function useDeleteRows(schema: string, table: string) {
  return useApiMutation({
    progress: 'Deleting rows…',
    mutationFn: async (v: { pk: string[]; rows: Row[] }) => {
      const params = new URLSearchParams();
      if (v.pk.length === 1) {
        const c = v.pk[0]!;
        params.set(c, `in.(${v.rows.map((r) => quoteItem(String(r[c]))).join(',')})`);
      } else {
        const each = v.rows.map(
          (r) => `and(${v.pk.map((c) => `${c}.eq.${quoteItem(String(r[c]))}`).join(',')})`,
        );
        params.set('or', `(${each.join(',')})`);
      }
      const deleted = await request<Row[]>('DELETE', `${recordsPath(table)}?${params.toString()}`, {
        headers: { Prefer: 'return=representation', ...profile(schema, true) },
      });
      return deleted.length;
    },
    success: (n) => (n === 1 ? 'Deleted 1 row' : `Deleted ${n} rows`),
    invalidate: [queryKeys.database.rows(schema, table)],
  });
}

export type EnumInfo = z.infer<typeof enumInfoSchema>;

/** Enums of every schema (values for enum columns' editors). */
export const enumsQuery = () =>
  queryOptions({
    queryKey: [...queryKeys.database.all, 'enums'],
    queryFn: ({ signal }) =>
      api.get<{ enums: EnumInfo[] }>('/api/database/enums', undefined, signal),
    staleTime: 60_000,
  });

export function useEnums() {
  return useQuery(enumsQuery());
}

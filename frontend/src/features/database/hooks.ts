/**
 * The Database area's queries and mutations: table statistics (catalog estimates, never
 * count(*)), a table's description, and pages of rows through the records API.
 */
import { useMemo } from 'react';
import { useQuery } from '@tanstack/react-query';
import { useNavigate } from '@tanstack/react-router';
import { Table2 } from 'lucide-react';
import type { z } from 'zod';
import type {
  databaseSchemaInfoSchema,
  describeTableResponseSchema,
  tableStatsResponseSchema,
} from '@kiln/shared-schemas';
import { api } from '../../lib/api';
import { useRegisterCommands, type Command } from '../../lib/commands';
import { queryKeys } from '../../lib/query';

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

export function useTableDescription(schema: string, table: string) {
  return useQuery({
    queryKey: queryKeys.database.table(schema, table),
    queryFn: ({ signal }) =>
      api.get<TableDescription>(
        `/api/database/tables/${encodeURIComponent(table)}/schema`,
        { schema },
        signal,
      ),
  });
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

/** The SQL editor's reads and writes: the schema for autocomplete, runs, snippets, history. */
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { z } from 'zod';
import type {
  clearedResponseSchema,
  deletedResponseSchema,
  listSqlHistoryResponseSchema,
  listSqlSnippetsResponseSchema,
  projectMetadataSchema,
  rawSqlResponseSchema,
  sqlSnippetSchema,
} from '@kiln/shared-schemas';
import { api } from '../../lib/api';
import { useApiMutation } from '../../lib/mutation';
import { queryKeys } from '../../lib/query';
import type { HistoryStatus } from './search';

export type RawSqlResult = z.infer<typeof rawSqlResponseSchema>;
export type StatementResult = RawSqlResult['statements'][number];
export type Snippet = z.infer<typeof sqlSnippetSchema>;
export type SnippetPage = z.infer<typeof listSqlSnippetsResponseSchema>;
export type HistoryPage = z.infer<typeof listSqlHistoryResponseSchema>;
export type HistoryEntry = HistoryPage['data'][number];
type ProjectMetadata = z.infer<typeof projectMetadataSchema>;

/** Tables of the exposed schemas with their columns: `{schema: {table: [{label, detail}]}}`. */
export type SchemaTree = Record<string, Record<string, { label: string; detail: string }[]>>;

export const HISTORY_PAGE = 20;

/** The exposed schemas' tables and columns (GET /api/metadata; no rows), for autocomplete. */
export function useSchemaTree() {
  return useQuery({
    queryKey: queryKeys.sql.schema(),
    staleTime: 60_000,
    queryFn: async ({ signal }) => {
      const meta = await api.get<ProjectMetadata>('/api/metadata', undefined, signal);
      const tree: SchemaTree = {};
      for (const s of meta.database.exposedSchemas) tree[s] = {};
      for (const t of meta.database.tables) {
        (tree[t.schemaName] ??= {})[t.tableName] = t.columns.map((c) => ({
          label: c.columnName,
          detail: c.type,
        }));
      }
      return tree;
    },
  });
}

/** POST /api/database/advance/rawsql. Errors are shown in the editor, so no toast here. */
export function useRunSql() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (query: string) =>
      api.post<RawSqlResult>('/api/database/advance/rawsql', { query }),
    // Every run is recorded in the history; DDL may change the schema autocomplete knows.
    onSettled: () => client.invalidateQueries({ queryKey: queryKeys.sql.all }),
  });
}

export function useSnippets(search: string) {
  return useQuery({
    queryKey: queryKeys.sql.snippets(search),
    queryFn: ({ signal }) =>
      api.get<SnippetPage>(
        '/api/database/sql/snippets',
        { search: search || undefined, limit: 200 },
        signal,
      ),
    placeholderData: keepPreviousData,
  });
}

export function useSnippet(id: string | undefined) {
  return useQuery({
    queryKey: queryKeys.sql.snippet(id ?? ''),
    enabled: Boolean(id),
    queryFn: ({ signal }) =>
      api.get<Snippet>(`/api/database/sql/snippets/${encodeURIComponent(id!)}`, undefined, signal),
  });
}

export function useCreateSnippet() {
  return useApiMutation({
    mutationFn: (body: { name: string; sql: string }) =>
      api.post<Snippet>('/api/database/sql/snippets', body),
    progress: 'Saving the snippet…',
    success: (s) => `Snippet “${s.name}” saved`,
    invalidate: [queryKeys.sql.all],
  });
}

export function useUpdateSnippet() {
  return useApiMutation({
    mutationFn: ({ id, ...body }: { id: string; name?: string; sql?: string }) =>
      api.patch<Snippet>(`/api/database/sql/snippets/${encodeURIComponent(id)}`, body),
    progress: 'Saving the snippet…',
    success: (s) => `Snippet “${s.name}” saved`,
    invalidate: [queryKeys.sql.all],
  });
}

export function useDeleteSnippet() {
  return useApiMutation({
    mutationFn: (id: string) =>
      api.delete<z.infer<typeof deletedResponseSchema>>(
        `/api/database/sql/snippets/${encodeURIComponent(id)}`,
      ),
    progress: 'Deleting the snippet…',
    invalidate: [queryKeys.sql.all],
  });
}

export function useHistory(status: HistoryStatus | undefined, offset: number) {
  return useQuery({
    queryKey: queryKeys.sql.history(status ?? 'all', offset),
    queryFn: ({ signal }) =>
      api.get<HistoryPage>(
        '/api/database/sql/history',
        { status, limit: HISTORY_PAGE, offset },
        signal,
      ),
    placeholderData: keepPreviousData,
  });
}

export function useClearHistory() {
  return useApiMutation({
    mutationFn: () =>
      api.delete<z.infer<typeof clearedResponseSchema>>('/api/database/sql/history'),
    progress: 'Clearing the history…',
    success: (r) => `History cleared (${r.deletedCount} ${r.deletedCount === 1 ? 'run' : 'runs'})`,
    invalidate: [queryKeys.sql.all],
  });
}

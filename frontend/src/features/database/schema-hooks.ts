/**
 * The Database area's schema reads and changes: table descriptions, the DDL previews, policies,
 * indexes, triggers, the catalog pages (functions, views, enums, extensions), migrations, import
 * and export. Keys live under `queryKeys.database.all`, so any change refreshes the whole area
 * (the table list's counts and RLS badges included).
 */
import { useMutation, useQueries, useQuery } from '@tanstack/react-query';
import type { z } from 'zod';
import type {
  alterPolicyRequestSchema,
  alterTableRequestSchema,
  alterTableResponseSchema,
  createPolicyRequestSchema,
  createTableRequestSchema,
  createTableResponseSchema,
  databaseFunctionInfoSchema,
  describeTableResponseSchema,
  dropPolicyResponseSchema,
  enumInfoSchema,
  exportRequestSchema,
  extensionInfoSchema,
  bulkUpsertResponseSchema,
  importResponseSchema,
  indexInfoSchema,
  listMigrationsResponseSchema,
  listTablesResponseSchema,
  migrationRequestSchema,
  migrationResultSchema,
  policyInfoSchema,
  tablePreviewResponseSchema,
  triggerInfoSchema,
  viewInfoSchema,
} from '@kiln/shared-schemas';
import { api, downloadFile, uploadWithProgress } from '../../lib/api';
import { useApiMutation } from '../../lib/mutation';
import { queryKeys } from '../../lib/query';

export type TableSummary = z.infer<typeof listTablesResponseSchema>[number];
export type TableDescription = z.infer<typeof describeTableResponseSchema>;
export type CreateTableBody = z.input<typeof createTableRequestSchema>;
export type AlterTableBody = z.input<typeof alterTableRequestSchema>;
export type TablePreview = z.infer<typeof tablePreviewResponseSchema>;
export type PolicyInfo = z.infer<typeof policyInfoSchema>;
export type CreatePolicyBody = z.input<typeof createPolicyRequestSchema>;
export type AlterPolicyBody = z.input<typeof alterPolicyRequestSchema>;
export type IndexInfo = z.infer<typeof indexInfoSchema>;
export type TriggerInfo = z.infer<typeof triggerInfoSchema>;
export type FunctionInfo = z.infer<typeof databaseFunctionInfoSchema>;
export type ViewInfo = z.infer<typeof viewInfoSchema>;
export type EnumInfo = z.infer<typeof enumInfoSchema>;
export type ExtensionInfo = z.infer<typeof extensionInfoSchema>;
export type Migration = z.infer<typeof listMigrationsResponseSchema>['migrations'][number];
export type MigrationBody = z.input<typeof migrationRequestSchema>;
export type MigrationResult = z.infer<typeof migrationResultSchema>;
export type ImportResult = z.infer<typeof importResponseSchema>;
export type UpsertReport = z.infer<typeof bulkUpsertResponseSchema>;
export type ExportBody = z.input<typeof exportRequestSchema>;

const DB = '/api/database';
const enc = encodeURIComponent;

export const schemaKeys = {
  all: queryKeys.database.all,
  tables: (schema?: string) => [...queryKeys.database.all, 'tables', schema ?? null] as const,
  catalog: (kind: string, schema?: string, table?: string) =>
    [...queryKeys.database.all, 'catalog', kind, schema ?? null, table ?? null] as const,
  migrations: () => [...queryKeys.database.all, 'migrations'] as const,
};

export function useTables(schema?: string) {
  return useQuery({
    queryKey: schemaKeys.tables(schema),
    queryFn: ({ signal }) => api.get<TableSummary[]>(`${DB}/tables`, { schema }, signal),
  });
}

/** A table's description (shares the cache of ./hooks.ts); nothing is asked while `table` is empty. */
export function useDescribe(schema: string, table: string) {
  return useQuery({
    queryKey: queryKeys.database.table(schema, table),
    queryFn: ({ signal }) =>
      api.get<TableDescription>(`${DB}/tables/${enc(table)}/schema`, { schema }, signal),
    enabled: Boolean(table),
  });
}

/** Descriptions of several tables at once (the diagram). */
export function useTableDescriptions(tables: string[], schema: string) {
  return useQueries({
    queries: tables.map((table) => ({
      queryKey: queryKeys.database.table(schema, table),
      queryFn: ({ signal }: { signal: AbortSignal }) =>
        api.get<TableDescription>(`${DB}/tables/${enc(table)}/schema`, { schema }, signal),
    })),
  });
}

type CatalogItem = {
  functions: FunctionInfo;
  views: ViewInfo;
  enums: EnumInfo;
  extensions: ExtensionInfo;
  indexes: IndexInfo;
  triggers: TriggerInfo;
  policies: PolicyInfo;
};

/** A catalog listing (`GET /api/database/<kind>?schema=&table=`), unwrapped. */
export function useCatalog<K extends keyof CatalogItem>(
  kind: K,
  opts: { schema?: string; table?: string } = {},
) {
  return useQuery({
    queryKey: schemaKeys.catalog(kind, opts.schema, opts.table),
    queryFn: async ({ signal }) => {
      const res = await api.get<Record<K, CatalogItem[K][]>>(
        `${DB}/${kind}`,
        { schema: opts.schema, table: opts.table },
        signal,
      );
      return res[kind];
    },
  });
}

// ---- tables --------------------------------------------------------------------------------

/** The SQL a create would run (rolled back on the server; errors as the real call). */
export function usePreviewCreate() {
  return useMutation({
    mutationFn: (body: CreateTableBody) => api.post<TablePreview>(`${DB}/tables/preview`, body),
  });
}

export function usePreviewAlter(table: string, schema?: string) {
  return useMutation({
    mutationFn: (body: AlterTableBody) =>
      api.post<TablePreview>(`${DB}/tables/${enc(table)}/schema/preview`, body, { schema }),
  });
}

export function useCreateTable(onSuccess?: (data: CreateTableRes) => void) {
  return useApiMutation({
    mutationFn: (body: CreateTableBody) => api.post<CreateTableRes>(`${DB}/tables`, body),
    progress: 'Creating the table…',
    invalidate: [schemaKeys.all],
    onSuccess,
  });
}
type CreateTableRes = z.infer<typeof createTableResponseSchema>;

export function useAlterTable(
  table: string,
  schema?: string,
  progress = 'Applying changes…',
  success?: string,
) {
  return useApiMutation({
    mutationFn: (body: AlterTableBody) =>
      api.patch<z.infer<typeof alterTableResponseSchema>>(
        `${DB}/tables/${enc(table)}/schema${schema ? `?schema=${enc(schema)}` : ''}`,
        body,
      ),
    progress,
    success,
    invalidate: [schemaKeys.all],
  });
}

// ---- policies ------------------------------------------------------------------------------

export function useCreatePolicy() {
  return useApiMutation({
    mutationFn: (body: CreatePolicyBody) => api.post<PolicyInfo>(`${DB}/policies`, body),
    progress: 'Creating the policy…',
    success: (p) => `Policy "${p?.policyName ?? ''}" created`,
    invalidate: [schemaKeys.all],
  });
}

export function useAlterPolicy(table: string, schema?: string) {
  return useApiMutation({
    mutationFn: ({ policy, body }: { policy: string; body: AlterPolicyBody }) =>
      api.patch<PolicyInfo>(
        `${DB}/policies/${enc(table)}/${enc(policy)}${schema ? `?schema=${enc(schema)}` : ''}`,
        body,
      ),
    progress: 'Saving the policy…',
    success: (p) => `Policy "${p.policyName}" saved`,
    invalidate: [schemaKeys.all],
  });
}

export function useDropPolicy(table: string, schema?: string) {
  return useApiMutation({
    mutationFn: (policy: string) =>
      api.delete<z.infer<typeof dropPolicyResponseSchema>>(
        `${DB}/policies/${enc(table)}/${enc(policy)}${schema ? `?schema=${enc(schema)}` : ''}`,
      ),
    progress: 'Deleting the policy…',
    invalidate: [schemaKeys.all],
  });
}

// ---- migrations, import, export ------------------------------------------------------------

export function useMigrations() {
  return useQuery({
    queryKey: schemaKeys.migrations(),
    queryFn: async ({ signal }) =>
      (
        await api.get<z.infer<typeof listMigrationsResponseSchema>>(
          `${DB}/migrations`,
          undefined,
          signal,
        )
      ).migrations,
  });
}

/** A dry run changes nothing: no toast, the result is shown in place. */
export function useDryRunMigration() {
  return useMutation({
    mutationFn: (body: MigrationBody) =>
      api.post<MigrationResult>(`${DB}/migrations/dry-run`, body),
  });
}

export function useApplyMigration(onSuccess?: (r: MigrationResult) => void) {
  return useApiMutation({
    mutationFn: (body: MigrationBody) => api.post<MigrationResult>(`${DB}/migrations`, body),
    progress: 'Applying the migration…',
    invalidate: [schemaKeys.all],
    onSuccess,
  });
}

export interface ImportInput {
  file: File;
  table?: string;
  schema?: string;
  truncate?: boolean;
  onProgress: (fraction: number) => void;
}

export function useImport(onSuccess?: (r: ImportResult) => void) {
  return useApiMutation({
    mutationFn: ({ file, table, schema, truncate, onProgress }: ImportInput) => {
      const form = new FormData();
      // Text parts first: the server reads them before the streamed file.
      if (table) form.append('table', table);
      if (schema) form.append('schema', schema);
      if (truncate) form.append('truncate', 'true');
      form.append('file', file);
      return uploadWithProgress<ImportResult>(`${DB}/advance/import`, form, onProgress);
    },
    progress: 'Importing…',
    invalidate: [schemaKeys.all],
    onSuccess,
  });
}

/** CSV/JSON rows inserted or updated by key, each failing row reported (bulk upsert). */
export function useBulkUpsert(onSuccess?: (r: UpsertReport) => void) {
  return useApiMutation({
    mutationFn: ({
      file,
      table,
      schema,
      upsertKey,
      onProgress,
    }: ImportInput & { upsertKey?: string }) => {
      const form = new FormData();
      if (table) form.append('table', table);
      if (schema) form.append('schema', schema);
      if (upsertKey) form.append('upsertKey', upsertKey);
      form.append('file', file);
      return uploadWithProgress<UpsertReport>(`${DB}/advance/bulk-upsert`, form, onProgress);
    },
    progress: 'Importing rows…',
    invalidate: [schemaKeys.all],
    onSuccess,
  });
}

export function useExport() {
  return useApiMutation({
    mutationFn: (body: ExportBody) =>
      downloadFile(`${DB}/advance/export`, body, `kiln-export.${body.format ?? 'sql'}`),
    progress: 'Preparing the export…',
    success: 'Export downloaded',
  });
}

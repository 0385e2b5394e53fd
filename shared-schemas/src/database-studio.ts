/**
 * The dashboard's database studio (admin only, under /api/database): the SQL editor's saved
 * snippets and run history, table statistics from the catalog, and the advisor's one-click fix.
 */
import { z } from 'zod';
import { paginationSchema } from './common.js';
import { advisorThresholdsSchema } from './database.js';

// ---- SQL snippets --------------------------------------------------------------------------------

export const sqlSnippetSchema = z.object({
  id: z.string(),
  name: z.string(),
  sql: z.string(),
  folder: z.string().nullable(),
  description: z.string().nullable(),
  /** The admin (email, or the credential kind for the API key) who saved it first / last. */
  createdBy: z.string(),
  updatedBy: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type SqlSnippet = z.infer<typeof sqlSnippetSchema>;

export const createSqlSnippetRequestSchema = z
  .object({
    name: z.string().trim().min(1, 'name is required').max(200),
    sql: z.string().max(1_000_000),
    folder: z.string().trim().min(1).max(200).nullish(),
    description: z.string().max(2000).nullish(),
  })
  .strict();

export const updateSqlSnippetRequestSchema = createSqlSnippetRequestSchema
  .partial()
  .strict()
  .refine((b) => Object.keys(b).length > 0, { message: 'nothing to change' });

export const sqlSnippetParamsSchema = z.object({ id: z.uuid('id: not a snippet id') });

/** `?folder=` (exact) and `?search=` (name, description or SQL contain it). */
export const listSqlSnippetsQuerySchema = z.object({
  folder: z.string().max(200).optional(),
  search: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});

export const listSqlSnippetsResponseSchema = z.object({
  data: z.array(sqlSnippetSchema),
  pagination: paginationSchema,
});

export const deletedResponseSchema = z.object({ success: z.literal(true), message: z.string() });

// ---- SQL history -------------------------------------------------------------------------------

export const sqlHistoryEntrySchema = z.object({
  id: z.number().int(),
  sql: z.string(),
  mode: z.enum(['restricted', 'unrestricted']),
  status: z.enum(['success', 'error']),
  durationMs: z.number().int(),
  /** Rows of the last statement that returned or changed rows (null: none did). */
  rowCount: z.number().int().nullable(),
  /** For failures: the API's error code, its message and PostgreSQL's 1-based position. */
  errorCode: z.string().nullable(),
  errorMessage: z.string().nullable(),
  errorPosition: z.number().int().nullable(),
  runBy: z.string(),
  createdAt: z.string(),
});
export type SqlHistoryEntry = z.infer<typeof sqlHistoryEntrySchema>;

export const listSqlHistoryQuerySchema = z.object({
  status: z.enum(['success', 'error']).optional(),
  search: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});

export const listSqlHistoryResponseSchema = z.object({
  data: z.array(sqlHistoryEntrySchema),
  pagination: paginationSchema,
});

export const clearedResponseSchema = z.object({ deletedCount: z.number().int() });

// ---- table statistics ------------------------------------------------------------------------

/** `GET /api/database/tables/stats`: catalog figures per table, never a count(*). */
export const tableStatsSchema = z.object({
  schemaName: z.string(),
  tableName: z.string(),
  kind: z.enum(['table', 'view', 'materialized_view', 'partitioned_table', 'foreign_table']),
  /**
   * PostgreSQL's estimate (pg_class.reltuples; for a partitioned table, the sum over its
   * partitions). Null when the table was never analyzed or vacuumed: the number is unknown.
   */
  estimatedRows: z.number().int().nullable(),
  /** Heap, indexes and TOAST, in bytes (0 for views). */
  totalBytes: z.number().int(),
  tableBytes: z.number().int(),
  indexBytes: z.number().int(),
  rlsEnabled: z.boolean(),
  rlsForced: z.boolean(),
  policyCount: z.number().int(),
  /** Whether the schema is exposed through the records API (PGRST_DB_SCHEMAS). */
  exposed: z.boolean(),
  hasPrimaryKey: z.boolean(),
  lastAnalyzedAt: z.string().nullable(),
});
export type TableStats = z.infer<typeof tableStatsSchema>;

export const tableStatsQuerySchema = z.object({ schema: z.string().max(63).optional() });

export const tableStatsResponseSchema = z.object({
  data: z.array(tableStatsSchema),
  /** The schemas the records API exposes. */
  exposedSchemas: z.array(z.string()),
});

// ---- advisor fix -------------------------------------------------------------------------------

export const advisorFixRequestSchema = z
  .object({ id: z.string().min(1).max(1000) })
  .extend(advisorThresholdsSchema.shape)
  .strict();

/** `POST /api/database/advisor/fix`: the fix ran; `fixed`: the finding is gone on a fresh look. */
export const advisorFixResponseSchema = z.object({
  id: z.string(),
  rule: z.string(),
  fixSql: z.string(),
  fixed: z.boolean(),
  message: z.string(),
});

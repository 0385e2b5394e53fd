import { z } from 'zod';
import { paginationSchema } from './common.js';

/** Column types admins can pick by name; any PostgreSQL type name is accepted too. */
export const FRIENDLY_TYPES = {
  string: 'text',
  integer: 'integer',
  bigint: 'bigint',
  float: 'double precision',
  decimal: 'numeric',
  boolean: 'boolean',
  datetime: 'timestamptz',
  date: 'date',
  time: 'time',
  uuid: 'uuid',
  json: 'jsonb',
  file: 'jsonb',
} as const;
export type FriendlyType = keyof typeof FRIENDLY_TYPES;

export const referentialActionSchema = z.enum([
  'CASCADE',
  'SET NULL',
  'SET DEFAULT',
  'RESTRICT',
  'NO ACTION',
]);

export const columnDefinitionSchema = z.object({
  columnName: z.string({ error: 'columnName is required' }),
  type: z.string({ error: 'type is required' }).min(1, 'type is required').max(100),
  isNullable: z.boolean().default(true),
  isUnique: z.boolean().default(false),
  isPrimaryKey: z.boolean().optional(),
  /** A literal value, or one of now(), gen_random_uuid(), current_date, auth.uid()… */
  defaultValue: z.string().max(1000).nullable().optional(),
});
export type ColumnDefinition = z.infer<typeof columnDefinitionSchema>;

export const foreignKeyDefinitionSchema = z.object({
  constraintName: z.string().optional(),
  referenceTable: z.string({ error: 'referenceTable is required' }).min(1),
  referenceSchema: z.string().optional(),
  referenceColumns: z
    .array(z.object({ sourceColumn: z.string().min(1), referenceColumn: z.string().min(1) }))
    .min(1, 'at least one column mapping is required')
    .max(32),
  onDelete: referentialActionSchema.default('NO ACTION'),
  onUpdate: referentialActionSchema.default('NO ACTION'),
});
export type ForeignKeyDefinition = z.infer<typeof foreignKeyDefinitionSchema>;

export const createTableRequestSchema = z.object({
  tableName: z.string({ error: 'tableName is required' }),
  schemaName: z.string().optional(),
  columns: z.array(columnDefinitionSchema).max(1600).default([]),
  foreignKeys: z.array(foreignKeyDefinitionSchema).max(100).optional(),
  /**
   * Row-level security, on unless turned off explicitly: a new table answers no one but admins
   * until policies say who may read and write it (`false` makes it open to the anon key).
   */
  rlsEnabled: z.boolean().default(true),
  /** Add `id` (uuid primary key), `created_at` and `updated_at` (kept current by a trigger). */
  autoFields: z.boolean().default(true),
});
export type CreateTableRequest = z.infer<typeof createTableRequestSchema>;

export const updateColumnSchema = z.object({
  columnName: z.string(),
  newColumnName: z.string().optional(),
  type: z.string().min(1).max(100).optional(),
  /** SQL expression used to convert existing values when the type changes (defaults to a cast). */
  using: z.string().max(1000).optional(),
  defaultValue: z.string().max(1000).nullable().optional(),
  isNullable: z.boolean().optional(),
  isUnique: z.boolean().optional(),
});

export const indexDefinitionSchema = z.object({
  indexName: z.string().optional(),
  columns: z.array(z.string()).min(1).max(32),
  unique: z.boolean().default(false),
  method: z.enum(['btree', 'hash', 'gin', 'gist', 'brin']).default('btree'),
});

export const alterTableRequestSchema = z
  .object({
    addColumns: z.array(columnDefinitionSchema).max(1600).optional(),
    dropColumns: z.array(z.string()).max(1600).optional(),
    updateColumns: z.array(updateColumnSchema).max(1600).optional(),
    addForeignKeys: z.array(foreignKeyDefinitionSchema).max(100).optional(),
    dropForeignKeys: z.array(z.string()).max(100).optional(),
    addUniqueConstraints: z
      .array(
        z.object({
          constraintName: z.string().optional(),
          columns: z.array(z.string()).min(1).max(32),
        }),
      )
      .max(100)
      .optional(),
    dropConstraints: z.array(z.string()).max(100).optional(),
    addIndexes: z.array(indexDefinitionSchema).max(100).optional(),
    dropIndexes: z.array(z.string()).max(100).optional(),
    renameTable: z.object({ newTableName: z.string() }).optional(),
    rlsEnabled: z.boolean().optional(),
  })
  .strict();
export type AlterTableRequest = z.infer<typeof alterTableRequestSchema>;

export const policyCommandSchema = z.enum(['ALL', 'SELECT', 'INSERT', 'UPDATE', 'DELETE']);
export const policyRoleSchema = z.enum(['public', 'anon', 'authenticated', 'project_admin']);

export const createPolicyRequestSchema = z.object({
  tableName: z.string(),
  schemaName: z.string().optional(),
  policyName: z.string(),
  command: policyCommandSchema.default('ALL'),
  roles: z.array(policyRoleSchema).min(1).default(['public']),
  permissive: z.boolean().default(true),
  /** SQL boolean expression for existing rows (USING). */
  using: z.string().max(10_000).optional(),
  /** SQL boolean expression for new rows (WITH CHECK). */
  withCheck: z.string().max(10_000).optional(),
});

export const alterPolicyRequestSchema = z
  .object({
    newPolicyName: z.string().optional(),
    roles: z.array(policyRoleSchema).min(1).optional(),
    using: z.string().max(10_000).optional(),
    withCheck: z.string().max(10_000).optional(),
  })
  .strict();

export const rawSqlRequestSchema = z.object({
  query: z.string({ error: 'query is required' }).min(1, 'query is required').max(5_000_000),
  params: z.array(z.unknown()).max(10_000).optional(),
  /** Statement timeout for this call, in ms (capped by RAW_SQL_MAX_TIMEOUT_MS). */
  timeoutMs: z.number().int().min(1).optional(),
});

export const migrationRequestSchema = z
  .object({
    version: z
      .string()
      .regex(/^\d{1,64}$/, 'must be a numeric string such as 0001 or 20260418091500'),
    name: z.string().min(1).max(200),
    sql: z.string().min(1).max(5_000_000).optional(),
    statements: z.array(z.string().min(1)).min(1).max(10_000).optional(),
  })
  .refine((m) => m.sql !== undefined || m.statements !== undefined, {
    message: 'sql (or statements) is required',
    path: ['sql'],
  });

export const exportRequestSchema = z.object({
  tables: z.array(z.string()).max(1000).optional(),
  schemaName: z.string().optional(),
  format: z.enum(['sql', 'json']).default('sql'),
  includeSchema: z.boolean().default(true),
  includeData: z.boolean().default(true),
});
export type ExportRequest = z.infer<typeof exportRequestSchema>;

/** One finding of the database advisor (`GET /api/database/advisor`). */
export const advisorFindingSchema = z.object({
  /**
   * `rls_disabled`: a table in an exposed schema that anon or signed-in users may use, without
   * row-level security. `view_bypasses_rls`: a view those roles may read that runs with its
   * owner's rights. `materialized_view_exposed`: a materialized view they may read (no RLS
   * exists for those). `rls_no_policy`: RLS is on and no policy exists (only admins get in).
   * `function_bypasses_rls`: a SECURITY DEFINER function those roles may call through the RPC
   * endpoint (`table` holds its signature, `privileges` EXECUTE).
   */
  kind: z.enum([
    'rls_disabled',
    'view_bypasses_rls',
    'materialized_view_exposed',
    'rls_no_policy',
    'function_bypasses_rls',
    // Since the dashboard's advisor (see `rule`):
    'function_search_path_mutable',
    'extension_in_exposed_schema',
    'anon_can_write',
    'policy_per_row_auth_call',
    'policy_column_unindexed',
    'foreign_key_unindexed',
    'unused_index',
    'duplicate_index',
    'no_primary_key',
    'table_never_analyzed',
    'sequence_near_exhaustion',
    'auth_users_exposed',
    'policy_allows_any_write',
    'policy_exists_rls_disabled',
    'multiple_permissive_policies',
    // Runtime health, read from the statistics and pg_stat_activity (thresholds: see
    // advisorQuerySchema):
    'table_bloat_dead_tuples',
    'idle_in_transaction_sessions',
    'long_running_queries',
    'low_cache_hit_ratio',
    'connections_near_limit',
    'sessions_blocked_by_locks',
    'table_statistics_stale',
    // Kiln's auth settings (auth.config; the fix is the same change as PUT /api/auth/config):
    'auth_password_min_length',
    'auth_email_verification_off',
    'auth_redirect_url_insecure',
  ]),
  /** Stable across calls while the problem lasts: `<rule>:<schema>.<object>` (for the fix). */
  id: z.string(),
  /** The rule that found it (the same as `kind`). */
  rule: z.string(),
  severity: z.enum(['critical', 'warning', 'info']),
  category: z.enum(['security', 'performance', 'health']),
  /** A short headline, the same for every finding of a rule. */
  title: z.string(),
  /** Why it matters. */
  why: z.string(),
  /** What the finding is about (`table` in `schema`: the table it concerns, or the object). */
  object: z.object({
    type: z.enum([
      'table',
      'view',
      'function',
      'extension',
      'policy',
      'column',
      'constraint',
      'index',
      'sequence',
      // The database as a whole (sessions, connections, cache): `schema.name` names the
      // statistics view it was read from, e.g. pg_catalog.pg_stat_activity.
      'database',
      // An auth setting: `schema` auth, `name` config.<setting of GET /api/auth/config>.
      'setting',
    ]),
    schema: z.string(),
    name: z.string(),
    table: z.string().optional(),
  }),
  /** The exact SQL that fixes it (`POST /api/database/advisor/fix` runs it), or null: a decision is needed. */
  fixSql: z.string().nullable(),
  /**
   * False when the fix cannot run inside a transaction (VACUUM): `POST /advisor/fix` runs it as a
   * statement of its own. Absent: it runs in one transaction.
   */
  transactional: z.boolean().optional(),
  schema: z.string(),
  table: z.string(),
  /** The API roles that reach the object through the records or RPC API (`anon`, `authenticated`). */
  exposedTo: z.array(z.enum(['anon', 'authenticated'])),
  /** What each of those roles may do (SELECT, INSERT, UPDATE, DELETE). */
  privileges: z.record(z.string(), z.array(z.string())),
  message: z.string(),
  remediation: z.string(),
});
export type AdvisorFinding = z.infer<typeof advisorFindingSchema>;

// ---- requests: parameters, queries, uploads ----------------------------------------------------

/** `?schema=` (an exposed schema; the first one by default) and `?table=` (filters the list). */
export const databaseObjectsQuerySchema = z.object({
  schema: z.string().max(63).optional(),
  table: z.string().max(63).optional(),
});

/** `DELETE /tables/:table?cascade=true` (`true` or `1`; anything else is no). */
export const dropTableQuerySchema = databaseObjectsQuerySchema.extend({
  cascade: z
    .string()
    .optional()
    .catch(undefined)
    .transform((v) => v === 'true' || v === '1'),
});

export const tableParamsSchema = z.object({ table: z.string() });
export const policyParamsSchema = z.object({ table: z.string(), policy: z.string() });

/** `POST /advance/import` (multipart/form-data, streamed; documents the parts). */
export const importUploadSchema = z.object({
  file: z.string().meta({ format: 'binary', description: 'An .sql, .csv or .json file' }),
  format: z.enum(['sql', 'csv', 'json']).optional(),
  /** CSV and JSON: the table the rows go to (and its schema). */
  table: z.string().optional(),
  schema: z.string().optional(),
  /** CSV and JSON: empty the table first (`true` or `1`). */
  truncate: z.string().optional(),
});

/** `POST /advance/bulk-upsert` (multipart/form-data, streamed; documents the parts). */
export const bulkUpsertUploadSchema = z.object({
  file: z.string().meta({ format: 'binary', description: 'A .csv or .json file' }),
  format: z.enum(['csv', 'json']).optional(),
  table: z.string(),
  schema: z.string().optional(),
  /** Comma-separated columns to match rows on (the primary key by default). */
  upsertKey: z.string().optional(),
});

// ---- responses: what Kiln answers today ---------------------------------------------------------

export const tableSummarySchema = z.object({
  schemaName: z.string(),
  tableName: z.string(),
  kind: z.enum(['table', 'view', 'materialized_view', 'partitioned_table', 'foreign_table']),
  rlsEnabled: z.boolean(),
  /** PostgreSQL's estimate (pg_class.reltuples), not a count. */
  recordCount: z.number(),
  columnCount: z.number(),
  sizeBytes: z.number(),
  comment: z.string().nullable(),
});
export const listTablesResponseSchema = z.array(tableSummarySchema);

export const columnInfoSchema = z.object({
  columnName: z.string(),
  type: z.string(),
  isNullable: z.boolean(),
  isUnique: z.boolean(),
  isPrimaryKey: z.boolean(),
  /** Absent when the column has no default. */
  defaultValue: z.string().optional(),
  isIdentity: z.boolean(),
  isGenerated: z.boolean(),
  comment: z.string().nullable(),
});

export const foreignKeyInfoSchema = z.object({
  constraintName: z.string(),
  referenceSchema: z.string(),
  referenceTable: z.string(),
  referenceColumns: z.array(z.object({ sourceColumn: z.string(), referenceColumn: z.string() })),
  onDelete: z.string(),
  onUpdate: z.string(),
});

export const constraintInfoSchema = z.object({
  constraintName: z.string(),
  /** PRIMARY KEY, UNIQUE, FOREIGN KEY, CHECK, EXCLUDE. */
  type: z.string(),
  definition: z.string(),
});

export const databaseSchemaInfoSchema = z.object({
  name: z.string(),
  owner: z.string(),
  /** One of Kiln's own schemas (system, auth, storage…). */
  isProtected: z.boolean(),
  /** Served by the records API. */
  isExposed: z.boolean(),
});

export const indexInfoSchema = z.object({
  schemaName: z.string(),
  tableName: z.string(),
  indexName: z.string(),
  indexDef: z.string(),
  isUnique: z.boolean(),
  isPrimary: z.boolean(),
});

export const policyInfoSchema = z.object({
  schemaName: z.string(),
  tableName: z.string(),
  policyName: z.string(),
  cmd: z.string(),
  roles: z.array(z.string()),
  permissive: z.boolean(),
  qual: z.string().nullable(),
  withCheck: z.string().nullable(),
});

export const triggerInfoSchema = z.object({
  schemaName: z.string(),
  tableName: z.string(),
  triggerName: z.string(),
  actionTiming: z.string(),
  /** `INSERT OR UPDATE`… */
  eventManipulation: z.string(),
  actionOrientation: z.string(),
  actionCondition: z.string().nullable(),
  actionStatement: z.string(),
});

export const databaseFunctionInfoSchema = z.object({
  schemaName: z.string(),
  functionName: z.string(),
  arguments: z.string(),
  returns: z.string(),
  kind: z.string(),
  volatility: z.string(),
  securityDefiner: z.boolean(),
  functionDef: z.string(),
});

export const viewInfoSchema = z.object({
  schemaName: z.string(),
  viewName: z.string(),
  materialized: z.boolean(),
  definition: z.string(),
});

export const enumInfoSchema = z.object({
  schemaName: z.string(),
  enumName: z.string(),
  values: z.array(z.string()),
});

export const extensionInfoSchema = z.object({
  name: z.string(),
  defaultVersion: z.string().nullable(),
  installedVersion: z.string().nullable(),
  installed: z.boolean(),
  comment: z.string().nullable(),
});

export const roleInfoSchema = z.object({
  roleName: z.string(),
  canLogin: z.boolean(),
  bypassRls: z.boolean(),
  superuser: z.boolean(),
  memberOf: z.array(z.string()),
});

export const grantInfoSchema = z.object({
  schemaName: z.string(),
  tableName: z.string(),
  grantee: z.string(),
  privileges: z.array(z.string()),
});

/**
 * A catalog list as answered: the items under the name of what they are (`GET /indexes` →
 * `{indexes: [...]}`), as InsForge wraps its lists.
 */
export function catalogListSchema<K extends string, T extends z.ZodType>(key: K, item: T) {
  return z.object({ [key]: z.array(item) } as { [P in K]: z.ZodArray<T> });
}

export const describeTableResponseSchema = tableSummarySchema.extend({
  columns: z.array(columnInfoSchema),
  foreignKeys: z.array(foreignKeyInfoSchema),
  constraints: z.array(constraintInfoSchema),
  indexes: z.array(indexInfoSchema),
  policies: z.array(policyInfoSchema),
  triggers: z.array(triggerInfoSchema),
});

export const createTableResponseSchema = z.object({
  schemaName: z.string(),
  tableName: z.string(),
  columns: z.array(columnInfoSchema),
  /** The automatic columns added (`id`, `created_at`, `updated_at`), if any. */
  autoFields: z.array(z.string()),
  rlsEnabled: z.boolean(),
  message: z.string(),
  nextActions: z.string(),
});

export const alterTableResponseSchema = z.object({
  schemaName: z.string(),
  tableName: z.string(),
  /** What was done, in order (one line per change). */
  operations: z.array(z.string()),
  message: z.string(),
});

export const dropTableResponseSchema = z.object({
  schemaName: z.string(),
  tableName: z.string(),
  message: z.string(),
  nextActions: z.string(),
});

export const dropPolicyResponseSchema = z.object({ message: z.string() });

/**
 * What the runtime rules count as a problem; the defaults suit production, a smaller value shows
 * more (the same values go to `POST /advisor/fix`, which finds the finding again with them).
 */
export const advisorThresholdsSchema = z.object({
  /** Sessions idle inside a transaction for longer than this (default 300). */
  idleInTransactionSeconds: z.coerce.number().int().min(1).max(86_400).optional(),
  /** Statements running for longer than this (default 300). */
  longRunningSeconds: z.coerce.number().int().min(1).max(86_400).optional(),
  /** Sessions waiting for a lock for longer than this (default 60). */
  lockWaitSeconds: z.coerce.number().int().min(1).max(86_400).optional(),
  /** Client connections at or above this share of max_connections, in percent (default 80). */
  connectionsUsedPercent: z.coerce.number().min(1).max(100).optional(),
  /** Buffer cache hit ratio below this, in percent (default 95). */
  cacheHitPercent: z.coerce.number().min(1).max(100).optional(),
});
export type AdvisorThresholds = z.infer<typeof advisorThresholdsSchema>;

/** `GET /api/database/advisor`: `?schema=` (one exposed schema) plus the runtime thresholds. */
export const advisorQuerySchema = databaseObjectsQuerySchema.extend(advisorThresholdsSchema.shape);

export const advisorResponseSchema = z.object({
  data: z.array(advisorFindingSchema),
  pagination: paginationSchema,
});

const sqlNoticeSchema = z.object({
  severity: z.string(),
  message: z.string(),
  detail: z.string().optional(),
  hint: z.string().optional(),
});

const sqlFieldSchema = z.object({
  name: z.string(),
  dataTypeID: z.number(),
  /** The type's name (`int4`, `text`…). */
  dataType: z.string().optional(),
});

export const sqlStatementResultSchema = z.object({
  command: z.string(),
  rowCount: z.number().nullable(),
  rows: z.array(z.record(z.string(), z.unknown())),
  fields: z.array(sqlFieldSchema),
  /** More rows than a statement may return (10 000): the rest were counted, not sent. */
  truncated: z.boolean().optional(),
  /** The statement's own time, in ms (from the previous statement's end). */
  durationMs: z.number().optional(),
});

/** `POST /advance/rawsql[/unrestricted]`: the last statement that returned rows, and all. */
export const rawSqlResponseSchema = z.object({
  rows: z.array(z.record(z.string(), z.unknown())),
  rowCount: z.number().nullable(),
  fields: z.array(sqlFieldSchema),
  statements: z.array(sqlStatementResultSchema),
  notices: z.array(sqlNoticeSchema),
  mode: z.enum(['restricted', 'unrestricted']),
  /** Wall time of the whole run (all statements, in their transaction), in ms. */
  durationMs: z.number().int().optional(),
});

/** An applied migration (InsForge's fields, then Kiln's). */
export const migrationSchema = z.object({
  version: z.string(),
  name: z.string(),
  /** The SQL as recorded: one text (statements sent as a list are joined). */
  statements: z.array(z.string()),
  /** When it was applied. */
  createdAt: z.string(),
  checksum: z.string(),
  appliedBy: z.string().nullable(),
  sql: z.string(),
});

/** `GET /migrations`: every applied migration, oldest first. */
export const listMigrationsResponseSchema = z.object({
  migrations: z.array(migrationSchema),
});

/** `POST /migrations` (applied) and `/migrations/dry-run` (run and rolled back). */
export const migrationResultSchema = z.object({
  message: z.string(),
  version: z.string(),
  name: z.string(),
  /** When it was recorded as applied (a dry run: when it ran). */
  createdAt: z.string(),
  checksum: z.string(),
  dryRun: z.boolean(),
  applied: z.boolean(),
  statements: z.array(z.object({ command: z.string(), rowCount: z.number().nullable() })),
  notices: z.array(sqlNoticeSchema),
  /** Tables and columns of the exposed schemas before and after (`schema.table[.column …]`). */
  changes: z.object({
    createdTables: z.array(z.string()),
    droppedTables: z.array(z.string()),
    addedColumns: z.array(z.string()),
    droppedColumns: z.array(z.string()),
    changedColumns: z.array(z.string()),
  }),
});

export const importResponseSchema = z.object({
  success: z.literal(true),
  message: z.string(),
  filename: z.string(),
  fileSize: z.number(),
  format: z.enum(['sql', 'csv', 'json']),
  tables: z.array(z.string()),
  rowsImported: z.number(),
});

export const bulkUpsertResponseSchema = z.object({
  /** No row failed. */
  success: z.boolean(),
  message: z.string(),
  filename: z.string(),
  table: z.string(),
  totalRecords: z.number(),
  inserted: z.number(),
  updated: z.number(),
  failed: z.number(),
  /** The first failures (row number from 1, and why). */
  errors: z.array(z.object({ row: z.number(), message: z.string() })),
  rowsAffected: z.number(),
});

import { z } from 'zod';

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
  ]),
  severity: z.enum(['critical', 'warning', 'info']),
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

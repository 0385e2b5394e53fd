/**
 * Catalog queries for the dashboard and the admin API, one function per object kind. Each takes
 * a queryable (pool or transaction) and the schemas to look in.
 */
import type pg from 'pg';

type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

/** Schemas Kiln keeps for itself (never user tables). */
export const SYSTEM_SCHEMAS = ['system', 'auth', 'storage', 'realtime', 'functions', 'ai', 'logs'];

export async function listSchemas(db: Queryable, exposed: string[]) {
  const { rows } = await db.query<{ name: string; owner: string }>(
    `SELECT n.nspname AS name, pg_get_userbyid(n.nspowner) AS owner
     FROM pg_namespace n
     WHERE n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'
     ORDER BY n.nspname`,
  );
  return rows.map((r) => ({
    name: r.name,
    owner: r.owner,
    isProtected: SYSTEM_SCHEMAS.includes(r.name),
    isExposed: exposed.includes(r.name),
  }));
}

export interface TableSummary {
  schemaName: string;
  tableName: string;
  kind: 'table' | 'view' | 'materialized_view' | 'partitioned_table' | 'foreign_table';
  rlsEnabled: boolean;
  recordCount: number;
  columnCount: number;
  sizeBytes: number;
  comment: string | null;
}

export async function listTables(
  db: Queryable,
  schemas: string[],
  kinds = ['r', 'p'],
): Promise<TableSummary[]> {
  const { rows } = await db.query<{
    schema: string;
    name: string;
    kind: string;
    rls: boolean;
    estimate: number;
    columns: number;
    size: string;
    comment: string | null;
  }>(
    `SELECT n.nspname AS schema, c.relname AS name, c.relkind AS kind, c.relrowsecurity AS rls,
            greatest(c.reltuples, 0)::bigint::float8 AS estimate,
            (SELECT count(*)::int FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS columns,
            pg_total_relation_size(c.oid)::text AS size, obj_description(c.oid, 'pg_class') AS comment
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = ANY($1) AND c.relkind = ANY($2::char[])
     ORDER BY n.nspname, c.relname`,
    [schemas, kinds],
  );
  const kindName = {
    r: 'table',
    p: 'partitioned_table',
    v: 'view',
    m: 'materialized_view',
    f: 'foreign_table',
  } as const;
  return rows.map((r) => ({
    schemaName: r.schema,
    tableName: r.name,
    kind: kindName[r.kind as keyof typeof kindName] ?? 'table',
    rlsEnabled: r.rls,
    recordCount: Math.round(r.estimate),
    columnCount: r.columns,
    sizeBytes: Number(r.size),
    comment: r.comment,
  }));
}

export interface ColumnInfo {
  columnName: string;
  type: string;
  isNullable: boolean;
  isUnique: boolean;
  isPrimaryKey: boolean;
  defaultValue: string | null;
  isIdentity: boolean;
  isGenerated: boolean;
  comment: string | null;
}

export async function listColumns(
  db: Queryable,
  schema: string,
  table: string,
): Promise<ColumnInfo[]> {
  const { rows } = await db.query<{
    name: string;
    type: string;
    notnull: boolean;
    default_expr: string | null;
    identity: string;
    generated: string;
    is_pk: boolean;
    is_unique: boolean;
    comment: string | null;
  }>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS notnull,
            pg_get_expr(d.adbin, d.adrelid) AS default_expr, a.attidentity AS identity, a.attgenerated AS generated,
            EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p' AND a.attnum = ANY(k.conkey)) AS is_pk,
            EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype IN ('u', 'p')
                    AND k.conkey = ARRAY[a.attnum]::int2[]) AS is_unique,
            col_description(c.oid, a.attnum) AS comment
     FROM pg_attribute a
     JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped
     ORDER BY a.attnum`,
    [schema, table],
  );
  return rows.map((r) => ({
    columnName: r.name,
    type: r.type,
    isNullable: !r.notnull,
    isUnique: r.is_unique,
    isPrimaryKey: r.is_pk,
    defaultValue: r.default_expr,
    isIdentity: r.identity !== '',
    isGenerated: r.generated !== '',
    comment: r.comment,
  }));
}

const ACTIONS: Record<string, string> = {
  a: 'NO ACTION',
  r: 'RESTRICT',
  c: 'CASCADE',
  n: 'SET NULL',
  d: 'SET DEFAULT',
};

export async function listForeignKeys(db: Queryable, schema: string, table: string) {
  const { rows } = await db.query<{
    name: string;
    columns: string[];
    ref_schema: string;
    ref_table: string;
    ref_columns: string[];
    on_delete: string;
    on_update: string;
  }>(
    `SELECT con.conname AS name,
            array(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
                  JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.i) AS columns,
            rn.nspname AS ref_schema, rc.relname AS ref_table,
            array(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(n, i)
                  JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.i) AS ref_columns,
            con.confdeltype AS on_delete, con.confupdtype AS on_update
     FROM pg_constraint con
     JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     JOIN pg_class rc ON rc.oid = con.confrelid JOIN pg_namespace rn ON rn.oid = rc.relnamespace
     WHERE con.contype = 'f' AND n.nspname = $1 AND c.relname = $2
     ORDER BY con.conname`,
    [schema, table],
  );
  return rows.map((r) => ({
    constraintName: r.name,
    referenceSchema: r.ref_schema,
    referenceTable: r.ref_table,
    referenceColumns: r.columns.map((c, i) => ({
      sourceColumn: c,
      referenceColumn: r.ref_columns[i]!,
    })),
    onDelete: ACTIONS[r.on_delete] ?? 'NO ACTION',
    onUpdate: ACTIONS[r.on_update] ?? 'NO ACTION',
  }));
}

export async function listConstraints(db: Queryable, schema: string, table: string) {
  const { rows } = await db.query<{ name: string; type: string; definition: string }>(
    `SELECT con.conname AS name, con.contype AS type, pg_get_constraintdef(con.oid) AS definition
     FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = $1 AND c.relname = $2 ORDER BY con.conname`,
    [schema, table],
  );
  const types: Record<string, string> = {
    p: 'PRIMARY KEY',
    u: 'UNIQUE',
    f: 'FOREIGN KEY',
    c: 'CHECK',
    x: 'EXCLUDE',
  };
  return rows.map((r) => ({
    constraintName: r.name,
    type: types[r.type] ?? r.type,
    definition: r.definition,
  }));
}

export async function listIndexes(db: Queryable, schemas: string[], table?: string) {
  const { rows } = await db.query<{
    schema: string;
    table: string;
    name: string;
    def: string;
    is_unique: boolean;
    is_primary: boolean;
  }>(
    `SELECT n.nspname AS schema, t.relname AS table, i.relname AS name, pg_get_indexdef(ix.indexrelid) AS def,
            ix.indisunique AS is_unique, ix.indisprimary AS is_primary
     FROM pg_index ix
     JOIN pg_class i ON i.oid = ix.indexrelid JOIN pg_class t ON t.oid = ix.indrelid
     JOIN pg_namespace n ON n.oid = t.relnamespace
     WHERE n.nspname = ANY($1) AND ($2::text IS NULL OR t.relname = $2)
     ORDER BY n.nspname, t.relname, i.relname`,
    [schemas, table ?? null],
  );
  return rows.map((r) => ({
    schemaName: r.schema,
    tableName: r.table,
    indexName: r.name,
    indexDef: r.def,
    isUnique: r.is_unique,
    isPrimary: r.is_primary,
  }));
}

export async function listPolicies(db: Queryable, schemas: string[], table?: string) {
  const { rows } = await db.query<{
    schema: string;
    table: string;
    name: string;
    cmd: string;
    roles: string[];
    permissive: string;
    qual: string | null;
    with_check: string | null;
  }>(
    `SELECT schemaname AS schema, tablename AS table, policyname AS name, cmd, roles::text[] AS roles,
            permissive, qual, with_check
     FROM pg_policies WHERE schemaname = ANY($1) AND ($2::text IS NULL OR tablename = $2)
     ORDER BY schemaname, tablename, policyname`,
    [schemas, table ?? null],
  );
  return rows.map((r) => ({
    schemaName: r.schema,
    tableName: r.table,
    policyName: r.name,
    cmd: r.cmd,
    roles: r.roles,
    permissive: r.permissive === 'PERMISSIVE',
    qual: r.qual,
    withCheck: r.with_check,
  }));
}

export async function listTriggers(db: Queryable, schemas: string[], table?: string) {
  const { rows } = await db.query<{
    schema: string;
    table: string;
    name: string;
    timing: string;
    events: string;
    orientation: string;
    condition: string | null;
    statement: string;
  }>(
    `SELECT event_object_schema AS schema, event_object_table AS table, trigger_name AS name,
            action_timing AS timing, string_agg(event_manipulation, ' OR ' ORDER BY event_manipulation) AS events,
            action_orientation AS orientation, action_condition AS condition, action_statement AS statement
     FROM information_schema.triggers
     WHERE event_object_schema = ANY($1) AND ($2::text IS NULL OR event_object_table = $2)
     GROUP BY 1, 2, 3, 4, 6, 7, 8 ORDER BY 1, 2, 3`,
    [schemas, table ?? null],
  );
  return rows.map((r) => ({
    schemaName: r.schema,
    tableName: r.table,
    triggerName: r.name,
    actionTiming: r.timing,
    eventManipulation: r.events,
    actionOrientation: r.orientation,
    actionCondition: r.condition,
    actionStatement: r.statement,
  }));
}

export async function listFunctions(db: Queryable, schemas: string[]) {
  const { rows } = await db.query<{
    schema: string;
    name: string;
    args: string;
    result: string;
    kind: string;
    volatility: string;
    security_definer: boolean;
    def: string | null;
  }>(
    `SELECT n.nspname AS schema, p.proname AS name, pg_get_function_identity_arguments(p.oid) AS args,
            pg_get_function_result(p.oid) AS result, p.prokind AS kind, p.provolatile AS volatility,
            p.prosecdef AS security_definer,
            CASE WHEN p.prokind IN ('f', 'p') THEN pg_get_functiondef(p.oid) END AS def
     FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE n.nspname = ANY($1) ORDER BY n.nspname, p.proname`,
    [schemas],
  );
  const kinds: Record<string, string> = {
    f: 'function',
    p: 'procedure',
    a: 'aggregate',
    w: 'window',
  };
  const volatility: Record<string, string> = { i: 'immutable', s: 'stable', v: 'volatile' };
  return rows.map((r) => ({
    schemaName: r.schema,
    functionName: r.name,
    arguments: r.args,
    returns: r.result,
    kind: kinds[r.kind] ?? r.kind,
    volatility: volatility[r.volatility] ?? r.volatility,
    securityDefiner: r.security_definer,
    functionDef: r.def ?? '',
  }));
}

export async function listViews(db: Queryable, schemas: string[]) {
  const { rows } = await db.query<{
    schema: string;
    name: string;
    materialized: boolean;
    def: string;
  }>(
    `SELECT n.nspname AS schema, c.relname AS name, c.relkind = 'm' AS materialized, pg_get_viewdef(c.oid, true) AS def
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = ANY($1) AND c.relkind IN ('v', 'm') ORDER BY 1, 2`,
    [schemas],
  );
  return rows.map((r) => ({
    schemaName: r.schema,
    viewName: r.name,
    materialized: r.materialized,
    definition: r.def,
  }));
}

export async function listEnums(db: Queryable, schemas: string[]) {
  const { rows } = await db.query<{ schema: string; name: string; values: string[] }>(
    `SELECT n.nspname AS schema, t.typname AS name, array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS values
     FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace
     WHERE n.nspname = ANY($1) GROUP BY 1, 2 ORDER BY 1, 2`,
    [schemas],
  );
  return rows.map((r) => ({ schemaName: r.schema, enumName: r.name, values: r.values }));
}

export async function listExtensions(db: Queryable) {
  const { rows } = await db.query<{
    name: string;
    default_version: string;
    installed_version: string | null;
    comment: string | null;
  }>(
    `SELECT name, default_version, installed_version, comment FROM pg_available_extensions ORDER BY name`,
  );
  return rows.map((r) => ({
    name: r.name,
    defaultVersion: r.default_version,
    installedVersion: r.installed_version,
    installed: r.installed_version !== null,
    comment: r.comment,
  }));
}

export async function listRoles(db: Queryable) {
  const { rows } = await db.query<{
    name: string;
    login: boolean;
    bypassrls: boolean;
    superuser: boolean;
    member_of: string[];
  }>(
    `SELECT r.rolname AS name, r.rolcanlogin AS login, r.rolbypassrls AS bypassrls, r.rolsuper AS superuser,
            array(SELECT b.rolname::text FROM pg_auth_members m JOIN pg_roles b ON b.oid = m.roleid WHERE m.member = r.oid) AS member_of
     FROM pg_roles r WHERE r.rolname NOT LIKE 'pg\\_%' ORDER BY r.rolname`,
  );
  return rows.map((r) => ({
    roleName: r.name,
    canLogin: r.login,
    bypassRls: r.bypassrls,
    superuser: r.superuser,
    memberOf: r.member_of,
  }));
}

export async function listGrants(db: Queryable, schemas: string[], table?: string) {
  const { rows } = await db.query<{
    schema: string;
    table: string;
    grantee: string;
    privileges: string[];
  }>(
    `SELECT table_schema AS schema, table_name AS table, grantee, array_agg(privilege_type::text ORDER BY privilege_type) AS privileges
     FROM information_schema.role_table_grants
     WHERE table_schema = ANY($1) AND ($2::text IS NULL OR table_name = $2)
     GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
    [schemas, table ?? null],
  );
  return rows.map((r) => ({
    schemaName: r.schema,
    tableName: r.table,
    grantee: r.grantee,
    privileges: r.privileges,
  }));
}

/** Tables and their columns, for diffs (migration dry runs) and the metadata document. */
export async function columnSnapshot(db: Queryable, schemas: string[]) {
  const { rows } = await db.query<{ schema: string; table: string; column: string; type: string }>(
    `SELECT n.nspname AS schema, c.relname AS table, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type
     FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'p', 'v', 'm') AND a.attnum > 0 AND NOT a.attisdropped
     ORDER BY 1, 2, a.attnum`,
    [schemas],
  );
  const tables = new Map<string, Map<string, string>>();
  for (const r of rows) {
    const key = `${r.schema}.${r.table}`;
    if (!tables.has(key)) tables.set(key, new Map());
    tables.get(key)!.set(r.column, r.type);
  }
  return tables;
}

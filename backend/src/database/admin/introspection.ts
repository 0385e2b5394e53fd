/**
 * The catalog as the dashboard and the admin API show it, one function per object kind. The SQL
 * lives in ../catalog (one module per kind, shared with the records API's schema cache); this
 * file shapes its rows for the admin responses. Each takes a queryable (pool or transaction) and
 * the schemas to look in.
 */
import type { Queryable, RelationKind } from '../catalog/common.js';
import { loadColumns } from '../catalog/columns.js';
import { loadConstraints } from '../catalog/constraints.js';
import { loadEnums } from '../catalog/enums.js';
import { loadExtensions } from '../catalog/extensions.js';
import { loadFunctions } from '../catalog/functions.js';
import { loadIndexes } from '../catalog/indexes.js';
import { loadPolicies } from '../catalog/policies.js';
import { loadRelations } from '../catalog/relations.js';
import { loadGrants, loadRoles } from '../catalog/roles.js';
import { loadSchemas } from '../catalog/schemas.js';
import { loadTriggers } from '../catalog/triggers.js';
import { loadViews } from '../catalog/views.js';

/** Schemas Kiln keeps for itself (never user tables). */
export const SYSTEM_SCHEMAS = ['system', 'auth', 'storage', 'realtime', 'functions', 'ai', 'logs'];

export async function listSchemas(db: Queryable, exposed: string[]) {
  const rows = await loadSchemas(db);
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
  kind: RelationKind;
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
  const rows = await loadRelations(db, { schemas, kinds, details: true });
  return rows.map((r) => ({
    schemaName: r.schema,
    tableName: r.name,
    kind: r.kind,
    rlsEnabled: r.rlsEnabled,
    recordCount: r.rowEstimate,
    columnCount: r.columnCount,
    sizeBytes: r.sizeBytes,
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
  const [columns, keys] = await Promise.all([
    loadColumns(db, { schemas: [schema], table, comments: true }),
    loadConstraints(db, { schemas: [schema], table, types: ['p', 'u'] }),
  ]);
  return columns.map((c) => ({
    columnName: c.name,
    type: c.type,
    isNullable: !c.notNull,
    // Unique on its own: a one-column unique constraint or primary key.
    isUnique: keys.some((k) => k.columns?.length === 1 && k.columns[0] === c.name),
    isPrimaryKey: keys.some((k) => k.type === 'p' && (k.columns ?? []).includes(c.name)),
    defaultValue: c.defaultExpr,
    isIdentity: c.identity,
    isGenerated: c.generated,
    comment: c.comment,
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
  const rows = await loadConstraints(db, { schemas: [schema], table, types: ['f'] });
  return rows.map((r) => ({
    constraintName: r.name,
    referenceSchema: r.refSchema ?? '',
    referenceTable: r.refTable ?? '',
    referenceColumns: (r.columns ?? []).map((c, i) => ({
      sourceColumn: c,
      referenceColumn: r.refColumns?.[i] ?? '',
    })),
    onDelete: ACTIONS[r.onDelete] ?? 'NO ACTION',
    onUpdate: ACTIONS[r.onUpdate] ?? 'NO ACTION',
  }));
}

export async function listConstraints(db: Queryable, schema: string, table: string) {
  const rows = await loadConstraints(db, { schemas: [schema], table, definitions: true });
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
    definition: r.definition ?? '',
  }));
}

export async function listIndexes(db: Queryable, schemas: string[], table?: string) {
  const rows = await loadIndexes(db, { schemas, table, definitions: true });
  return rows.map((r) => ({
    schemaName: r.schema,
    tableName: r.table,
    indexName: r.name,
    indexDef: r.definition ?? '',
    isUnique: r.unique,
    isPrimary: r.primary,
  }));
}

export async function listPolicies(db: Queryable, schemas: string[], table?: string) {
  const rows = await loadPolicies(db, { schemas, table });
  return rows.map((r) => ({
    schemaName: r.schema,
    tableName: r.table,
    policyName: r.name,
    cmd: r.command,
    roles: r.roles,
    permissive: r.permissive,
    qual: r.using,
    withCheck: r.withCheck,
  }));
}

export async function listTriggers(db: Queryable, schemas: string[], table?: string) {
  const rows = await loadTriggers(db, { schemas, table });
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

/**
 * All that is known of one table, view or materialized view, read together: its summary
 * (undefined when there is no such relation), columns, keys, constraints, indexes, policies and
 * triggers. The table description and the export both read a table through this.
 */
export async function describeTable(db: Queryable, schema: string, table: string) {
  const [summary, columns, foreignKeys, constraints, indexes, policies, triggers] =
    await Promise.all([
      listTables(db, [schema], ['r', 'p', 'v', 'm']).then((all) =>
        all.find((t) => t.tableName === table),
      ),
      listColumns(db, schema, table),
      listForeignKeys(db, schema, table),
      listConstraints(db, schema, table),
      listIndexes(db, [schema], table),
      listPolicies(db, [schema], table),
      listTriggers(db, [schema], table),
    ]);
  return { summary, columns, foreignKeys, constraints, indexes, policies, triggers };
}

export async function listFunctions(db: Queryable, schemas: string[]) {
  const rows = await loadFunctions(db, { schemas, details: true });
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
    arguments: r.identityArguments,
    // A procedure's result is null here, which the declared response (a string) does not allow;
    // kept as it was (a refactor changes no behaviour) and named in issue 16's report.
    returns: r.result as string,
    kind: kinds[r.kind] ?? r.kind,
    volatility: volatility[r.volatility] ?? r.volatility,
    securityDefiner: r.securityDefiner,
    functionDef: r.definition ?? '',
  }));
}

export async function listViews(db: Queryable, schemas: string[]) {
  const rows = await loadViews(db, { schemas, definitions: true });
  return rows.map((r) => ({
    schemaName: r.schema,
    viewName: r.name,
    materialized: r.materialized,
    definition: r.definition ?? '',
  }));
}

export async function listEnums(db: Queryable, schemas: string[]) {
  const rows = await loadEnums(db, schemas);
  return rows.map((r) => ({ schemaName: r.schema, enumName: r.name, values: r.values }));
}

export async function listExtensions(db: Queryable) {
  const rows = await loadExtensions(db);
  return rows.map((r) => ({
    name: r.name,
    defaultVersion: r.defaultVersion,
    installedVersion: r.installedVersion,
    installed: r.installedVersion !== null,
    comment: r.comment,
  }));
}

export async function listRoles(db: Queryable) {
  const rows = await loadRoles(db);
  return rows.map((r) => ({
    roleName: r.name,
    canLogin: r.canLogin,
    bypassRls: r.bypassRls,
    superuser: r.superuser,
    memberOf: r.memberOf,
  }));
}

export async function listGrants(db: Queryable, schemas: string[], table?: string) {
  const rows = await loadGrants(db, { schemas, table });
  return rows.map((r) => ({
    schemaName: r.schema,
    tableName: r.table,
    grantee: r.grantee,
    privileges: r.privileges,
  }));
}

/** Tables and their columns, for diffs (migration dry runs) and the metadata document. */
export async function columnSnapshot(db: Queryable, schemas: string[]) {
  const rows = await loadColumns(db, { schemas, kinds: ['r', 'p', 'v', 'm'] });
  const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  rows.sort(
    (a, b) => byName(a.schema, b.schema) || byName(a.table, b.table) || a.attnum - b.attnum,
  );
  const tables = new Map<string, Map<string, string>>();
  for (const r of rows) {
    const key = `${r.schema}.${r.table}`;
    if (!tables.has(key)) tables.set(key, new Map());
    tables.get(key)!.set(r.name, r.type);
  }
  return tables;
}

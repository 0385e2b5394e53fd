import pg from 'pg';
import type { Database } from '../../core/db.js';
import type { Logger } from '../../core/logger.js';
import { SAFE_SEARCH_PATH_OPTIONS } from '../../core/search-path.js';

export interface Column {
  name: string;
  /** format_type(): `integer`, `character varying(20)`, `text[]`, `public.mood`… */
  type: string;
  /** pg_type.typcategory: S string, N numeric, B boolean, D datetime, A array, U user (json, uuid)… */
  category: string;
  nullable: boolean;
  /** SQL default expression from the catalog, if any. */
  defaultExpr: string | null;
  identity: boolean;
  generated: boolean;
  /** Enum labels when the column's type is an enum. */
  enumValues?: string[];
}

export type RelationKind =
  'table' | 'view' | 'materialized_view' | 'foreign_table' | 'partitioned_table';

export interface Table {
  schema: string;
  name: string;
  kind: RelationKind;
  columns: Map<string, Column>;
  primaryKey: string[];
  /** Column sets with a unique constraint or unique index (the primary key included). */
  uniqueKeys: string[][];
  insertable: boolean;
  updatable: boolean;
  deletable: boolean;
}

export interface ForeignKey {
  name: string;
  schema: string;
  table: string;
  columns: string[];
  refSchema: string;
  refTable: string;
  refColumns: string[];
}

export type Cardinality = 'm2o' | 'o2m' | 'o2o' | 'm2m';

/** A way to embed `target` from `source`. */
export interface Relationship {
  cardinality: Cardinality;
  source: Table;
  target: Table;
  /** The constraint that links them (for m2m: the source-side constraint). */
  constraint: string;
  /** Pairs of (source column, target column) for direct links. */
  sourceColumns: string[];
  targetColumns: string[];
  /** For m2m: the junction table and its two foreign keys. */
  junction?: {
    table: Table;
    sourceConstraint: string;
    targetConstraint: string;
    /** junction columns → source columns */
    sourceColumns: string[];
    junctionSourceColumns: string[];
    /** junction columns → target columns */
    junctionTargetColumns: string[];
    targetColumns: string[];
  };
}

export interface FunctionArg {
  name: string;
  type: string;
  hasDefault: boolean;
  variadic: boolean;
}

export interface DbFunction {
  schema: string;
  name: string;
  args: FunctionArg[];
  /** `i` immutable, `s` stable, `v` volatile. */
  volatility: 'i' | 's' | 'v';
  returnsSet: boolean;
  returnType: string;
  /** Returns rows (a table or composite type, set or not) that select/filters can apply to. */
  returnsRows: boolean;
  returnsVoid: boolean;
  /** The table whose rows it returns, when it returns a table's row type. */
  returnTable?: { schema: string; name: string };
  /** Columns of `RETURNS TABLE (...)` / OUT parameters, for record-returning functions. */
  outputColumns: Array<{ name: string; type: string }>;
}

export interface SchemaSnapshot {
  tables: Map<string, Table>;
  functions: Map<string, DbFunction[]>;
  relationships: Map<string, Relationship[]>;
  loadedAt: Date;
}

export const tableKey = (schema: string, name: string) => `${schema}.${name}`;

/**
 * Tables, views, columns, keys, foreign keys and functions of the exposed schemas, as the records
 * API needs them. Loaded at start; reloaded when PostgreSQL announces DDL (event trigger →
 * NOTIFY kiln_schema_changed), whoever ran it.
 */
export class SchemaCache {
  private snapshot: SchemaSnapshot | undefined;
  private listener: pg.Client | undefined;
  private reloadTimer: NodeJS.Timeout | undefined;
  private reloading: Promise<void> | undefined;
  private dirty = false;
  private closed = false;
  private readonly waiters: Array<() => void> = [];

  constructor(
    private readonly db: Database,
    private readonly connectionString: string,
    readonly exposedSchemas: string[],
    private readonly logger?: Logger,
  ) {}

  async start(): Promise<void> {
    await this.reload();
    await this.listen();
  }

  get current(): SchemaSnapshot {
    if (!this.snapshot) throw new Error('schema cache not loaded');
    return this.snapshot;
  }

  getTable(schema: string, name: string): Table | undefined {
    return this.current.tables.get(tableKey(schema, name));
  }

  getFunctions(schema: string, name: string): DbFunction[] {
    return this.current.functions.get(tableKey(schema, name)) ?? [];
  }

  relationshipsFrom(table: Table): Relationship[] {
    return this.current.relationships.get(tableKey(table.schema, table.name)) ?? [];
  }

  /** Reloads now (also what a NOTIFY triggers). Concurrent calls share one reload. */
  reload(): Promise<void> {
    if (this.reloading) {
      this.dirty = true;
      return this.reloading;
    }
    this.reloading = (async () => {
      try {
        do {
          this.dirty = false;
          this.snapshot = await loadSnapshot(this.db, this.exposedSchemas);
        } while (this.dirty);
      } finally {
        this.reloading = undefined;
        for (const w of this.waiters.splice(0)) w();
      }
    })();
    return this.reloading;
  }

  /** Resolves after the next completed reload (tests use it to wait for DDL to be seen). */
  nextReload(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reloadTimer);
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => undefined);
    await this.reloading?.catch(() => undefined);
  }

  private scheduleReload(): void {
    if (this.closed) return;
    clearTimeout(this.reloadTimer);
    // DDL often comes in bursts (a migration): coalesce them.
    this.reloadTimer = setTimeout(() => {
      if (this.closed) return;
      this.reload().catch((err) =>
        this.logger?.error('schema cache reload failed', { error: String(err) }),
      );
    }, 20);
  }

  private async listen(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({
      connectionString: this.connectionString,
      application_name: 'kiln-schema-listener',
      options: SAFE_SEARCH_PATH_OPTIONS,
    });
    client.on('notification', () => this.scheduleReload());
    client.on('error', () => undefined);
    client.on('end', () => {
      if (this.closed || this.listener !== client) return;
      this.listener = undefined;
      // Reconnect, and reload: DDL may have happened while we were not listening.
      setTimeout(() => {
        this.listen()
          .then(() => this.scheduleReload())
          .catch((err) =>
            this.logger?.warn('schema listener reconnect failed', { error: String(err) }),
          );
      }, 1000).unref();
    });
    await client.connect();
    await client.query('LISTEN kiln_schema_changed');
    this.listener = client;
  }
}

const KIND: Record<string, RelationKind> = {
  r: 'table',
  p: 'partitioned_table',
  v: 'view',
  m: 'materialized_view',
  f: 'foreign_table',
};

async function loadSnapshot(db: Database, schemas: string[]): Promise<SchemaSnapshot> {
  const [relations, columns, constraints, uniqueIndexes, functions, viewRules] = await Promise.all([
    db.query<{ oid: number; schema: string; name: string; kind: string; updatable: number }>(
      `SELECT c.oid::int, n.nspname AS schema, c.relname AS name, c.relkind AS kind,
              pg_relation_is_updatable(c.oid, true) AS updatable
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')`,
      [schemas],
    ),
    db.query<{
      oid: number;
      attnum: number;
      name: string;
      type: string;
      category: string;
      notnull: boolean;
      default_expr: string | null;
      identity: string;
      generated: string;
      enum_values: string[] | null;
    }>(
      `SELECT a.attrelid::int AS oid, a.attnum::int AS attnum, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
              t.typcategory AS category, a.attnotnull AS notnull,
              pg_get_expr(d.adbin, d.adrelid) AS default_expr, a.attidentity AS identity,
              a.attgenerated AS generated,
              CASE WHEN t.typtype = 'e' THEN
                (SELECT array_agg(e.enumlabel::text ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid)
              END AS enum_values
       FROM pg_attribute a
       JOIN pg_class c ON c.oid = a.attrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_type t ON t.oid = a.atttypid
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
       WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
         AND a.attnum > 0 AND NOT a.attisdropped
       ORDER BY a.attrelid, a.attnum`,
      [schemas],
    ),
    db.query<{
      name: string;
      type: string;
      oid: number;
      columns: string[];
      ref_oid: number | null;
      ref_columns: string[] | null;
    }>(
      `SELECT con.conname AS name, con.contype AS type, con.conrelid::int AS oid,
              array(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
                    JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.i) AS columns,
              nullif(con.confrelid, 0)::int AS ref_oid,
              CASE WHEN con.contype = 'f' THEN
                array(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(n, i)
                      JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.i)
              END AS ref_columns
       FROM pg_constraint con
       JOIN pg_class c ON c.oid = con.conrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = ANY($1) AND con.contype IN ('p', 'u', 'f')`,
      [schemas],
    ),
    db.query<{ oid: number; columns: string[] }>(
      `SELECT i.indrelid::int AS oid,
              array(SELECT a.attname::text FROM unnest(i.indkey) WITH ORDINALITY k(n, o)
                    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n ORDER BY k.o) AS columns
       FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = ANY($1) AND i.indisunique AND i.indpred IS NULL AND NOT (0 = ANY(i.indkey))`,
      [schemas],
    ),
    db.query<{
      schema: string;
      name: string;
      volatility: 'i' | 's' | 'v';
      returns_set: boolean;
      return_type: string;
      return_typtype: string;
      return_relid: number;
      return_table_schema: string | null;
      return_table_name: string | null;
      arg_names: string[] | null;
      arg_modes: string[] | null;
      arg_types: string[];
      nargs: number;
      ndefaults: number;
      variadic: number;
    }>(
      `SELECT n.nspname AS schema, p.proname AS name, p.provolatile AS volatility,
              p.proretset AS returns_set, format_type(p.prorettype, NULL) AS return_type,
              t.typtype AS return_typtype, t.typrelid::int AS return_relid,
              rn.nspname AS return_table_schema, rc.relname AS return_table_name,
              p.proargnames AS arg_names, p.proargmodes::text[] AS arg_modes,
              array(SELECT format_type(x, NULL) FROM unnest(coalesce(p.proallargtypes, p.proargtypes::oid[])) x) AS arg_types,
              p.pronargs AS nargs, p.pronargdefaults AS ndefaults, p.provariadic::int AS variadic
       FROM pg_proc p
       JOIN pg_namespace n ON n.oid = p.pronamespace
       JOIN pg_type t ON t.oid = p.prorettype
       LEFT JOIN pg_class rc ON rc.oid = t.typrelid
       LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace
       WHERE n.nspname = ANY($1) AND p.prokind = 'f'`,
      [schemas],
    ),
    // Where each view column comes from (for embedding through views): the view's query
    // tree names the origin table and column of every output column.
    db.query<{ oid: number; action: string }>(
      `SELECT r.ev_class::int AS oid, r.ev_action::text AS action
       FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = ANY($1) AND c.relkind IN ('v', 'm') AND r.rulename = '_RETURN'`,
      [schemas],
    ),
  ]);

  const byOid = new Map<number, Table>();
  const tables = new Map<string, Table>();
  for (const r of relations.rows) {
    // pg_relation_is_updatable bits: 4 UPDATE, 8 INSERT, 16 DELETE
    const table: Table = {
      schema: r.schema,
      name: r.name,
      kind: KIND[r.kind] ?? 'table',
      columns: new Map(),
      primaryKey: [],
      uniqueKeys: [],
      insertable: (r.updatable & 8) !== 0,
      updatable: (r.updatable & 4) !== 0,
      deletable: (r.updatable & 16) !== 0,
    };
    byOid.set(r.oid, table);
    tables.set(tableKey(r.schema, r.name), table);
  }
  const attnames = new Map<number, Map<number, string>>();
  for (const c of columns.rows) {
    if (!attnames.has(c.oid)) attnames.set(c.oid, new Map());
    attnames.get(c.oid)!.set(c.attnum, c.name);
    byOid.get(c.oid)?.columns.set(c.name, {
      name: c.name,
      type: c.type,
      category: c.category,
      nullable: !c.notnull,
      defaultExpr: c.default_expr,
      identity: c.identity !== '',
      generated: c.generated !== '',
      ...(c.enum_values ? { enumValues: c.enum_values } : {}),
    });
  }
  const foreignKeys: ForeignKey[] = [];
  for (const con of constraints.rows) {
    const table = byOid.get(con.oid);
    if (!table) continue;
    if (con.type === 'p') {
      table.primaryKey = con.columns;
      table.uniqueKeys.push(con.columns);
    } else if (con.type === 'u') {
      table.uniqueKeys.push(con.columns);
    } else if (con.type === 'f' && con.ref_oid !== null) {
      const ref = byOid.get(con.ref_oid);
      if (!ref) continue; // points outside the exposed schemas
      foreignKeys.push({
        name: con.name,
        schema: table.schema,
        table: table.name,
        columns: con.columns,
        refSchema: ref.schema,
        refTable: ref.name,
        refColumns: con.ref_columns ?? [],
      });
    }
  }
  for (const idx of uniqueIndexes.rows) {
    const table = byOid.get(idx.oid);
    if (table && !table.uniqueKeys.some((k) => sameSet(k, idx.columns)))
      table.uniqueKeys.push(idx.columns);
  }

  const fnMap = new Map<string, DbFunction[]>();
  for (const f of functions.rows) {
    const modes = f.arg_modes ?? f.arg_types.map(() => 'i');
    const args: FunctionArg[] = [];
    const outputColumns = modes.flatMap((m, i) =>
      m === 'o' || m === 'b' || m === 't'
        ? [{ name: f.arg_names?.[i] ?? `column${i + 1}`, type: f.arg_types[i] ?? 'unknown' }]
        : [],
    );
    const inputIndexes = modes.flatMap((m, i) => (m === 'i' || m === 'b' || m === 'v' ? [i] : []));
    inputIndexes.forEach((i, position) => {
      args.push({
        name: f.arg_names?.[i] ?? '',
        type: f.arg_types[i] ?? 'unknown',
        hasDefault: position >= f.nargs - f.ndefaults,
        variadic: modes[i] === 'v',
      });
    });
    const returnsRows =
      f.return_typtype === 'c' ||
      (f.returns_set && f.return_type === 'record') ||
      f.return_type === 'record';
    const fn: DbFunction = {
      schema: f.schema,
      name: f.name,
      args,
      volatility: f.volatility,
      returnsSet: f.returns_set,
      returnType: f.return_type,
      returnsRows,
      returnsVoid: f.return_type === 'void',
      outputColumns,
      ...(f.return_table_schema && f.return_table_name && f.return_typtype === 'c'
        ? { returnTable: { schema: f.return_table_schema, name: f.return_table_name } }
        : {}),
    };
    const key = tableKey(f.schema, f.name);
    fnMap.set(key, [...(fnMap.get(key) ?? []), fn]);
  }

  return {
    tables,
    functions: fnMap,
    relationships: deriveRelationships(
      tables,
      foreignKeys,
      viewForeignKeys(foreignKeys, tables, byOid, attnames, viewRules.rows),
    ),
    loadedAt: new Date(),
  };
}

function sameSet(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

function isUnique(table: Table, columns: string[]): boolean {
  return table.uniqueKeys.some(
    (k) => k.every((c) => columns.includes(c)) && k.length <= columns.length && k.length > 0,
  );
}

/**
 * Foreign keys seen through views: a view that exposes a foreign key's columns (or the columns it
 * references) unchanged can be embedded like the table underneath.
 */
function viewForeignKeys(
  fks: ForeignKey[],
  tables: Map<string, Table>,
  byOid: Map<number, Table>,
  attnames: Map<number, Map<number, string>>,
  rules: Array<{ oid: number; action: string }>,
): ForeignKey[] {
  // base table key → projections: the table itself, and each view column mapping base → view.
  const projections = new Map<string, Array<{ rel: Table; map: Map<string, string> }>>();
  const project = (base: Table, rel: Table, map: Map<string, string>) => {
    const key = tableKey(base.schema, base.name);
    projections.set(key, [...(projections.get(key) ?? []), { rel, map }]);
  };
  for (const rule of rules) {
    const view = byOid.get(rule.oid);
    if (!view) continue;
    // Later target entries win: the view's own target list comes after its range table.
    const origins = new Map<string, { table: number; attnum: number }>();
    for (const m of rule.action.matchAll(
      /:resname (\S+) :ressortgroupref \d+ :resorigtbl (\d+) :resorigcol (\d+)/g,
    )) {
      const table = Number(m[2]);
      if (table !== 0) origins.set(m[1]!, { table, attnum: Number(m[3]) });
    }
    const perBase = new Map<number, Map<string, string>>();
    for (const [viewCol, origin] of origins) {
      if (!view.columns.has(viewCol)) continue;
      const baseCol = attnames.get(origin.table)?.get(origin.attnum);
      if (!baseCol) continue;
      if (!perBase.has(origin.table)) perBase.set(origin.table, new Map());
      perBase.get(origin.table)!.set(baseCol, viewCol);
    }
    for (const [baseOid, map] of perBase) {
      const base = byOid.get(baseOid);
      if (base) project(base, view, map);
    }
  }
  const out: ForeignKey[] = [];
  for (const fk of fks) {
    const identity = (t: Table | undefined) =>
      t ? [{ rel: t, map: new Map([...t.columns.keys()].map((c) => [c, c])) }] : [];
    const child = tables.get(tableKey(fk.schema, fk.table));
    const parent = tables.get(tableKey(fk.refSchema, fk.refTable));
    const childSides = [
      ...identity(child),
      ...(projections.get(tableKey(fk.schema, fk.table)) ?? []),
    ];
    const parentSides = [
      ...identity(parent),
      ...(projections.get(tableKey(fk.refSchema, fk.refTable)) ?? []),
    ];
    for (const c of childSides) {
      const columns = fk.columns.map((col) => c.map.get(col));
      if (columns.some((col) => col === undefined)) continue;
      for (const p of parentSides) {
        if (c.rel === child && p.rel === parent) continue; // the real foreign key itself
        const refColumns = fk.refColumns.map((col) => p.map.get(col));
        if (refColumns.some((col) => col === undefined)) continue;
        out.push({
          name: fk.name,
          schema: c.rel.schema,
          table: c.rel.name,
          columns: columns as string[],
          refSchema: p.rel.schema,
          refTable: p.rel.name,
          refColumns: refColumns as string[],
        });
      }
    }
  }
  return out;
}

/** Direct links from foreign keys (and their views), plus many-to-many through junction tables. */
function deriveRelationships(
  tables: Map<string, Table>,
  baseFks: ForeignKey[],
  viewFks: ForeignKey[],
): Map<string, Relationship[]> {
  const fks = [...baseFks, ...viewFks];
  const out = new Map<string, Relationship[]>();
  const add = (r: Relationship) => {
    const key = tableKey(r.source.schema, r.source.name);
    out.set(key, [...(out.get(key) ?? []), r]);
  };
  for (const fk of fks) {
    const child = tables.get(tableKey(fk.schema, fk.table));
    const parent = tables.get(tableKey(fk.refSchema, fk.refTable));
    if (!child || !parent) continue;
    // child → parent: many-to-one (one-to-one when the FK columns are unique in the child)
    add({
      cardinality: 'm2o',
      source: child,
      target: parent,
      constraint: fk.name,
      sourceColumns: fk.columns,
      targetColumns: fk.refColumns,
    });
    add({
      cardinality: isUnique(child, fk.columns) ? 'o2o' : 'o2m',
      source: parent,
      target: child,
      constraint: fk.name,
      sourceColumns: fk.refColumns,
      targetColumns: fk.columns,
    });
  }
  // Junction tables: two foreign keys whose columns are both part of the junction's key.
  const byTable = new Map<string, ForeignKey[]>();
  for (const fk of baseFks) {
    const key = tableKey(fk.schema, fk.table);
    byTable.set(key, [...(byTable.get(key) ?? []), fk]);
  }
  for (const [key, list] of byTable) {
    const junction = tables.get(key);
    if (!junction || list.length < 2) continue;
    for (const a of list) {
      for (const b of list) {
        if (a === b) continue;
        const keyCols = junction.uniqueKeys.find((k) =>
          [...a.columns, ...b.columns].every((c) => k.includes(c)),
        );
        if (!keyCols) continue;
        const source = tables.get(tableKey(a.refSchema, a.refTable));
        const target = tables.get(tableKey(b.refSchema, b.refTable));
        if (!source || !target) continue;
        add({
          cardinality: 'm2m',
          source,
          target,
          constraint: a.name,
          sourceColumns: a.refColumns,
          targetColumns: b.refColumns,
          junction: {
            table: junction,
            sourceConstraint: a.name,
            targetConstraint: b.name,
            sourceColumns: a.refColumns,
            junctionSourceColumns: a.columns,
            junctionTargetColumns: b.columns,
            targetColumns: b.refColumns,
          },
        });
      }
    }
  }
  return out;
}

import type { Database } from '../../core/db.js';
import { PgListener } from '../../core/listener.js';
import type { Logger } from '../../core/logger.js';
import { ROW_RELKINDS, type RelationKind } from '../catalog/common.js';
import { loadColumns } from '../catalog/columns.js';
import { loadConstraints } from '../catalog/constraints.js';
import { loadFunctions } from '../catalog/functions.js';
import { loadIndexes } from '../catalog/indexes.js';
import { loadRelations } from '../catalog/relations.js';
import { loadViews, type ViewRow } from '../catalog/views.js';

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

export type { RelationKind };

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
  /**
   * Computed fields: functions of this table's row type returning one value, by name. They are
   * selected, filtered and ordered by like columns (never part of `*`).
   */
  computed?: Map<string, { schema: string; name: string }>;
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
  /**
   * A computed relationship: a function taking the source's row and returning target rows
   * (SETOF, or one row: to-one when it returns a single row or is declared `ROWS 1`).
   */
  computed?: { schema: string; name: string; returnsSet: boolean };
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
  private listener: PgListener | undefined;
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

  /** Whether the LISTEN connection is up (readiness). */
  get listening(): boolean {
    return this.listener?.listening ?? false;
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
    await listener?.close();
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

  /**
   * Reloads on every schema change announced (migration 0002's event trigger); after the
   * listener reconnects (core/listener.ts), reloads too: DDL may have happened meanwhile. A
   * failed reload there makes the listener try again.
   */
  private async listen(): Promise<void> {
    if (this.closed) return;
    const listener = new PgListener({
      connectionString: this.connectionString,
      name: 'kiln-schema-listener',
      channels: ['kiln_schema_changed'],
      onNotification: () => this.scheduleReload(),
      onReconnect: () => this.reload(),
      logger: this.logger,
    });
    await listener.start();
    this.listener = listener;
  }
}

async function loadSnapshot(db: Database, schemas: string[]): Promise<SchemaSnapshot> {
  const [relations, columns, constraints, indexes, functions, views] = await Promise.all([
    loadRelations(db, { schemas, kinds: ROW_RELKINDS }),
    loadColumns(db, { schemas, kinds: ROW_RELKINDS }),
    // Keys by column number: the names come from the columns loaded alongside.
    loadConstraints(db, { schemas, types: ['p', 'u', 'f'], names: false }),
    loadIndexes(db, { schemas, keysOnly: true, names: false }),
    loadFunctions(db, { schemas, kinds: ['f'] }),
    // Where each view column comes from (for embedding through views).
    loadViews(db, { schemas, origins: true }),
  ]);

  const byOid = new Map<number, Table>();
  const tables = new Map<string, Table>();
  for (const r of relations) {
    const table: Table = {
      schema: r.schema,
      name: r.name,
      kind: r.kind,
      columns: new Map(),
      primaryKey: [],
      uniqueKeys: [],
      insertable: r.insertable,
      updatable: r.updatable,
      deletable: r.deletable,
    };
    byOid.set(r.oid, table);
    tables.set(tableKey(r.schema, r.name), table);
  }
  const attnames = new Map<number, Map<number, string>>();
  for (const c of columns) {
    if (!attnames.has(c.relid)) attnames.set(c.relid, new Map());
    attnames.get(c.relid)!.set(c.attnum, c.name);
    const enumValues = c.enumValues;
    byOid.get(c.relid)?.columns.set(c.name, {
      name: c.name,
      type: c.type,
      category: c.category,
      nullable: !c.notNull,
      defaultExpr: c.defaultExpr,
      identity: c.identity,
      generated: c.generated,
      ...(enumValues ? { enumValues } : {}),
    });
  }
  const names = (relid: number, attnums: number[]) =>
    attnums.map((n) => attnames.get(relid)?.get(n) ?? '');
  const foreignKeys: ForeignKey[] = [];
  for (const con of constraints) {
    const table = byOid.get(con.relid);
    if (!table) continue;
    const columns = names(con.relid, con.attnums);
    if (con.type === 'p') {
      table.primaryKey = columns;
      table.uniqueKeys.push(columns);
    } else if (con.type === 'u') {
      table.uniqueKeys.push(columns);
    } else if (con.type === 'f' && con.refRelid !== null) {
      const ref = byOid.get(con.refRelid);
      if (!ref) continue; // points outside the exposed schemas
      foreignKeys.push({
        name: con.name,
        schema: table.schema,
        table: table.name,
        columns,
        refSchema: ref.schema,
        refTable: ref.name,
        refColumns: names(con.refRelid, con.refAttnums ?? []),
      });
    }
  }
  for (const idx of indexes) {
    // Unique indexes on plain columns without a WHERE clause are keys too.
    if (!idx.unique || idx.partial || !idx.attnums) continue;
    const columns = names(idx.relid, idx.attnums);
    const table = byOid.get(idx.relid);
    if (table && !table.uniqueKeys.some((k) => sameSet(k, columns))) table.uniqueKeys.push(columns);
  }

  const fnMap = new Map<string, DbFunction[]>();
  for (const f of functions) {
    const modes = f.argModes ?? f.argTypes.map(() => 'i');
    const args: FunctionArg[] = [];
    const outputColumns = modes.flatMap((m, i) =>
      m === 'o' || m === 'b' || m === 't'
        ? [{ name: f.argNames?.[i] ?? `column${i + 1}`, type: f.argTypes[i] ?? 'unknown' }]
        : [],
    );
    const inputIndexes = modes.flatMap((m, i) => (m === 'i' || m === 'b' || m === 'v' ? [i] : []));
    inputIndexes.forEach((i, position) => {
      args.push({
        name: f.argNames?.[i] ?? '',
        type: f.argTypes[i] ?? 'unknown',
        hasDefault: position >= f.nargs - f.ndefaults,
        variadic: modes[i] === 'v',
      });
    });
    const returnsRows =
      f.returnTypType === 'c' ||
      (f.returnsSet && f.returnType === 'record') ||
      f.returnType === 'record';
    const fn: DbFunction = {
      schema: f.schema,
      name: f.name,
      args,
      volatility: f.volatility,
      returnsSet: f.returnsSet,
      returnType: f.returnType,
      returnsRows,
      returnsVoid: f.returnType === 'void',
      outputColumns,
      ...(f.returnTable && f.returnTypType === 'c' ? { returnTable: f.returnTable } : {}),
    };
    const key = tableKey(f.schema, f.name);
    fnMap.set(key, [...(fnMap.get(key) ?? []), fn]);
  }

  const relationships = deriveRelationships(
    tables,
    foreignKeys,
    viewForeignKeys(foreignKeys, tables, byOid, attnames, views),
  );
  addComputed(functions, tables, relationships);
  return { tables, functions: fnMap, relationships, loadedAt: new Date() };
}

/**
 * Functions of one argument, a table's row: returning one value, they are computed fields of that
 * table; returning rows of a table (SETOF or one), computed relationships from it.
 */
function addComputed(
  functions: Awaited<ReturnType<typeof loadFunctions>>,
  tables: Map<string, Table>,
  relationships: Map<string, Relationship[]>,
): void {
  for (const f of functions) {
    if (f.nargs !== 1 || !f.firstArgTable || (f.argModes && f.argModes.some((m) => m !== 'i')))
      continue;
    const source = tables.get(tableKey(f.firstArgTable.schema, f.firstArgTable.name));
    if (!source) continue;
    const fn = { schema: f.schema, name: f.name };
    const target =
      f.returnTypType === 'c' && f.returnTable
        ? tables.get(tableKey(f.returnTable.schema, f.returnTable.name))
        : undefined;
    if (target) {
      const key = tableKey(source.schema, source.name);
      const toOne = !f.returnsSet || f.rows === 1;
      relationships.set(key, [
        ...(relationships.get(key) ?? []),
        {
          cardinality: toOne ? 'm2o' : 'o2m',
          source,
          target,
          constraint: f.name,
          sourceColumns: [],
          targetColumns: [],
          computed: { ...fn, returnsSet: f.returnsSet },
        },
      ]);
    } else if (!f.returnsSet && f.returnType !== 'void' && !source.columns.has(f.name)) {
      (source.computed ??= new Map()).set(f.name, fn);
    }
  }
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
  views: ViewRow[],
): ForeignKey[] {
  // base table key → projections: the table itself, and each view column mapping base → view.
  const projections = new Map<string, Array<{ rel: Table; map: Map<string, string> }>>();
  const project = (base: Table, rel: Table, map: Map<string, string>) => {
    const key = tableKey(base.schema, base.name);
    projections.set(key, [...(projections.get(key) ?? []), { rel, map }]);
  };
  for (const v of views) {
    const view = byOid.get(v.oid);
    if (!view) continue;
    const origins = v.origins ?? new Map<string, { relid: number; attnum: number }>();
    const perBase = new Map<number, Map<string, string>>();
    for (const [viewCol, origin] of origins) {
      if (!view.columns.has(viewCol)) continue;
      const baseCol = attnames.get(origin.relid)?.get(origin.attnum);
      if (!baseCol) continue;
      if (!perBase.has(origin.relid)) perBase.set(origin.relid, new Map());
      perBase.get(origin.relid)!.set(baseCol, viewCol);
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

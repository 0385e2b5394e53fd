/**
 * Tables from JSON descriptions: create, describe, alter, drop. Each change is one transaction
 * run as project_admin (which owns what it creates); the records API's schema cache is reloaded
 * before the answer, so the next request sees the change.
 */
import type {
  AlterTableRequest,
  ColumnDefinition,
  CreateTableRequest,
  ForeignKeyDefinition,
} from '@kiln/shared-schemas';
import type { Database, Principal, Tx } from '../../core/db.js';
import { AppError } from '../../core/errors.js';
import { PG, pgCode } from '../../core/sql.js';
import type { SchemaCache } from '../records/schema-cache.js';
import { defaultExpression, identifier, q, qualified, resolveType } from './ddl.js';
import { SYSTEM_SCHEMAS, describeTable, listColumns, listTables } from './introspection.js';

/**
 * An alter step's error when the column, constraint or index it names (request field `field`)
 * does not exist: 404 DATABASE_NOT_FOUND naming the field and the missing thing. Other errors
 * are returned as they were.
 */
function missingTarget(err: unknown, field: string): unknown {
  const code = pgCode(err);
  if (code !== PG.undefinedColumn && code !== PG.undefinedObject) return err;
  return new AppError(404, 'DATABASE_NOT_FOUND', `${field}: ${(err as Error).message}`);
}

/** Columns as answered: a column without a default has no `defaultValue` (InsForge's shape). */
function answeredColumns<C extends { defaultValue: string | null }>(columns: C[]) {
  return columns.map(({ defaultValue, ...column }) =>
    defaultValue === null ? column : { ...column, defaultValue },
  );
}

export const AUTO_FIELDS = ['id', 'created_at', 'updated_at'];

export class TablesService {
  constructor(
    private readonly db: Database,
    private readonly cache: SchemaCache,
  ) {}

  /** The schema a request addresses: an exposed one, never Kiln's own. */
  schemaFor(requested: string | undefined): string {
    const schema = requested ?? this.cache.exposedSchemas[0]!;
    if (SYSTEM_SCHEMAS.includes(schema) || !this.cache.exposedSchemas.includes(schema)) {
      throw new AppError(
        400,
        'DATABASE_VALIDATION_ERROR',
        `schema: "${schema.slice(0, 63)}" is not one of the exposed schemas (${this.cache.exposedSchemas.join(', ')})`,
      );
    }
    return schema;
  }

  list(schema?: string) {
    return listTables(this.db.pool, schema ? [this.schemaFor(schema)] : this.cache.exposedSchemas, [
      'r',
      'p',
      'v',
      'm',
    ]);
  }

  async describe(schemaName: string | undefined, table: string) {
    const schema = this.schemaFor(schemaName);
    const { summary, columns, ...rest } = await describeTable(this.db.pool, schema, table);
    if (!summary)
      throw new AppError(
        404,
        'DATABASE_NOT_FOUND',
        `Table "${schema}.${table.slice(0, 63)}" does not exist`,
      );
    return { ...summary, columns: answeredColumns(columns), ...rest };
  }

  async create(principal: Principal, input: CreateTableRequest) {
    const schema = this.schemaFor(input.schemaName);
    const table = identifier(input.tableName, 'tableName');
    const seen = new Set<string>();
    input.columns.forEach((c, i) => {
      identifier(c.columnName, `columns[${i}].columnName`);
      if (seen.has(c.columnName)) {
        throw new AppError(
          400,
          'DATABASE_VALIDATION_ERROR',
          `columns[${i}].columnName: "${c.columnName}" appears twice`,
        );
      }
      seen.add(c.columnName);
    });
    const columns: ColumnDefinition[] = [...input.columns];
    const auto: string[] = [];
    const hasPk = columns.some((c) => c.isPrimaryKey);
    if (input.autoFields) {
      if (!columns.some((c) => c.columnName === 'id') && !hasPk) {
        columns.unshift({
          columnName: 'id',
          type: 'uuid',
          isNullable: false,
          isUnique: false,
          isPrimaryKey: true,
          defaultValue: 'gen_random_uuid()',
        });
        auto.push('id');
      }
      for (const name of ['created_at', 'updated_at']) {
        if (!columns.some((c) => c.columnName === name)) {
          columns.push({
            columnName: name,
            type: 'datetime',
            isNullable: false,
            isUnique: false,
            defaultValue: 'now()',
          });
          auto.push(name);
        }
      }
    }
    if (columns.length === 0) {
      throw new AppError(
        400,
        'DATABASE_VALIDATION_ERROR',
        'columns: at least one column is required (or autoFields: true)',
      );
    }

    await this.db.withPrincipal(principal, async (tx) => {
      const defs: string[] = [];
      for (const c of columns) {
        const index = input.columns.indexOf(c);
        defs.push(
          await columnSql(tx, c, index >= 0 ? `columns[${index}]` : `autoFields.${c.columnName}`),
        );
      }
      const pk = columns.filter((c) => c.isPrimaryKey).map((c) => q(c.columnName));
      if (pk.length) defs.push(`PRIMARY KEY (${pk.join(', ')})`);
      for (const [i, fk] of (input.foreignKeys ?? []).entries()) {
        defs.push(
          await foreignKeySql(
            tx,
            schema,
            table,
            fk,
            `foreignKeys[${i}]`,
            new Set(columns.map((c) => c.columnName)),
          ),
        );
      }
      await tx.query(`CREATE TABLE ${qualified(schema, table)} (${defs.join(', ')})`, []);
      if (columns.some((c) => c.columnName === 'updated_at') && auto.includes('updated_at')) {
        await tx.query(
          `CREATE TRIGGER ${q(`${table.slice(0, 40)}_touch_updated_at`)} BEFORE UPDATE ON ${qualified(schema, table)} FOR EACH ROW EXECUTE FUNCTION system.touch_updated_at()`,
          [],
        );
      }
      // On unless the caller turned it off (the schema's default): a table is never born open.
      if (input.rlsEnabled !== false)
        await tx.query(`ALTER TABLE ${qualified(schema, table)} ENABLE ROW LEVEL SECURITY`, []);
    });
    await this.cache.reload();
    return {
      schemaName: schema,
      tableName: table,
      columns: answeredColumns(await listColumns(this.db.pool, schema, table)),
      autoFields: auto,
      rlsEnabled: input.rlsEnabled !== false,
      message: `Table "${table}" created`,
      nextActions:
        input.rlsEnabled !== false
          ? `RLS is on and no policy exists yet: add policies (POST /api/database/policies) before users can read or write "${table}".`
          : `RLS is off (rlsEnabled: false): anyone holding the anon key can read, change and delete every row of "${table}" at /api/database/records/${table}. Turn it on (PATCH /api/database/tables/${table}/schema {"rlsEnabled": true}) and add policies unless the table is meant to be public.`,
    };
  }

  async alter(
    principal: Principal,
    schemaName: string | undefined,
    tableName: string,
    input: AlterTableRequest,
  ) {
    const schema = this.schemaFor(schemaName);
    const table = identifier(tableName, 'table');
    const target = qualified(schema, table);
    const operations: string[] = [];
    let finalName = table;
    await this.db.withPrincipal(principal, async (tx) => {
      const exists = await tx.query(
        `SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')`,
        [schema, table],
      );
      if (!exists.rowCount)
        throw new AppError(404, 'DATABASE_NOT_FOUND', `Table "${schema}.${table}" does not exist`);
      // `target` names the request field of the column, constraint or index a step changes:
      // when there is no such thing, the answer is 404 naming that field.
      const run = async (sql: string, description: string, target?: string) => {
        try {
          await tx.query(sql, []);
        } catch (err) {
          throw target ? missingTarget(err, target) : err;
        }
        operations.push(description);
      };
      for (const [i, name] of (input.dropForeignKeys ?? []).entries()) {
        await run(
          `ALTER TABLE ${target} DROP CONSTRAINT ${q(identifier(name, `dropForeignKeys[${i}]`))}`,
          `dropped foreign key ${name}`,
          `dropForeignKeys[${i}]`,
        );
      }
      for (const [i, name] of (input.dropConstraints ?? []).entries()) {
        await run(
          `ALTER TABLE ${target} DROP CONSTRAINT ${q(identifier(name, `dropConstraints[${i}]`))}`,
          `dropped constraint ${name}`,
          `dropConstraints[${i}]`,
        );
      }
      for (const [i, name] of (input.dropIndexes ?? []).entries()) {
        await run(
          `DROP INDEX ${qualified(schema, identifier(name, `dropIndexes[${i}]`))}`,
          `dropped index ${name}`,
          `dropIndexes[${i}]`,
        );
      }
      for (const [i, name] of (input.dropColumns ?? []).entries()) {
        await run(
          `ALTER TABLE ${target} DROP COLUMN ${q(identifier(name, `dropColumns[${i}]`))}`,
          `dropped column ${name}`,
          `dropColumns[${i}]`,
        );
      }
      for (const [i, c] of (input.addColumns ?? []).entries()) {
        identifier(c.columnName, `addColumns[${i}].columnName`);
        await run(
          `ALTER TABLE ${target} ADD COLUMN ${await columnSql(tx, c, `addColumns[${i}]`)}`,
          `added column ${c.columnName}`,
        );
        if (c.isPrimaryKey)
          await run(
            `ALTER TABLE ${target} ADD PRIMARY KEY (${q(c.columnName)})`,
            `made ${c.columnName} the primary key`,
          );
      }
      for (const [i, u] of (input.updateColumns ?? []).entries()) {
        const field = `updateColumns[${i}]`;
        let column = identifier(u.columnName, `${field}.columnName`);
        if (u.type !== undefined) {
          const type = await resolveType(tx, u.type, `${field}.type`);
          const using = u.using !== undefined ? u.using : `${q(column)}::${type}`;
          await run(
            `ALTER TABLE ${target} ALTER COLUMN ${q(column)} TYPE ${type} USING ${using}`,
            `changed ${column} to ${type}`,
            field,
          );
        }
        if (u.defaultValue !== undefined) {
          await run(
            u.defaultValue === null
              ? `ALTER TABLE ${target} ALTER COLUMN ${q(column)} DROP DEFAULT`
              : `ALTER TABLE ${target} ALTER COLUMN ${q(column)} SET DEFAULT ${defaultExpression(u.defaultValue)}`,
            u.defaultValue === null ? `dropped default of ${column}` : `set default of ${column}`,
            field,
          );
        }
        if (u.isNullable !== undefined) {
          await run(
            `ALTER TABLE ${target} ALTER COLUMN ${q(column)} ${u.isNullable ? 'DROP' : 'SET'} NOT NULL`,
            `${column} ${u.isNullable ? 'accepts' : 'refuses'} nulls`,
            field,
          );
        }
        if (u.isUnique !== undefined) {
          const constraint = `${table.slice(0, 30)}_${column.slice(0, 28)}_key`;
          await run(
            u.isUnique
              ? `ALTER TABLE ${target} ADD CONSTRAINT ${q(constraint)} UNIQUE (${q(column)})`
              : `ALTER TABLE ${target} DROP CONSTRAINT ${q(constraint)}`,
            `${column} ${u.isUnique ? 'is' : 'is no longer'} unique`,
            field,
          );
        }
        if (u.newColumnName !== undefined) {
          const renamed = identifier(u.newColumnName, `${field}.newColumnName`);
          await run(
            `ALTER TABLE ${target} RENAME COLUMN ${q(column)} TO ${q(renamed)}`,
            `renamed ${column} to ${renamed}`,
            field,
          );
          column = renamed;
        }
      }
      for (const [i, u] of (input.addUniqueConstraints ?? []).entries()) {
        const cols = u.columns.map((c, j) =>
          q(identifier(c, `addUniqueConstraints[${i}].columns[${j}]`)),
        );
        const name = u.constraintName
          ? identifier(u.constraintName, `addUniqueConstraints[${i}].constraintName`)
          : undefined;
        await run(
          `ALTER TABLE ${target} ADD ${name ? `CONSTRAINT ${q(name)} ` : ''}UNIQUE (${cols.join(', ')})`,
          `added unique (${u.columns.join(', ')})`,
        );
      }
      const tableColumns = new Set((await listColumns(tx, schema, table)).map((c) => c.columnName));
      for (const [i, fk] of (input.addForeignKeys ?? []).entries()) {
        await run(
          `ALTER TABLE ${target} ADD ${await foreignKeySql(tx, schema, table, fk, `addForeignKeys[${i}]`, tableColumns)}`,
          `added foreign key to ${fk.referenceTable}`,
        );
      }
      for (const [i, idx] of (input.addIndexes ?? []).entries()) {
        const cols = idx.columns.map((c, j) => q(identifier(c, `addIndexes[${i}].columns[${j}]`)));
        const name = idx.indexName
          ? identifier(idx.indexName, `addIndexes[${i}].indexName`)
          : undefined;
        await run(
          `CREATE ${idx.unique ? 'UNIQUE ' : ''}INDEX ${name ? q(name) : ''} ON ${target} USING ${idx.method} (${cols.join(', ')})`,
          `added index on (${idx.columns.join(', ')})`,
        );
      }
      if (input.rlsEnabled !== undefined) {
        await run(
          `ALTER TABLE ${target} ${input.rlsEnabled ? 'ENABLE' : 'DISABLE'} ROW LEVEL SECURITY`,
          `RLS ${input.rlsEnabled ? 'enabled' : 'disabled'}`,
        );
      }
      if (input.renameTable) {
        finalName = identifier(input.renameTable.newTableName, 'renameTable.newTableName');
        await run(
          `ALTER TABLE ${target} RENAME TO ${q(finalName)}`,
          `renamed table to ${finalName}`,
        );
      }
    });
    await this.cache.reload();
    return {
      schemaName: schema,
      tableName: finalName,
      operations,
      message: operations.length ? `Table "${finalName}" changed` : 'Nothing to change',
    };
  }

  async drop(
    principal: Principal,
    schemaName: string | undefined,
    tableName: string,
    cascade: boolean,
  ) {
    const schema = this.schemaFor(schemaName);
    const table = identifier(tableName, 'table');
    await this.db.withPrincipal(principal, async (tx) => {
      try {
        await tx.query(`DROP TABLE ${qualified(schema, table)}${cascade ? ' CASCADE' : ''}`, []);
      } catch (err) {
        if (pgCode(err) === PG.dependentObjectsStillExist) {
          throw new AppError(
            409,
            'DATABASE_CONSTRAINT_VIOLATION',
            (err as Error).message,
            'Other objects depend on this table: drop them first, or pass ?cascade=true',
          );
        }
        if (pgCode(err) === PG.undefinedTable) {
          throw new AppError(
            404,
            'DATABASE_NOT_FOUND',
            `Table "${schema}.${table}" does not exist`,
          );
        }
        throw err;
      }
    });
    await this.cache.reload();
    return {
      schemaName: schema,
      tableName: table,
      message: `Table "${table}" deleted`,
      nextActions: 'Code that reads this table through the records API will now get 404 PGRST205.',
    };
  }
}

async function columnSql(tx: Tx, c: ColumnDefinition, field: string): Promise<string> {
  const type = await resolveType(tx, c.type, `${field}.type`);
  const parts = [q(c.columnName), type];
  if (c.isNullable === false || c.isPrimaryKey) parts.push('NOT NULL');
  if (c.defaultValue !== undefined && c.defaultValue !== null)
    parts.push(`DEFAULT ${defaultExpression(c.defaultValue)}`);
  if (c.isUnique && !c.isPrimaryKey) parts.push('UNIQUE');
  return parts.join(' ');
}

async function foreignKeySql(
  tx: Tx,
  schema: string,
  table: string,
  fk: ForeignKeyDefinition,
  field: string,
  localColumns: Set<string>,
): Promise<string> {
  const refSchema = fk.referenceSchema
    ? identifier(fk.referenceSchema, `${field}.referenceSchema`)
    : schema;
  const refTable = identifier(fk.referenceTable, `${field}.referenceTable`);
  const selfReference = refSchema === schema && refTable === table;
  let refColumns = localColumns;
  if (!selfReference) {
    const cols = await listColumns(tx, refSchema, refTable);
    if (!cols.length) {
      throw new AppError(
        400,
        'DATABASE_VALIDATION_ERROR',
        `${field}.referenceTable: table "${refSchema}.${refTable}" does not exist`,
      );
    }
    refColumns = new Set(cols.map((c) => c.columnName));
  }
  const source: string[] = [];
  const target: string[] = [];
  fk.referenceColumns.forEach((m, i) => {
    const s = identifier(m.sourceColumn, `${field}.referenceColumns[${i}].sourceColumn`);
    const r = identifier(m.referenceColumn, `${field}.referenceColumns[${i}].referenceColumn`);
    if (!localColumns.has(s)) {
      throw new AppError(
        400,
        'DATABASE_VALIDATION_ERROR',
        `${field}.referenceColumns[${i}].sourceColumn: column "${s}" does not exist in "${table}"`,
      );
    }
    if (!refColumns.has(r)) {
      throw new AppError(
        400,
        'DATABASE_VALIDATION_ERROR',
        `${field}.referenceColumns[${i}].referenceColumn: column "${r}" does not exist in "${refTable}"`,
      );
    }
    source.push(q(s));
    target.push(q(r));
  });
  const name = fk.constraintName
    ? `CONSTRAINT ${q(identifier(fk.constraintName, `${field}.constraintName`))} `
    : '';
  return `${name}FOREIGN KEY (${source.join(', ')}) REFERENCES ${qualified(refSchema, refTable)} (${target.join(', ')}) ON DELETE ${fk.onDelete} ON UPDATE ${fk.onUpdate}`;
}

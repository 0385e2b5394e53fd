/**
 * `/rpc/:fn`: picks the function by name and argument names, binds the arguments (from the body,
 * or the query string for GET/HEAD), and calls it. Functions returning rows go through the page
 * runner like a table read (select, filters, order, Range, count apply to their result).
 */
import type { Database } from '../../core/db.js';
import { quoteIdent as q } from '../../core/db.js';
import { PgrstError } from './errors.js';
import type { RequestContext } from './negotiate.js';
import { runPage } from './page.js';
import { buildReadPlan } from './plan.js';
import { assertMaxAffected, type Outcome } from './respond.js';
import type { DbFunction, SchemaCache, Table } from './schema-cache.js';
import { SqlParams, tableRef } from './sql.js';
import { inTransaction } from './transaction.js';

export async function rpc(
  db: Database,
  cache: SchemaCache,
  ctx: RequestContext,
  fnName: string,
): Promise<Outcome> {
  const isRead = ctx.req.method === 'GET' || ctx.req.method === 'HEAD';
  const args = rpcArguments(cache, ctx, fnName, isRead);
  const fn = pickFunction(cache, ctx.schema, fnName, Object.keys(args));
  const params = new SqlParams();
  const argSql = Object.entries(args).map(([name, value]) => {
    const arg = fn.args.find((a) => a.name === name)!;
    // A VARIADIC parameter takes its array whole; from the query string every value of the
    // (possibly repeated) parameter is one element.
    const bound = arg.variadic && isRead ? [value].flat() : value;
    return `${arg.variadic ? 'VARIADIC ' : ''}${q(name)} := ${params.add(argValue(bound, arg.type))}::${arg.type}`;
  });
  const call = `${tableRef(fn)}(${argSql.join(', ')})`;
  const readOnly = isRead || fn.volatility !== 'v';

  if (fn.returnsVoid) {
    // PostgREST: 204 No Content (postgrest-js and the SDK read it as null).
    return inTransaction(db, ctx, readOnly, async (tx) => {
      await tx.query(`SELECT ${call}`, params.values);
      return { status: 204, pageCount: 1, offset: 0, raw: true };
    });
  }
  const rowTable = fn.returnTable
    ? cache.getTable(fn.returnTable.schema, fn.returnTable.name)
    : syntheticTable(fn);
  if (!fn.returnsRows || !rowTable) {
    const sql = fn.returnsSet
      ? `SELECT coalesce(json_agg(_t.v), '[]'::json)::text AS body, count(*)::int AS n FROM ${call} AS _t(v)`
      : `SELECT to_json(${call})::text AS body, 1 AS n`;
    return inTransaction(db, ctx, readOnly, async (tx) => {
      const { rows } = await tx.query<{ body: string | null; n: number }>(sql, params.values);
      assertMaxAffected(ctx, rows[0]?.n ?? 0);
      return {
        status: 200,
        body: rows[0]?.body ?? 'null',
        pageCount: rows[0]?.n ?? 0,
        offset: 0,
        raw: !fn.returnsSet,
      };
    });
  }
  const node = buildReadPlan(cache, {
    table: rowTable,
    query: ctx.query,
    aggregates: ctx.aggregates,
    // GET/HEAD: the parameters taken as arguments are not filters.
    ...(isRead ? { skipKeys: new Set(Object.keys(args)) } : {}),
  });
  return runPage(db, ctx, {
    node,
    params,
    source: `SELECT * FROM ${call}`,
    readOnly,
    maxAffected: true,
    one: !fn.returnsSet,
  });
}

/** The call's arguments: the query string (GET/HEAD), the body, or the body as one parameter. */
function rpcArguments(
  cache: SchemaCache,
  ctx: RequestContext,
  fnName: string,
  isRead: boolean,
): Record<string, unknown> {
  if (isRead) {
    const all = cache.getFunctions(ctx.schema, fnName).flatMap((f) => f.args.map((a) => a.name));
    return Object.fromEntries(
      Object.entries(ctx.query)
        .filter(([k]) => all.includes(k))
        .map(([k, v]) => [k, v.length > 1 ? v : v[0]]),
    );
  }
  const body: unknown = ctx.req.body ?? {};
  if (ctx.prefs.paramsSingleObject) {
    const fns = cache.getFunctions(ctx.schema, fnName).filter((f) => f.args.length === 1);
    if (fns.length !== 1)
      throw new PgrstError(
        404,
        'PGRST202',
        `Could not find the function ${ctx.schema}.${fnName} with a single json parameter in the schema cache`,
      );
    return { [fns[0]!.args[0]!.name]: body };
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new PgrstError(
      400,
      'PGRST102',
      'Empty or invalid json',
      'RPC arguments must be a JSON object',
    );
  }
  return body as Record<string, unknown>;
}

function pickFunction(
  cache: SchemaCache,
  schema: string,
  name: string,
  argNames: string[],
): DbFunction {
  const candidates = cache.getFunctions(schema, name).filter((fn) => {
    const names = fn.args.map((a) => a.name);
    if (fn.args.length === 1 && argNames.length > 0 && !names[0]) return false;
    return (
      argNames.every((a) => names.includes(a)) &&
      fn.args.every((a) => a.hasDefault || argNames.includes(a.name))
    );
  });
  if (candidates.length === 1) return candidates[0]!;
  const signature = `${schema}.${name}(${argNames.join(', ')})`;
  if (candidates.length === 0) {
    throw new PgrstError(
      404,
      'PGRST202',
      `Could not find the function ${signature} in the schema cache`,
      `Searched for the function ${signature}${argNames.length ? ` with parameters ${argNames.join(', ')}` : ' without parameters'}, but no matches were found in the schema cache.`,
      null,
    );
  }
  throw new PgrstError(
    300,
    'PGRST203',
    `Could not choose the best candidate function between: ${candidates.map((f) => `${schema}.${name}(${f.args.map((a) => `${a.name} => ${a.type}`).join(', ')})`).join(', ')}`,
  );
}

function argValue(value: unknown, type: string): unknown {
  if (value === null || value === undefined) return null;
  if (type === 'json' || type === 'jsonb') return JSON.stringify(value);
  if (Array.isArray(value) && type.endsWith('[]')) return value;
  if (typeof value === 'object') return JSON.stringify(value);
  return value;
}

/** A table-shaped view of `RETURNS TABLE (...)` so select/filters can apply to its rows. */
function syntheticTable(fn: DbFunction): Table | undefined {
  if (!fn.outputColumns.length) return undefined;
  return {
    schema: fn.schema,
    name: fn.name,
    kind: 'view',
    columns: new Map(
      fn.outputColumns.map((c) => [
        c.name,
        {
          name: c.name,
          type: c.type,
          category: 'U',
          nullable: true,
          defaultExpr: null,
          identity: false,
          generated: false,
        },
      ]),
    ),
    primaryKey: [],
    uniqueKeys: [],
    insertable: false,
    updatable: false,
    deletable: false,
  };
}

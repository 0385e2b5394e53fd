/**
 * `/rpc/:fn`: picks the function by name and argument names, binds the arguments (from the body,
 * or the query string for GET/HEAD), and calls it. Functions returning rows go through the page
 * runner like a table read (select, filters, order, Range, count apply to their result).
 */
import type { Database } from '../../core/db.js';
import { quoteIdent as q } from '../../core/db.js';
import { JsonNumber, stringifyJson } from '../../core/json.js';
import { PgrstError } from './errors.js';
import type { RequestContext } from './negotiate.js';
import { pageOf, rangeStatus, runPage } from './page.js';
import { buildReadPlan, nonNegativeInt } from './plan.js';
import { assertMaxAffected, type Outcome } from './respond.js';
import type { DbFunction, SchemaCache, Table } from './schema-cache.js';
import { SqlParams, limitOffset, tableRef } from './sql.js';
import { inTransaction } from './transaction.js';

export async function rpc(
  db: Database,
  cache: SchemaCache,
  ctx: RequestContext,
  fnName: string,
): Promise<Outcome> {
  const isRead = ctx.req.method === 'GET' || ctx.req.method === 'HEAD';
  const whole = isRead ? undefined : wholeBodyFunction(cache, ctx, fnName);
  const args = whole
    ? { [whole.args[0]!.name]: ctx.req.body ?? {} }
    : rpcArguments(cache, ctx, fnName, isRead);
  const fn = whole ?? pickFunction(cache, ctx.schema, fnName, Object.keys(args));
  const params = new SqlParams();
  const argSql = Object.entries(args).map(([name, value]) => {
    const arg = fn.args.find((a) => a.name === name)!;
    // A VARIADIC parameter takes its array whole; from the query string every value of the
    // (possibly repeated) parameter is one element. An unnamed parameter goes by position.
    const bound = arg.variadic && isRead ? [value].flat() : value;
    const label = `${arg.variadic ? 'VARIADIC ' : ''}${name ? `${q(name)} := ` : ''}`;
    return `${label}${params.add(argValue(bound, arg.type))}::${arg.type}`;
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
    if (!fn.returnsSet) {
      return inTransaction(db, ctx, readOnly, async (tx) => {
        const { rows } = await tx.query<{ body: string | null }>(
          `SELECT to_json(${call})::text AS body`,
          params.values,
        );
        assertMaxAffected(ctx, 1);
        return { status: 200, body: rows[0]?.body ?? 'null', pageCount: 1, offset: 0, raw: true };
      });
    }
    // A set of scalars: limit/offset, Range and the count apply to it as to rows.
    const bounds = pageOf(ctx, {
      ...(ctx.query.limit ? { limit: nonNegativeInt('limit', ctx.query.limit[0]!) } : {}),
      ...(ctx.query.offset ? { offset: nonNegativeInt('offset', ctx.query.offset[0]!) } : {}),
    });
    const total = ctx.prefs.count ? ', (SELECT count(*) FROM _kiln_source)::bigint AS total' : '';
    const sql =
      `WITH _kiln_source AS MATERIALIZED (SELECT _t.v FROM ${call} AS _t(v)) ` +
      `SELECT coalesce(json_agg(_p.v), '[]'::json)::text AS body, count(*)::int AS n${total} ` +
      `FROM (SELECT v FROM _kiln_source${limitOffset(bounds, params)}) AS _p`;
    return inTransaction(db, ctx, readOnly, async (tx) => {
      const { rows } = await tx.query<{ body: string; n: number; total?: string }>(
        sql,
        params.values,
      );
      const row = rows[0]!;
      assertMaxAffected(ctx, row.n);
      const count = row.total === undefined ? undefined : Number(row.total);
      const offset = bounds.offset ?? 0;
      return {
        status: rangeStatus(offset, row.n, count),
        body: row.body,
        pageCount: row.n,
        offset,
        total: count,
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

/**
 * The function that takes a POST body whole, as one argument: with `Prefer: params=single-object`
 * the only overload with one parameter; without it, a function whose one parameter is unnamed and
 * json or jsonb (PostgREST's "single unnamed parameter").
 */
function wholeBodyFunction(
  cache: SchemaCache,
  ctx: RequestContext,
  fnName: string,
): DbFunction | undefined {
  const single = cache.getFunctions(ctx.schema, fnName).filter((f) => f.args.length === 1);
  if (ctx.prefs.paramsSingleObject) {
    if (single.length !== 1)
      throw new PgrstError(
        404,
        'PGRST202',
        `Could not find the function ${ctx.schema}.${fnName} with a single json parameter in the schema cache`,
      );
    return single[0];
  }
  const unnamed = single.filter(
    (f) => f.args[0]!.name === '' && (f.args[0]!.type === 'json' || f.args[0]!.type === 'jsonb'),
  );
  return unnamed.length === 1 ? unnamed[0] : undefined;
}

/** The call's arguments by name: the query string (GET/HEAD) or the body's keys. */
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

/**
 * An argument as a query parameter. Numbers the body held beyond a double's precision are
 * JsonNumbers (core/json.ts): their text is what PostgreSQL reads, in JSON and as a scalar.
 */
function argValue(value: unknown, type: string): unknown {
  if (value === null || value === undefined) return null;
  if (type === 'json' || type === 'jsonb') return stringifyJson(value);
  if (Array.isArray(value) && type.endsWith('[]')) return value;
  if (value instanceof JsonNumber) return value.text;
  if (typeof value === 'object') return stringifyJson(value);
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

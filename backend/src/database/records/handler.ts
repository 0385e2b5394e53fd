/**
 * `/api/database/records/:table` and `/api/database/rpc/:fn`: the PostgREST protocol over
 * HTTP, declared and dispatched. Each request is negotiated once (negotiate.ts), planned
 * (plan.ts) and run as one statement in the caller's transaction (transaction.ts): reads and
 * set-returning RPC through the page runner (page.ts), writes through writes.ts (statements in
 * write-sql.ts), calls through rpc.ts; respond.ts writes the answer.
 */
import type { Request, Response } from 'express';
import {
  RECORDS_REQUEST_HEADERS,
  postgrestErrorSchema,
  recordsQuerySchema,
  recordsBodySchema,
  recordsRowsSchema,
  recordsTableParamsSchema,
  rpcArgumentsSchema,
  rpcParamsSchema,
  rpcResultSchema,
} from '@kiln/shared-schemas';
import type { Database } from '../../core/db.js';
import type { Logger } from '../../core/logger.js';
import { route, type ResponseMap, type RouteGroup } from '../../core/route.js';
import { PgrstError } from './errors.js';
import { csvBody, jsonBody, negotiate, type RequestContext } from './negotiate.js';
import { runPage } from './page.js';
import { buildReadPlan } from './plan.js';
import { errorResponder, send, type Outcome } from './respond.js';
import { rpc } from './rpc.js';
import { answerOrPlan } from './transaction.js';
import type { SchemaCache, Table } from './schema-cache.js';
import { insert, remove, update, upsertOne } from './writes.js';

export interface RecordsOptions {
  jsonBodyLimit: string;
  /** Deepest nesting a JSON body may have (400 beyond). */
  jsonMaxDepth: number;
  logger: Logger;
  /** Most rows a read returns (PostgREST's db-max-rows); undefined = no cap. */
  maxRows?: number;
  /** Aggregates in select (DB_AGGREGATES_ENABLED). */
  aggregates?: boolean;
  /** Execution plans (DB_PLAN_ENABLED). */
  plans?: boolean;
}

function requireTable(cache: SchemaCache, schema: string, name: string): Table {
  const table = cache.getTable(schema, name);
  if (!table) {
    throw new PgrstError(
      404,
      'PGRST205',
      `Could not find the table '${schema}.${name}' in the schema cache`,
      null,
      null,
    );
  }
  return table;
}

/**
 * The PostgREST-protocol paths, declared (core/route.ts) for the docs and the contract tests but
 * parsed here: their grammar is PostgREST's, their errors PostgREST's shape, and nothing on this
 * hot path is parsed twice (`parse: false`, `guard: false`: context() reads the request once).
 */
export function recordsRoutes(
  db: Database,
  cache: SchemaCache,
  options: RecordsOptions,
): RouteGroup {
  const json = jsonBody(options.jsonBodyLimit);
  const csv = csvBody(options.jsonBodyLimit);
  const context = (req: Request, res: Response): RequestContext =>
    negotiate(req, res, cache, options);

  const handle =
    (fn: (ctx: RequestContext) => Promise<Outcome>) =>
    async ({ req, res }: { req: Request; res: Response }) => {
      const ctx = context(req, res);
      send(ctx, await answerOrPlan(fn(ctx)));
    };

  const records = handle(async (ctx) => {
    const table = requireTable(cache, ctx.schema, String(ctx.req.params.table));
    switch (ctx.req.method) {
      case 'GET':
      case 'HEAD':
        return runPage(db, ctx, {
          node: buildReadPlan(cache, { table, query: ctx.query, aggregates: ctx.aggregates }),
          readOnly: true,
        });
      case 'POST':
        return insert(db, cache, ctx, table);
      case 'PATCH':
        return update(db, cache, ctx, table);
      case 'PUT':
        return upsertOne(db, cache, ctx, table);
      case 'DELETE':
        return remove(db, cache, ctx, table);
      default:
        throw new PgrstError(405, 'PGRST117', `Unsupported HTTP method: ${ctx.req.method}`);
    }
  });
  const call = handle((ctx) => rpc(db, cache, ctx, String(ctx.req.params.fn)));

  // Errors on these paths use PostgREST's shape.
  const onError = errorResponder(options.logger);

  const protocol = {
    access: 'anyKey',
    guard: false,
    parse: false,
    before: [json, csv],
    query: recordsQuerySchema,
    requestHeaders: RECORDS_REQUEST_HEADERS,
  } as const;
  const rows = (description: string) => ({
    description,
    schema: recordsRowsSchema,
    content: ['json', 'text'] as const,
  });
  const empty = { description: 'Done (Prefer: return=minimal): no body' };
  const tableRoute = (
    method: 'get' | 'head' | 'post' | 'patch' | 'put' | 'delete',
    summary: string,
    responses: ResponseMap,
  ) =>
    route({
      ...protocol,
      method,
      path: '/records/:table',
      summary,
      params: recordsTableParamsSchema,
      ...(method === 'get' || method === 'head' ? {} : { body: recordsBodySchema }),
      responses,
      handler: records,
    });
  const rpcRoutes = (path: string) =>
    (['get', 'head', 'post'] as const).map((method) =>
      route({
        ...protocol,
        method,
        path,
        summary:
          method === 'post'
            ? 'Call a function with a JSON object of arguments'
            : 'Call a stable function with query-string arguments',
        params: rpcParamsSchema,
        ...(method === 'post' ? { body: rpcArgumentsSchema } : {}),
        responses: {
          200: { description: 'The result', schema: rpcResultSchema, content: ['json', 'text'] },
          204: { description: 'A void function ran: no body' },
          206: rows('A page of a set-returning function (Range)'),
        },
        handler: call,
      }),
    );
  return {
    tag: 'records',
    errorShape: { name: 'PostgrestError', schema: postgrestErrorSchema },
    onError,
    // Other methods on these paths: PostgREST's 405 (context() first, as before: its checks win).
    otherMethods: (req, res, next) => {
      try {
        context(req, res);
        throw new PgrstError(405, 'PGRST117', `Unsupported HTTP method: ${req.method}`);
      } catch (err) {
        next(err);
      }
    },
    routes: [
      tableRoute('get', 'Read rows', { 200: rows('Rows'), 206: rows('A page of rows (Range)') }),
      tableRoute('head', 'Count rows (Prefer: count=exact) without reading them', {
        200: { description: 'Headers only (Content-Range)' },
        206: { description: 'Headers only (Content-Range)' },
      }),
      tableRoute('post', 'Insert rows (upsert with Prefer: resolution=…)', {
        200: rows('An upsert that merged every row (Prefer: return=representation), or no body'),
        201: { ...rows('Inserted (Prefer: return=representation), or no body') },
      }),
      tableRoute('patch', 'Update the rows the filters select', {
        200: rows('Updated rows (Prefer: return=representation)'),
        204: empty,
      }),
      tableRoute('put', 'Upsert one row by its primary key (filters name it)', {
        200: rows('The replaced row (Prefer: return=representation)'),
        201: rows('The inserted row (Prefer: return=representation)'),
        204: empty,
      }),
      tableRoute('delete', 'Delete the rows the filters select', {
        200: rows('Deleted rows (Prefer: return=representation)'),
        204: empty,
      }),
      ...rpcRoutes('/rpc/:fn'),
      ...rpcRoutes('/records/rpc/:fn'),
    ],
  };
}

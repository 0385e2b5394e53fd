/**
 * Writing a records/RPC response: the status, Content-Range, Preference-Applied and other
 * headers, and the body in the negotiated format (JSON array, one object, CSV) — and errors in
 * PostgREST's shape. Operations return an Outcome; only this file touches the Response.
 */
import type { NextFunction, Request, Response } from 'express';
import { AppError, BusyError, toAppError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { PG } from '../../core/sql.js';
import { PgrstError, toPgrstError } from './errors.js';
import type { RequestContext } from './negotiate.js';

/** What an operation produced, before it is written out. */
export interface Outcome {
  status: number;
  /** JSON text of the rows (array), or undefined for no body. */
  body?: string;
  pageCount: number;
  total?: number;
  offset: number;
  headers?: Record<string, string>;
  /** The body is a scalar/object RPC result rather than rows. */
  raw?: boolean;
  /**
   * Content-Range as PostgREST words it for this kind of answer; by default the page's
   * `first-last/total`. `null`: none (a single-row upsert).
   */
  contentRange?: string | null;
  /** A Content-Type written as is (an execution plan's, with its parameters). */
  contentType?: string;
}

export function send(ctx: RequestContext, outcome: Outcome): void {
  const { res, req } = ctx;
  const applied = preferenceApplied(ctx);
  if (applied) res.setHeader('Preference-Applied', applied);
  if (outcome.headers) for (const k in outcome.headers) res.setHeader(k, outcome.headers[k]!);
  const range = outcome.contentRange === undefined ? contentRange(outcome) : outcome.contentRange;
  if (range !== null) res.setHeader('Content-Range', range);
  res.status(outcome.status);
  if (outcome.contentType && outcome.body !== undefined) {
    // Set as is: Express would reorder its parameters.
    res.setHeader('Content-Type', outcome.contentType);
    res.end(req.method === 'HEAD' ? undefined : outcome.body);
    return;
  }
  if (outcome.body === undefined || req.method === 'HEAD') {
    if (outcome.body !== undefined)
      res.type(CONTENT_TYPES[ctx.format === 'single' ? 'json' : ctx.format]);
    res.end();
    return;
  }
  if ((ctx.format === 'csv' || ctx.format === 'geojson') && !outcome.raw) {
    // Written by PostgreSQL (sql.ts wrapAsCsv, wrapAsGeoJson).
    writeText(res, `${CONTENT_TYPES[ctx.format]}; charset=utf-8`, outcome.body);
    return;
  }
  if (ctx.format === 'single' && !outcome.raw) {
    writeText(res, 'application/vnd.pgrst.object+json; charset=utf-8', singleObject(outcome.body));
    return;
  }
  writeText(res, 'application/json; charset=utf-8', outcome.body);
}

/**
 * A text body with its type, as Express's `res.type(t).send(body)` writes it here (no ETag, no
 * conditional GET on these paths), without reparsing the type it was given.
 */
function writeText(res: Response, contentType: string, body: string): void {
  res.setHeader('Content-Type', contentType);
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

const CONTENT_TYPES = {
  json: 'application/json',
  csv: 'text/csv',
  geojson: 'application/geo+json',
} as const;

/** Preference-Applied lists preferences in this order, as PostgREST does. */
const PREFERENCE_ORDER = [
  'resolution',
  'missing',
  'return',
  'count',
  'tx',
  'handling',
  'timezone',
  'max-affected',
  'params',
];

/**
 * The preferences this request applied, as PostgREST echoes them: `resolution` on inserts,
 * `missing` on inserts and updates, `return` on writes, `max-affected` (with handling=strict) on
 * updates, deletes and RPC, `params` on RPC; the rest always.
 */
function preferenceApplied(ctx: RequestContext): string | undefined {
  const method = ctx.req.method;
  const rpc = ctx.req.params.fn !== undefined;
  const applies: Record<string, boolean> = {
    resolution: !rpc && method === 'POST',
    missing: !rpc && (method === 'POST' || method === 'PATCH'),
    return: !rpc && method !== 'GET' && method !== 'HEAD',
    'max-affected':
      ctx.prefs.handling === 'strict' && (rpc || method === 'PATCH' || method === 'DELETE'),
    params: rpc,
  };
  const key = (token: string) => token.split('=')[0]!.trim();
  const rank = (token: string) => PREFERENCE_ORDER.indexOf(key(token));
  const tokens = ctx.prefs.applied
    .filter((t) => applies[key(t)] ?? true)
    .sort((a, b) => rank(a) - rank(b));
  return tokens.length ? tokens.join(', ') : undefined;
}

/** `Accept: application/vnd.pgrst.object+json` needs exactly one row (406 PGRST116 otherwise). */
export function assertSingle(ctx: RequestContext, count: number): void {
  if (ctx.format === 'single' && count !== 1) {
    throw new PgrstError(
      406,
      'PGRST116',
      'JSON object requested, multiple (or no) rows returned',
      `The result contains ${count} rows`,
      null,
    );
  }
}

/** `Prefer: handling=strict, max-affected=N`: 400 PGRST124 when more rows were touched. */
export function assertMaxAffected(ctx: RequestContext, count: number): void {
  const { maxAffected, handling } = ctx.prefs;
  if (handling === 'strict' && maxAffected !== undefined && count > maxAffected) {
    throw new PgrstError(
      400,
      'PGRST124',
      `Query result exceeds max-affected preference constraint`,
      `The query affects ${count} rows`,
      null,
    );
  }
}

function contentRange(outcome: Outcome): string {
  const total = outcome.total === undefined ? '*' : String(outcome.total);
  if (outcome.pageCount === 0) return `*/${total}`;
  return `${outcome.offset}-${outcome.offset + outcome.pageCount - 1}/${total}`;
}

/**
 * The one row of a JSON array (the caller already checked the count), cut out of PostgreSQL's
 * text: parsing it would round its numbers through doubles.
 */
function singleObject(json: string): string {
  return firstElement(json) ?? 'null';
}

/**
 * The text of the only element of a one-element JSON array as PostgreSQL's json_agg writes it
 * (`[` element `]`), or undefined for `[]`.
 */
export function firstElement(json: string): string | undefined {
  const inner = json.trim().slice(1, -1).trim();
  return inner.length ? inner : undefined;
}

/** The error handler of these paths: PostgREST's shape, Retry-After when busy. */
export function errorResponder(logger: Logger) {
  return (err: unknown, req: Request, res: Response, next: NextFunction): void => {
    if (res.headersSent) return next(err);
    const anonymous = req.auth?.kind !== 'principal' || req.auth.principal.role === 'anon';
    let error: PgrstError;
    const bodyErr = err as { type?: string };
    if (bodyErr?.type === 'entity.parse.failed')
      error = new PgrstError(400, 'PGRST102', 'Empty or invalid json');
    else if (bodyErr?.type === 'entity.too.large')
      error = new PgrstError(413, 'PGRST413', 'Payload Too Large');
    else if (err instanceof AppError) error = new PgrstError(err.status, err.code, err.message);
    else if (withoutPostgis(err, req))
      error = new PgrstError(
        406,
        'PGRST107',
        'None of these media types are available: application/geo+json',
        'GeoJSON answers need the PostGIS extension (its st_asgeojson function)',
        null,
      );
    else error = toPgrstError(err, anonymous);
    // Busy, not broken (a full pool, this client's share taken, a statement timeout): say when
    // to come back.
    // A database error can be one too (the connection ended under the request: 57P01, 08xxx).
    for (const [k, v] of Object.entries(error.headers ?? {})) res.setHeader(k, v);
    const asBusy = err instanceof BusyError ? err : toAppError(err);
    if (error.status === 429 || error.status === 503) {
      res.setHeader(
        'Retry-After',
        String(asBusy instanceof BusyError ? asBusy.retryAfterSeconds : 1),
      );
    }
    const busy = asBusy instanceof BusyError || [PG.queryCanceled, 'PGRST003'].includes(error.code);
    if (error.status >= 500 && !busy) {
      logger.error('records request failed', {
        requestId: req.requestId,
        path: req.originalUrl,
        error: err instanceof Error ? { message: err.message, stack: err.stack } : String(err),
      });
    }
    res.status(error.status).json(error.body);
  };
}

/** A GeoJSON answer asked of a database without PostGIS: st_asgeojson does not exist. */
function withoutPostgis(err: unknown, req: Request): boolean {
  return (
    /application\/geo\+json/i.test(req.get('accept') ?? '') &&
    (err as { code?: string })?.code === PG.undefinedFunction &&
    /st_asgeojson/i.test((err as Error).message)
  );
}

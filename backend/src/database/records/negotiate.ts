/**
 * Content negotiation for the records and RPC paths, done once per request: who is calling, which
 * exposed schema (Accept-Profile / Content-Profile), which representation (Accept), which
 * preferences (Prefer), the query string, and which bodies are JSON (Content-Type). Everything
 * downstream reads the RequestContext built here and nothing reads these headers again.
 */
import { parse as parseCsv } from 'csv-parse/sync';
import express, { type Request, type RequestHandler, type Response } from 'express';
import type { Principal } from '../../core/db.js';
import { jsonProblem, urlProblem } from '../../core/http.js';
import { parseJsonExact } from '../../core/json.js';
import { PG } from '../../core/sql.js';
import { PgrstError } from './errors.js';
import { parsePrefer, type Preferences } from './parse.js';
import type { SchemaCache } from './schema-cache.js';

/** The query string, every key with all its values in order. */
export type Query = Record<string, string[]>;

/**
 * The representation the client accepts: a JSON array, one object, CSV, or a GeoJSON
 * FeatureCollection (needs PostGIS's st_asgeojson; 406 without it).
 */
export type Format = 'json' | 'single' | 'csv' | 'geojson';

/** `Accept: application/vnd.pgrst.plan[+json|+text]; for="…"; options=analyze|…` */
export interface PlanRequest {
  format: 'json' | 'text';
  /** The media type whose statement is explained, as PostgREST names it. */
  for: string;
  /** EXPLAIN options, as given. */
  options: string[];
}

const PLAN_OPTIONS = new Set(['analyze', 'verbose', 'settings', 'buffers', 'wal']);

export interface RequestContext {
  req: Request;
  res: Response;
  principal: Principal;
  schema: string;
  prefs: Preferences;
  format: Format;
  /** The execution plan is asked for instead of the answer (DB_PLAN_ENABLED). */
  plan?: PlanRequest;
  query: Query;
  /** Most rows a read returns (DB_MAX_ROWS); undefined = no cap. */
  maxRows?: number;
  /** Aggregates allowed in select (DB_AGGREGATES_ENABLED). */
  aggregates: boolean;
}

export interface NegotiationOptions {
  /** Deepest nesting a JSON body may have (400 beyond). */
  jsonMaxDepth: number;
  maxRows?: number;
  /** DB_AGGREGATES_ENABLED */
  aggregates?: boolean;
  /** DB_PLAN_ENABLED */
  plans?: boolean;
}

const JSON_TYPES = ['application/json', 'application/*+json'];

/**
 * The body parser: JSON and any `+json` media type, scalars allowed (RPC single parameters).
 * Numbers are kept as the client wrote them (core/json.ts): PostgreSQL reads their text, so a
 * numeric or bigint value is stored exactly or refused, never rounded through a double.
 */
export function jsonBody(limit: string): RequestHandler {
  const read = express.text({ limit, type: JSON_TYPES });
  return (req, res, next) => {
    read(req, res, (err?: unknown) => {
      if (err || typeof req.body !== 'string' || !req.is(JSON_TYPES)) return next(err);
      const text = req.body;
      try {
        // An empty body is an empty object, as express.json reads it.
        req.body = text.length ? parseJsonExact(text) : {};
      } catch {
        return next(
          Object.assign(new SyntaxError('Invalid JSON body'), {
            status: 400,
            type: 'entity.parse.failed',
          }),
        );
      }
      next();
    });
  };
}

/** `Content-Type: text/csv` bodies, read as text; negotiate() turns them into rows. */
export function csvBody(limit: string): RequestHandler {
  return express.text({ limit, type: 'text/csv' });
}

/**
 * A CSV body as PostgREST reads it: the first line names the columns, every other line is a row
 * whose values are strings, except `NULL`, which is null. Every line has as many fields.
 */
function csvRows(text: string): Array<Record<string, string | null>> {
  let records: string[][];
  try {
    records = parseCsv(text, { bom: true, skip_empty_lines: true }) as string[][];
  } catch (err) {
    throw new PgrstError(400, 'PGRST102', (err as Error).message.slice(0, 300));
  }
  const [header, ...lines] = records;
  if (!header) throw new PgrstError(400, 'PGRST102', 'Empty or invalid CSV');
  return lines.map((fields) =>
    Object.fromEntries(header.map((name, i) => [name, fields[i] === 'NULL' ? null : fields[i]!])),
  );
}

/** Reads the request once into a RequestContext; PostgREST's 4xx for anything it cannot serve. */
export function negotiate(
  req: Request,
  res: Response,
  cache: Pick<SchemaCache, 'exposedSchemas'>,
  options: NegotiationOptions,
): RequestContext {
  // Nothing PostgreSQL cannot take goes further: NUL characters, bottomless nesting.
  const badUrl = urlProblem(req.originalUrl);
  if (badUrl) throw new PgrstError(400, 'PGRST100', badUrl);
  if (typeof req.body === 'string' && req.is('text/csv')) req.body = csvRows(req.body);
  const badBody = jsonProblem(req.body, options.jsonMaxDepth);
  if (badBody?.kind === 'depth') throw new PgrstError(400, 'PGRST102', badBody.message);
  // What PostgreSQL itself answers for "\u0000" in jsonb.
  if (badBody) throw new PgrstError(400, PG.untranslatableCharacter, badBody.message);
  const principal = principalFor(req);
  const prefs = parsePrefer(req.headers.prefer);
  if (prefs.handling === 'strict' && prefs.invalid.length) {
    throw new PgrstError(
      400,
      'PGRST122',
      `Invalid preferences given with handling=strict`,
      `Invalid preferences: ${prefs.invalid.join(', ')}`,
      null,
    );
  }
  return {
    req,
    res,
    principal,
    schema: schemaFor(req, cache.exposedSchemas),
    prefs,
    ...formatAndPlan(req, options.plans ?? false),
    query: queryOf(req),
    maxRows: options.maxRows,
    aggregates: options.aggregates ?? false,
  };
}

function queryOf(req: Request): Query {
  const url = new URL(req.originalUrl, 'http://kiln.local');
  const out: Query = {};
  for (const [k, v] of url.searchParams) (out[k] ??= []).push(v);
  return out;
}

function principalFor(req: Request): Principal {
  const auth = req.auth;
  if (auth.kind === 'principal') return auth.principal;
  if (auth.kind === 'rejected') {
    throw new PgrstError(401, 'PGRST301', auth.error.message, null, auth.error.nextActions ?? null);
  }
  throw new PgrstError(
    401,
    'PGRST302',
    'Anonymous access is disabled',
    null,
    'Send the anon key or an access token as Authorization: Bearer <token>',
  );
}

function schemaFor(req: Request, exposed: string[]): string {
  const read = req.method === 'GET' || req.method === 'HEAD';
  const header = req.get(read ? 'accept-profile' : 'content-profile');
  if (!header) return exposed[0]!;
  if (!exposed.includes(header)) {
    throw new PgrstError(
      406,
      'PGRST106',
      `The schema must be one of the following: ${exposed.join(', ')}`,
      null,
      null,
    );
  }
  return header;
}

/** The Accept header: a plan of a representation, or the representation itself. */
function formatAndPlan(
  req: Request,
  plansEnabled: boolean,
): { format: Format; plan?: PlanRequest } {
  const accept = req.get('accept') ?? '';
  for (const part of accept.split(',')) {
    const [type, ...rawParams] = part.split(';').map((s) => s.trim());
    const m = /^application\/vnd\.pgrst\.plan(?:\+(json|text))?$/i.exec(type ?? '');
    if (!m) continue;
    const unavailable = new PgrstError(
      406,
      'PGRST107',
      `None of these media types are available: ${accept.slice(0, 200)}`,
    );
    if (!plansEnabled) throw unavailable;
    const params = new Map(
      rawParams
        .filter(Boolean)
        .map((p) => [p.split('=')[0]!.trim().toLowerCase(), p.slice(p.indexOf('=') + 1).trim()]),
    );
    const target = (params.get('for') ?? 'application/json').replace(/^"(.*)"$/, '$1');
    const formats: Record<string, Format> = {
      'application/json': 'json',
      'application/vnd.pgrst.object': 'single',
      'application/vnd.pgrst.object+json': 'single',
      'text/csv': 'csv',
    };
    const format = formats[target.toLowerCase()];
    const options = (params.get('options') ?? '').split('|').filter(Boolean);
    if (!format || options.some((o) => !PLAN_OPTIONS.has(o))) throw unavailable;
    return {
      format,
      plan: {
        format: (m[1]?.toLowerCase() as 'json' | 'text' | undefined) ?? 'text',
        for: format === 'single' ? 'application/vnd.pgrst.object+json' : target.toLowerCase(),
        options,
      },
    };
  }
  return { format: formatFor(req) };
}

function formatFor(req: Request): Format {
  const accept = req.get('accept');
  if (!accept) return 'json';
  for (const part of accept.split(',')) {
    const type = part.split(';')[0]!.trim().toLowerCase();
    if (type === 'application/vnd.pgrst.object+json' || type === 'application/vnd.pgrst.object')
      return 'single';
    if (type === 'text/csv') return 'csv';
    if (type === 'application/geo+json') return 'geojson';
    if (type === 'application/json' || type === '*/*' || type === 'application/*' || type === '')
      return 'json';
  }
  throw new PgrstError(
    406,
    'PGRST107',
    `None of these media types are available: ${accept.slice(0, 200)}`,
  );
}

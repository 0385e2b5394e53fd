/**
 * The records and RPC paths (`/api/database/records/{table}`, `/api/database/rpc/{fn}`) speak
 * PostgREST's protocol: their query grammar (filters `column=op.value`, `select` with embeds,
 * `order`, `or=(…)`), headers (`Prefer`, `Range`, `Accept-Profile`) and error shape are
 * PostgREST's. These schemas document that surface; the grammar itself is parsed by the records
 * handler, not by zod (a hot path: nothing is parsed twice).
 */
import { z } from 'zod';

export const recordsTableParamsSchema = z.object({
  table: z.string().describe('A table or view of an exposed schema'),
});

export const rpcParamsSchema = z.object({
  fn: z.string().describe('A function of an exposed schema'),
});

/** The reserved query parameters; every other `column=op.value` is a filter. */
export const recordsQuerySchema = z.looseObject({
  select: z
    .string()
    .optional()
    .describe('Columns and embeds, e.g. `id,title,author:authors(name)`'),
  order: z.string().optional().describe('e.g. `created_at.desc.nullslast,id`'),
  limit: z.string().optional().describe('Rows at most'),
  offset: z.string().optional().describe('Rows to skip'),
  on_conflict: z.string().optional().describe('Upsert: the unique columns to resolve on'),
  columns: z.string().optional().describe('Insert: the columns to take from the body'),
  or: z.string().optional().describe('e.g. `(age.lt.18,age.gt.65)`'),
  and: z.string().optional().describe('e.g. `(age.gte.18,age.lte.65)`'),
});

/** Request headers of the records and RPC paths. */
export const RECORDS_REQUEST_HEADERS = {
  Prefer:
    'return=minimal|headers-only|representation, count=exact|planned|estimated, ' +
    'resolution=merge-duplicates|ignore-duplicates, missing=default, tx=rollback, ' +
    'handling=strict|lenient, max-affected=<n>',
  Range: 'Rows to answer, e.g. `0-9` (with Range-Unit: items)',
  Accept: '`application/json` (rows), `application/vnd.pgrst.object+json` (one row), `text/csv`',
  'Accept-Profile': 'The schema to read from (one of the exposed schemas)',
  'Content-Profile': 'The schema to write to (one of the exposed schemas)',
} as const;

/** Rows as JSON (an array, or one object with Accept: application/vnd.pgrst.object+json). */
export const recordsRowsSchema = z.union([
  z.array(z.record(z.string(), z.unknown())),
  z.record(z.string(), z.unknown()),
]);

/** A function's result: rows, a scalar, or null. */
export const rpcResultSchema = z.unknown();

/** Errors on these paths: PostgREST's shape, not Kiln's envelope. */
export const postgrestErrorSchema = z.object({
  code: z.string().describe('A PGRST… code or a PostgreSQL SQLSTATE'),
  message: z.string(),
  details: z.unknown(),
  hint: z.string().nullable(),
});
export type PostgrestError = z.infer<typeof postgrestErrorSchema>;

/** Writes: a row, or an array of rows (CSV with Content-Type: text/csv). */
export const recordsBodySchema = z.union([
  z.record(z.string(), z.unknown()),
  z.array(z.record(z.string(), z.unknown())),
]);

/** RPC with POST: the function's arguments by name (or one unnamed json/jsonb argument). */
export const rpcArgumentsSchema = z.record(z.string(), z.unknown());

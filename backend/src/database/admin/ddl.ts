/**
 * Building blocks for admin DDL: identifier checks, type resolution and default values. Every
 * name is validated and quoted; values never reach SQL text unescaped.
 */
import pg from 'pg';
import { FRIENDLY_TYPES } from '@kiln/shared-schemas';
import { quoteIdent as q, type Tx } from '../../core/db.js';
import { AppError } from '../../core/errors.js';

/** SQL key words PostgreSQL reserves (and a few that only confuse), refused as names. */
const RESERVED = new Set(
  (
    'all analyse analyze and any array as asc asymmetric authorization binary both case cast check ' +
    'collate collation column concurrently constraint create cross current_catalog current_date ' +
    'current_role current_schema current_time current_timestamp current_user default deferrable desc ' +
    'distinct do else end except false fetch for foreign freeze from full grant group having ilike in ' +
    'initially inner intersect into is isnull join lateral leading left like limit localtime ' +
    'localtimestamp natural not notnull null offset on only or order outer overlaps placing primary ' +
    'references returning right select session_user similar some symmetric system_user table tablesample ' +
    'then to trailing true union unique user using variadic verbose when where window with ' +
    'oid xmin xmax cmin cmax ctid tableoid'
  ).split(' '),
);

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A valid, unreserved identifier, or a 400 naming the field. */
export function identifier(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new AppError(400, 'DATABASE_VALIDATION_ERROR', `${field}: is required`);
  }
  if (value.length > 63) {
    throw new AppError(
      400,
      'DATABASE_VALIDATION_ERROR',
      `${field}: "${value.slice(0, 40)}…" is longer than 63 characters`,
    );
  }
  if (!IDENTIFIER.test(value)) {
    throw new AppError(
      400,
      'DATABASE_VALIDATION_ERROR',
      `${field}: "${value.slice(0, 63)}" is not a valid name (use letters, digits and _, not starting with a digit)`,
    );
  }
  if (RESERVED.has(value.toLowerCase()) || value.toLowerCase().startsWith('pg_')) {
    throw new AppError(400, 'DATABASE_VALIDATION_ERROR', `${field}: "${value}" is a reserved name`);
  }
  return value;
}

const RAW_TYPE =
  /^[A-Za-z_][A-Za-z0-9_]*( [A-Za-z_][A-Za-z0-9_]*)*(\(\d{1,4}(, ?\d{1,4})?\))?(\[\])*$/;

/**
 * The PostgreSQL type for a column: a friendly name (string, integer, …) or a PostgreSQL type
 * that exists in this database (checked with to_regtype).
 */
export async function resolveType(tx: Tx, type: string, field: string): Promise<string> {
  const friendly = FRIENDLY_TYPES[type.toLowerCase() as keyof typeof FRIENDLY_TYPES];
  if (friendly) return friendly;
  const trimmed = type.trim();
  if (!RAW_TYPE.test(trimmed)) {
    throw new AppError(
      400,
      'DATABASE_VALIDATION_ERROR',
      `${field}: "${type.slice(0, 60)}" is not a type name`,
    );
  }
  const { rows } = await tx.query<{ ok: boolean }>('SELECT to_regtype($1) IS NOT NULL AS ok', [
    trimmed,
  ]);
  if (!rows[0]?.ok) {
    throw new AppError(
      400,
      'DATABASE_VALIDATION_ERROR',
      `${field}: unknown type "${type.slice(0, 60)}"`,
      `Use one of ${Object.keys(FRIENDLY_TYPES).join(', ')}, or a PostgreSQL type name`,
    );
  }
  return trimmed;
}

/** Expressions allowed as defaults besides literals. */
const DEFAULT_FUNCTIONS = new Map<string, string>([
  ['now()', 'now()'],
  ['current_timestamp', 'CURRENT_TIMESTAMP'],
  ['current_date', 'CURRENT_DATE'],
  ['current_time', 'CURRENT_TIME'],
  ['gen_random_uuid()', 'gen_random_uuid()'],
  ['uuid_generate_v4()', 'gen_random_uuid()'],
  ['auth.uid()', 'auth.uid()'],
  ['auth.email()', 'auth.email()'],
  ['auth.role()', 'auth.role()'],
]);

/**
 * A DEFAULT clause body: a known function (now(), gen_random_uuid(), auth.uid()…), a number,
 * true/false/null, or else the text as a quoted literal (cast by PostgreSQL to the column type).
 */
export function defaultExpression(value: string): string {
  const v = value.trim();
  const fn = DEFAULT_FUNCTIONS.get(v.toLowerCase());
  if (fn) return fn;
  if (/^-?\d+(\.\d+)?$/.test(v)) return v;
  if (/^(true|false|null)$/i.test(v)) return v.toUpperCase();
  // A quoted literal as typed in SQL ('abc'): take what is inside the quotes.
  const quoted = /^'((?:[^']|'')*)'$/.exec(v);
  const text = quoted ? quoted[1]!.replace(/''/g, "'") : value;
  return pg.escapeLiteral(text);
}

export function qualified(schema: string, name: string): string {
  return `${q(schema)}.${q(name)}`;
}

export { q };

/**
 * The one place SQL text is made safe: quoting of identifiers and literals, and reading the
 * SQLSTATE of a PostgreSQL error. Values from requests travel as parameters; these helpers are
 * for names and for the few constants SQL cannot take as a parameter.
 */

/** Quotes an identifier for SQL (the one helper every area uses for names). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Quotes a string constant for SQL (standard_conforming_strings: only quotes are doubled). */
export function quoteLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** The fields of an error PostgreSQL sent (node-postgres's DatabaseError). */
export interface PgError {
  code: string;
  message: string;
  severity: string;
  detail?: string;
  hint?: string;
  position?: string;
  constraint?: string;
  table?: string;
  column?: string;
}

/** Whether `err` is an error PostgreSQL sent: a five-character SQLSTATE and a severity. */
export function isPgError(err: unknown): err is PgError {
  return (
    typeof err === 'object' &&
    err !== null &&
    typeof (err as PgError).code === 'string' &&
    /^[0-9A-Z]{5}$/.test((err as PgError).code) &&
    'severity' in err
  );
}

/** The SQLSTATE of an error PostgreSQL sent, else undefined (any other error). */
export function pgCode(err: unknown): string | undefined {
  return isPgError(err) ? err.code : undefined;
}

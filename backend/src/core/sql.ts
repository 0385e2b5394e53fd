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

/**
 * The SQLSTATE codes Kiln looks at, by PostgreSQL's condition name (camelCased; the appendix
 * "PostgreSQL Error Codes"). Code compares `pgCode(err) === PG.uniqueViolation`; no other file
 * spells a SQLSTATE. A PostgREST-style response that carries a SQLSTATE as its `code` uses these
 * too.
 */
export const PG = {
  // Class 08/28/3D/53/57P: the server or the connection, not the request…
  adminShutdown: '57P01',
  crashShutdown: '57P02',
  cannotConnectNow: '57P03',
  queryCanceled: '57014',
  configurationLimitExceeded: '53400',
  // …except a protocol violation: Kiln's driver speaks the protocol correctly, so what breaks
  // it is the request's content (a bind message with fewer parameters than the statement's
  // placeholders).
  protocolViolation: '08P01',
  // Class 22: data exceptions.
  untranslatableCharacter: '22P05',
  // Class 23: integrity constraint violations.
  notNullViolation: '23502',
  foreignKeyViolation: '23503',
  uniqueViolation: '23505',
  checkViolation: '23514',
  exclusionViolation: '23P01',
  // Class 25/2B/3F/40.
  readOnlySqlTransaction: '25006',
  dependentObjectsStillExist: '2BP01',
  invalidSchemaName: '3F000',
  serializationFailure: '40001',
  deadlockDetected: '40P01',
  // Class 42: syntax errors and access rule violations.
  insufficientPrivilege: '42501',
  undefinedColumn: '42703',
  undefinedFunction: '42883',
  undefinedTable: '42P01',
  undefinedObject: '42704',
  duplicateColumn: '42701',
  duplicateObject: '42710',
  duplicateAlias: '42712',
  duplicateFunction: '42723',
  duplicateDatabase: '42P04',
  duplicateSchema: '42P06',
  duplicateTable: '42P07',
  // Class 54.
  programLimitExceeded: '54000',
  statementTooComplex: '54001',
  // Class P0: PL/pgSQL (a plain RAISE EXCEPTION).
  raiseException: 'P0001',
} as const;

export type PgCode = (typeof PG)[keyof typeof PG];

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
  /** The server function that raised it (`errorMissingRTE`…): tells apart errors one SQLSTATE shares. */
  routine?: string;
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

import { isPoolTimeout } from '../../core/errors.js';
import { PG, isPgError } from '../../core/sql.js';

/**
 * Errors on the records and RPC paths use PostgREST's shape `{code, message, details, hint}`
 * (the SDK and postgrest-js read it), not Kiln's envelope.
 */
export interface PgrstBody {
  code: string;
  message: string;
  details: unknown;
  hint: string | null;
}

export class PgrstError extends Error {
  /** Headers the answer carries besides the body (e.g. Content-Range on a 416). */
  headers?: Record<string, string>;

  constructor(
    public readonly status: number,
    public readonly code: string,
    message: string,
    public readonly details: unknown = null,
    public readonly hint: string | null = null,
  ) {
    super(message);
    this.name = 'PgrstError';
  }

  get body(): PgrstBody {
    return { code: this.code, message: this.message, details: this.details, hint: this.hint };
  }
}

/** HTTP status for a SQLSTATE, the way PostgREST maps them. */
export function statusForSqlState(code: string, anonymous: boolean): number {
  if (/^PT\d{3}$/.test(code)) return Number(code.slice(2));
  switch (code) {
    case PG.foreignKeyViolation:
    case PG.uniqueViolation:
    case PG.serializationFailure:
    case PG.deadlockDetected:
      return 409;
    case PG.insufficientPrivilege:
      return anonymous ? 401 : 403;
    case PG.undefinedTable:
    case PG.undefinedFunction:
      return 404;
    case PG.readOnlySqlTransaction:
      return 405;
    // A statement timeout: the database refused to spend longer on this request. 503 with
    // Retry-After (see toPgrstError), never a bare 500.
    case PG.queryCanceled:
      return 503;
    case PG.configurationLimitExceeded:
    case PG.programLimitExceeded:
    case PG.statementTooComplex:
      return 413;
    // A protocol violation is caused by what the request sent (core/sql.ts PG.protocolViolation).
    case PG.protocolViolation:
    case 'P0001':
      return 400;
  }
  const cls = code.slice(0, 2);
  switch (cls) {
    case '08':
    case '53':
    case '57':
    case '58':
    case '3D':
      return 503;
    case '09':
    case '0L':
    case '0P':
    case '28':
      return 403;
    case '22':
    case '23':
    case '2F':
    case '42':
    case '44':
    case '0A':
    case '21':
    case '27':
    case '39':
    case '3B':
    case '2B':
    case '2D':
    case '38':
    case 'HV':
    case 'P0':
      return 400;
    case '25':
      return 500;
    case 'XX':
      return 500;
  }
  return 400;
}

/** Turns anything thrown while serving a records/RPC request into a PgrstError. */
export function toPgrstError(err: unknown, anonymous: boolean): PgrstError {
  if (err instanceof PgrstError) return err;
  if (isPgError(err) && err.code === PG.queryCanceled) {
    return new PgrstError(
      503,
      err.code,
      err.message,
      null,
      'The query ran longer than this role may; narrow it (filters, limit, an index) before retrying',
    );
  }
  if (isPgError(err)) {
    return new PgrstError(
      statusForSqlState(err.code, anonymous),
      err.code,
      err.message,
      err.detail ?? null,
      err.hint ?? null,
    );
  }
  if (isPoolTimeout(err)) {
    return new PgrstError(503, 'PGRST003', 'Timed out acquiring connection from connection pool.');
  }
  // What the HTTP layer refused before the request was understood (a path with malformed
  // percent-encoding, a body in an encoding or charset Kiln does not read): the client's fault,
  // with the status it was given, never a 500.
  const http = err as { status?: unknown; statusCode?: unknown; message?: unknown } | null;
  const status = http?.status ?? http?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new PgrstError(
      status,
      'PGRST100',
      typeof http?.message === 'string' && http.message ? http.message : 'Invalid request',
    );
  }
  const code = (err as { code?: string } | null)?.code;
  if (code === 'ECONNREFUSED' || code === 'ECONNRESET') {
    return new PgrstError(
      503,
      'PGRST000',
      'Could not connect with the database',
      String((err as Error).message),
    );
  }
  return new PgrstError(500, 'PGRST000', 'Internal server error');
}

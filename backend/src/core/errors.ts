import type { ErrorRequestHandler, RequestHandler } from 'express';
import { ZodError } from 'zod';
import type { Logger } from './logger.js';
import { PG, isPgError, type PgError } from './sql.js';

/** The one error type areas throw; the error handler turns it into the contract's envelope. */
export class AppError extends Error {
  constructor(
    public readonly status: number,
    public readonly code: string,
    message: string,
    public readonly nextActions?: string,
    /** More fields for the envelope (e.g. a SQL error's position). */
    public readonly extra?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

/**
 * The server is busy, not broken: answered 429 (this client already holds its share) or 503
 * (nothing free) with `Retry-After`, in Kiln's envelope or PostgREST's shape alike.
 */
export class BusyError extends AppError {
  constructor(
    status: 429 | 503,
    code: string,
    message: string,
    public readonly retryAfterSeconds = 1,
  ) {
    super(status, code, message, 'Wait for the time in the Retry-After header, then try again');
    this.name = 'BusyError';
  }
}

/** The client hung up before its answer was ready: nobody is left to read the response. */
export class RequestAbortedError extends AppError {
  constructor() {
    super(400, 'REQUEST_ABORTED', 'The request was aborted by the client');
    this.name = 'RequestAbortedError';
  }
}

/**
 * pg-pool's "no connection became free in time" (connectionTimeoutMillis). It has no code of
 * its own, only this message; it means busy, never broken.
 */
export function isPoolTimeout(err: unknown): boolean {
  return (
    err instanceof Error &&
    !('severity' in err) &&
    (err.message === 'timeout exceeded when trying to connect' ||
      err.message === 'Connection terminated due to connection timeout')
  );
}

export interface ErrorEnvelope {
  [key: string]: unknown;
  error: string;
  message: string;
  statusCode: number;
  nextActions?: string;
}

/** Formats zod issues as "field: problem; other: problem". */
export function describeZodError(err: ZodError): string {
  return err.issues
    .map((issue) => {
      const field = issue.path.map(String).join('.');
      return field ? `${field}: ${issue.message}` : issue.message;
    })
    .join('; ');
}

/** A PostgreSQL error's fields (`PgError`), the SQLSTATE possibly absent. */
type PgLikeError = Omit<PgError, 'code' | 'severity'> & { code?: string };

const DUPLICATE_STATES = new Set<string>([
  PG.uniqueViolation,
  PG.duplicateTable,
  PG.duplicateColumn,
  PG.duplicateObject,
  PG.duplicateDatabase,
  PG.duplicateSchema,
  PG.duplicateFunction,
  PG.duplicateAlias,
]);

/** Maps a PostgreSQL error (by SQLSTATE) to an AppError. Only server faults are 5xx. */
export function appErrorFromPg(err: PgLikeError): AppError {
  const code = err.code ?? '';
  const detail = err.detail ? ` (${err.detail})` : '';
  const extra = {
    sqlState: code,
    ...(err.detail ? { detail: err.detail } : {}),
    ...(err.hint ? { hint: err.hint } : {}),
    ...(err.position ? { position: Number(err.position) } : {}),
  };
  const make = (status: number, kind: string, message: string) =>
    new AppError(status, kind, message, undefined, extra);
  if (DUPLICATE_STATES.has(code))
    return make(
      409,
      'DATABASE_DUPLICATE',
      code === PG.uniqueViolation ? `Duplicate value${detail}` : err.message,
    );
  switch (code) {
    case PG.foreignKeyViolation:
      return make(409, 'DATABASE_CONSTRAINT_VIOLATION', `Foreign key violation${detail}`);
    case PG.dependentObjectsStillExist:
      return make(409, 'DATABASE_CONSTRAINT_VIOLATION', err.message);
    case PG.notNullViolation:
    case PG.checkViolation:
    case PG.exclusionViolation:
      return make(400, 'DATABASE_CONSTRAINT_VIOLATION', err.message);
    case PG.insufficientPrivilege:
      return make(403, 'DATABASE_PERMISSION_DENIED', err.message);
    case PG.undefinedTable:
      // 42P01 is also "missing/invalid reference to FROM-clause entry": a mistake in the query
      // (a name it never brought in), not a table that does not exist.
      if (err.routine === 'errorMissingRTE')
        return make(400, 'DATABASE_VALIDATION_ERROR', err.message);
      return make(404, 'DATABASE_NOT_FOUND', err.message);
    case PG.undefinedFunction:
    case PG.undefinedObject:
    case PG.invalidSchemaName:
      return make(404, 'DATABASE_NOT_FOUND', err.message);
    case PG.undefinedColumn:
      return make(400, 'DATABASE_VALIDATION_ERROR', err.message);
    case PG.queryCanceled:
      return make(408, 'DATABASE_TIMEOUT', 'The statement took too long and was cancelled');
    case PG.serializationFailure:
    case PG.deadlockDetected:
      return make(409, 'DATABASE_CONFLICT', err.message);
    case PG.protocolViolation:
      // Caused by what the request sent (see PG.protocolViolation): never a retryable 5xx. If
      // PostgreSQL dropped the connection over it, the pool discards that connection (a failed
      // ROLLBACK marks it broken: core/db.ts).
      return make(400, 'DATABASE_INVALID_PARAMETER', err.message);
  }
  const cls = code.slice(0, 2);
  const shutdown: string[] = [PG.adminShutdown, PG.crashShutdown, PG.cannotConnectNow];
  if (['08', '28', '3D', '53'].includes(cls) || shutdown.includes(code)) {
    return new BusyError(503, 'DATABASE_UNAVAILABLE', 'The database is not reachable right now', 5);
  }
  if (cls === 'XX' || cls === '58') {
    return new AppError(500, 'INTERNAL_ERROR', 'An unexpected database error occurred');
  }
  // Syntax errors, bad values, unsupported features, raised exceptions…: the request's fault.
  return make(400, 'DATABASE_INVALID_PARAMETER', err.message);
}

function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'ETIMEDOUT';
}

/** Converts anything thrown into an AppError (status + code + safe message). */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof ZodError) return new AppError(400, 'INVALID_INPUT', describeZodError(err));
  if (isPgError(err)) return appErrorFromPg(err);
  if (isConnectionError(err)) {
    return new BusyError(503, 'DATABASE_UNAVAILABLE', 'The database is not reachable right now', 5);
  }
  if (isPoolTimeout(err)) {
    return new BusyError(503, 'DATABASE_BUSY', 'No database connection became free in time');
  }
  const bodyErr = err as { type?: string; status?: number; statusCode?: number } | null;
  switch (bodyErr?.type) {
    case 'entity.parse.failed':
      return new AppError(400, 'INVALID_JSON', 'The request body is not valid JSON');
    case 'entity.too.large':
      return new AppError(413, 'PAYLOAD_TOO_LARGE', 'The request body is too large');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new AppError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Unsupported body encoding');
    case 'request.aborted':
      return new AppError(400, 'REQUEST_ABORTED', 'The request was aborted by the client');
  }
  const status = bodyErr?.status ?? bodyErr?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new AppError(status, 'INVALID_REQUEST', (err as Error).message || 'Invalid request');
  }
  return new AppError(500, 'INTERNAL_ERROR', 'An unexpected error occurred');
}

export function envelope(err: AppError): ErrorEnvelope {
  return {
    ...err.extra,
    error: err.code,
    message: err.message,
    statusCode: err.status,
    ...(err.nextActions ? { nextActions: err.nextActions } : {}),
  };
}

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new AppError(404, 'NOT_FOUND', `No route for ${req.method} ${req.path}`));
};

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const appError = toAppError(err);
    if (appError.status >= 500) {
      // 500 is a bug; 503 and friends are a dependency being unavailable.
      logger.log(appError.status === 500 ? 'error' : 'warn', 'request failed', {
        requestId: req.requestId,
        method: req.method,
        // Without the query string: it can carry signed-URL tokens, OAuth codes and the like.
        path: req.originalUrl.split('?')[0],
        error: err instanceof Error ? { message: err.message, stack: err.stack } : String(err),
      });
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (appError instanceof BusyError)
      res.setHeader('Retry-After', String(appError.retryAfterSeconds));
    res.status(appError.status).json(envelope(appError));
  };
}

/**
 * The one transaction a records/RPC request runs in: the caller's role and claims, the request's
 * method, path and headers as `request.*` settings, `Prefer: timezone`, and `Prefer: tx=rollback`.
 */
import type { Request } from 'express';
import type { QueryResult, QueryResultRow } from 'pg';
import type { Database, Tx } from '../../core/db.js';
import type { Statement } from '../../core/pipeline.js';
import type { RequestContext } from './negotiate.js';
import type { Outcome } from './respond.js';

class Rollback {
  constructor(readonly outcome: Outcome) {}
}

/** Runs `fn` in the caller's transaction; honours `Prefer: tx=rollback`. */
export async function inTransaction(
  db: Database,
  ctx: RequestContext,
  readOnly: boolean,
  fn: (tx: Tx) => Promise<Outcome>,
): Promise<Outcome> {
  const settings = requestSettings(ctx);
  try {
    return await db.withPrincipal(
      ctx.principal,
      async (tx) => {
        const outcome = await fn(tx);
        if (ctx.prefs.tx === 'rollback') throw new Rollback(outcome);
        return outcome;
      },
      { readOnly, settings },
    );
  } catch (err) {
    if (err instanceof Rollback) return err.outcome;
    throw err;
  }
}

/**
 * One read-only statement in the caller's transaction, sent with the transaction's BEGIN and
 * COMMIT in one round trip (core/db.ts statementAsPrincipal). `Prefer: tx=rollback` changes
 * nothing for a READ ONLY transaction.
 */
export function readStatement<R extends QueryResultRow>(
  db: Database,
  ctx: RequestContext,
  statement: Statement,
): Promise<QueryResult<R>> {
  return db.statementAsPrincipal<R>(ctx.principal, statement, {
    readOnly: true,
    settings: requestSettings(ctx),
  });
}

/** The request as `request.*` settings (PostgREST's), and `Prefer: timezone`. */
function requestSettings(ctx: RequestContext): Record<string, string> {
  return {
    'request.method': ctx.req.method,
    'request.path': ctx.req.path,
    'request.headers': JSON.stringify(headersForSql(ctx.req)),
    ...(ctx.prefs.timezone ? { timezone: ctx.prefs.timezone } : {}),
  };
}

function headersForSql(req: Request): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (k === 'authorization' || k === 'cookie' || k === 'x-api-key') continue;
    if (typeof v === 'string') out[k] = v;
  }
  return out;
}

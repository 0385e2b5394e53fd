/**
 * The one transaction a records/RPC request runs in: the caller's role and claims, the request's
 * method, path and headers as `request.*` settings, `Prefer: timezone`, and `Prefer: tx=rollback`.
 */
import type { Request } from 'express';
import type { Database, Tx } from '../../core/db.js';
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
  const settings = {
    'request.method': ctx.req.method,
    'request.path': ctx.req.path,
    'request.headers': JSON.stringify(headersForSql(ctx.req)),
    ...(ctx.prefs.timezone ? { timezone: ctx.prefs.timezone } : {}),
  };
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

function headersForSql(req: Request): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (k === 'authorization' || k === 'cookie' || k === 'x-api-key') continue;
    if (typeof v === 'string') out[k] = v;
  }
  return out;
}

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

/**
 * `Accept: application/vnd.pgrst.plan`: the request's statement was explained instead of run.
 * Thrown out of the transaction (so it rolls back, `options=analyze` included: no write stays)
 * and turned into the answer by {@link answerOrPlan}.
 */
class Explained {
  constructor(readonly outcome: Outcome) {}
}

/** The operation's outcome, or the plan its statement was explained into. */
export async function answerOrPlan(outcome: Promise<Outcome>): Promise<Outcome> {
  try {
    return await outcome;
  } catch (err) {
    if (err instanceof Explained) return err.outcome;
    throw err;
  }
}

/** Runs EXPLAIN on the statement and throws the plan as the request's outcome. */
async function explain(
  tx: Tx,
  ctx: RequestContext,
  text: string,
  values?: unknown[],
): Promise<never> {
  const plan = ctx.plan!;
  const options = [
    `FORMAT ${plan.format.toUpperCase()}`,
    ...plan.options.map((o) => o.toUpperCase()),
  ];
  const { rows } = await tx.query<{ 'QUERY PLAN': unknown }>(
    `EXPLAIN (${options.join(', ')}) ${text}`,
    values,
  );
  const body =
    plan.format === 'json'
      ? JSON.stringify(rows[0]!['QUERY PLAN'])
      : rows.map((r) => String(r['QUERY PLAN'])).join('\n');
  const params = [
    `for="${plan.for}"`,
    ...(plan.options.length ? [`options=${plan.options.join('|')}`] : []),
  ];
  throw new Explained({
    status: 200,
    body,
    pageCount: 0,
    offset: 0,
    raw: true,
    contentRange: null,
    contentType: `application/vnd.pgrst.plan+${plan.format}; ${params.join('; ')}; charset=utf-8`,
  });
}

/** The transaction as `fn` sees it when a plan is asked for: its first statement is explained. */
function explaining(tx: Tx, ctx: RequestContext): Tx {
  const proxy = Object.create(tx) as Tx;
  const query = (text: string | { text: string; values?: unknown[] }, values?: unknown[]) =>
    typeof text === 'string'
      ? explain(tx, ctx, text, values)
      : explain(tx, ctx, text.text, text.values);
  (proxy as unknown as { query: typeof query }).query = query;
  return proxy;
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
        const outcome = await fn(ctx.plan ? explaining(tx, ctx) : tx);
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
  if (ctx.plan) {
    return db.withPrincipal(
      ctx.principal,
      (tx) => explain(tx, ctx, statement.text, statement.values),
      {
        readOnly: true,
        settings: requestSettings(ctx),
      },
    );
  }
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

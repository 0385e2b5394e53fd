/**
 * The page runner shared by table reads and set-returning RPC: applies the Range header,
 * limit/offset and the server's row cap to a planned read, compiles it to one statement that
 * returns the page as JSON (and the exact count when asked), runs it in the caller's
 * transaction, counts (exact, planned or estimated), and turns the result into the page's
 * Outcome (status, Content-Range figures, body).
 */
import type { Database, Tx } from '../../core/db.js';
import { PgrstError } from './errors.js';
import type { RequestContext } from './negotiate.js';
import { parseRange, type Preferences } from './parse.js';
import type { ReadNode } from './plan.js';
import { assertMaxAffected, assertSingle, firstElement, type Outcome } from './respond.js';
import {
  Aliases,
  SqlParams,
  compileRead,
  compileWhere,
  tableRef,
  wrapAsJson,
  wrapFor,
} from './sql.js';
import { inTransaction, readStatement } from './transaction.js';

export interface PageRequest {
  /** The planned read; the Range header, limit/offset and the row cap are applied here. */
  node: ReadNode;
  /** Parameters `source` already uses (RPC arguments); the page's own are added after them. */
  params?: SqlParams;
  /**
   * A statement whose rows replace the table (a function call). It runs once, in a materialised
   * CTE: the page and the count both read its result instead of running it again (twice the
   * side effects otherwise).
   */
  source?: string;
  readOnly: boolean;
  /** RPC: `Prefer: handling=strict, max-affected=N` limits the rows the call returns. */
  maxAffected?: boolean;
  /** The source yields one composite value: answer its (selected) row as an object, or null. */
  one?: boolean;
}

const SOURCE = '_kiln_source';

/** Below this many planned rows, `count=estimated` pays for an exact count. */
const ESTIMATE_THRESHOLD = 1000;

export async function runPage(
  db: Database,
  ctx: RequestContext,
  page: PageRequest,
): Promise<Outcome> {
  const { node } = page;
  pageOf(ctx, node);
  const params = page.params ?? new SqlParams();
  // A materialised source is counted exactly whatever the mode: its rows are at hand, and the
  // planner's estimate for a function call is only its declared ROWS.
  const countMode: Preferences['count'] =
    page.source && ctx.prefs.count ? 'exact' : ctx.prefs.count;
  const exact = countMode === 'exact';
  const compiled = compileRead(node, params, new Aliases(), page.source ? SOURCE : undefined);
  const sql =
    (page.source ? `WITH ${SOURCE} AS MATERIALIZED (${page.source}) ` : '') +
    (page.one ? wrapAsJson : wrapFor(ctx.format))(
      compiled.rows,
      exact ? compiled.count : undefined,
    );
  type PageRow = { page_count: number; body: string; total?: string };
  const outcome = async (row: PageRow, tx?: Tx): Promise<Outcome> => {
    if (page.one) {
      // At most one row (one composite value): its text as PostgreSQL wrote it.
      return {
        status: 200,
        body: (row.page_count === 1 ? firstElement(row.body) : undefined) ?? 'null',
        pageCount: row.page_count,
        offset: 0,
        raw: true,
      };
    }
    const offset = node.offset ?? 0;
    const estimate = !exact && tx ? await inexactCount(tx, countMode, node) : undefined;
    // An estimate never claims fewer rows than this page shows (a stale one would answer 416).
    const total = exact
      ? Number(row.total)
      : estimate === undefined
        ? undefined
        : Math.max(estimate, offset + row.page_count);
    assertSingle(ctx, row.page_count);
    if (page.maxAffected) assertMaxAffected(ctx, row.page_count);
    return {
      status: rangeStatus(offset, row.page_count, total),
      body: row.body,
      pageCount: row.page_count,
      total,
      offset,
    };
  };
  const statement = { text: sql, values: params.values };
  // A read that needs nothing but its own statement travels with its BEGIN and COMMIT (one round
  // trip); a planned or estimated count asks the planner afterwards, in the same transaction.
  if (page.readOnly && countMode !== 'planned' && countMode !== 'estimated') {
    const { rows } = await readStatement<PageRow>(db, ctx, statement);
    return outcome(rows[0]!);
  }
  return inTransaction(db, ctx, page.readOnly, async (tx) => {
    const { rows } = await tx.query<PageRow>(statement.text, statement.values);
    return outcome(rows[0]!, tx);
  });
}

/**
 * PostgREST's status for a page of rows (reads and RPC alike): with a known total, 416 when the
 * offset lies beyond it (an offset equal to it is an empty last page), 206 when the page holds
 * fewer rows than the total, else 200; without a total always 200.
 */
export function rangeStatus(offset: number, pageCount: number, total: number | undefined): number {
  if (total === undefined) return 200;
  if (offset > total) {
    const error = new PgrstError(
      416,
      'PGRST103',
      'Requested range not satisfiable',
      `An offset of ${offset} was requested, but there are only ${total} rows.`,
      null,
    );
    error.headers = { 'Content-Range': `*/${total}` };
    throw error;
  }
  return pageCount < total ? 206 : 200;
}

/**
 * `count=planned`: the planner's row estimate for the filtered rows (cheap, approximate).
 * `count=estimated`: the estimate, or the exact count when the estimate is small.
 */
async function inexactCount(
  tx: Tx,
  mode: Preferences['count'],
  node: ReadNode,
): Promise<number | undefined> {
  if (mode !== 'planned' && mode !== 'estimated') return undefined;
  // Only the filters, with parameters of their own (the page query has more).
  const params = new SqlParams();
  const where = compileWhere(node, 'c0', params, new Aliases());
  const from = `${tableRef(node.table)} AS c0${where ? ` WHERE ${where}` : ''}`;
  const { rows } = await tx.query<{ 'QUERY PLAN': Array<{ Plan: { 'Plan Rows': number } }> }>(
    `EXPLAIN (FORMAT JSON) SELECT 1 FROM ${from}`,
    params.values,
  );
  const planned = Math.round(rows[0]!['QUERY PLAN'][0]!.Plan['Plan Rows']);
  if (mode === 'planned' || planned > ESTIMATE_THRESHOLD) return planned;
  const exact = await tx.query<{ n: string }>(
    `SELECT count(*)::text AS n FROM ${from}`,
    params.values,
  );
  return Number(exact.rows[0]!.n);
}

/**
 * The Range header and limit/offset, then the server's row cap on top (top level only); `node`
 * is updated and returned.
 */
export function pageOf<T extends Pick<ReadNode, 'limit' | 'offset'>>(
  ctx: RequestContext,
  node: T,
): T {
  applyRange(ctx, node);
  if (ctx.maxRows !== undefined) node.limit = Math.min(node.limit ?? ctx.maxRows, ctx.maxRows);
  return node;
}

function applyRange(ctx: RequestContext, node: Pick<ReadNode, 'limit' | 'offset'>): void {
  const range = parseRange(ctx.req.get('range'));
  if (!range) return;
  const rangeEnd = range.limit !== undefined ? range.offset + range.limit : undefined;
  const offset = (node.offset ?? 0) + range.offset;
  // The narrower of the Range header and limit/offset wins.
  let limit = node.limit !== undefined ? Math.max(0, node.limit - range.offset) : undefined;
  if (rangeEnd !== undefined)
    limit = limit === undefined ? range.limit : Math.min(limit, range.limit!);
  node.offset = offset;
  if (limit !== undefined) node.limit = limit;
}

import type { Database } from './db.js';

/**
 * One page of a filtered listing and the total it is part of (both queries run together), in
 * the `{data, pagination}` shape the admin APIs answer with.
 */
export async function listPage<T extends Record<string, unknown>>(
  db: Database,
  q: {
    select: string;
    /** FROM clause of the page (may join); `countFrom` when counting needs less. */
    from: string;
    countFrom?: string;
    where: string;
    params: unknown[];
    orderBy: string;
    limit: number;
    offset: number;
  },
): Promise<{ rows: T[]; pagination: { offset: number; limit: number; total: number } }> {
  const [list, count] = await Promise.all([
    db.query<T>(
      `SELECT ${q.select} FROM ${q.from} WHERE ${q.where} ORDER BY ${q.orderBy}
        LIMIT ${Number(q.limit)} OFFSET ${Number(q.offset)}`,
      q.params,
    ),
    db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${q.countFrom ?? q.from} WHERE ${q.where}`,
      q.params,
    ),
  ]);
  return {
    rows: list.rows,
    pagination: { offset: q.offset, limit: q.limit, total: count.rows[0]!.n },
  };
}

import type { Database } from './db.js';

/**
 * One optional condition of a listing's query string: `column op value`, which holds for every
 * row when the value is absent. `column` and `type` are the caller's constants, never input; the
 * value travels as a parameter.
 */
export interface ListFilter {
  column: string;
  /** The PostgreSQL type the parameter is cast to (`text`, `uuid`, `timestamptz`). */
  type: string;
  value: string | undefined;
  /** How the column compares with the value; `=` unless given. */
  op?: '=' | '>=' | '<';
}

/** The filters of a listing over `column` within `[from, to)`, each end optional. */
export function timeWindow(column: string, from?: string, to?: string): ListFilter[] {
  return [
    { column, type: 'timestamptz', value: from, op: '>=' },
    { column, type: 'timestamptz', value: to, op: '<' },
  ];
}

/** The WHERE condition of `filters` (`true` when there are none) and its parameters. */
function whereAll(filters: ListFilter[]): { where: string; params: unknown[] } {
  const where = filters.map(
    (f, i) => `($${i + 1}::${f.type} IS NULL OR ${f.column} ${f.op ?? '='} $${i + 1})`,
  );
  return { where: where.join(' AND ') || 'true', params: filters.map((f) => f.value ?? null) };
}

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
    /** The listing's optional conditions, all of which must hold (see `ListFilter`). */
    filters: ListFilter[];
    orderBy: string;
    limit: number;
    offset: number;
  },
): Promise<{ rows: T[]; pagination: { offset: number; limit: number; total: number } }> {
  const { where, params } = whereAll(q.filters);
  const [list, count] = await Promise.all([
    db.query<T>(
      `SELECT ${q.select} FROM ${q.from} WHERE ${where} ORDER BY ${q.orderBy}
        LIMIT ${Number(q.limit)} OFFSET ${Number(q.offset)}`,
      params,
    ),
    db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${q.countFrom ?? q.from} WHERE ${where}`,
      params,
    ),
  ]);
  return {
    rows: list.rows,
    pagination: { offset: q.offset, limit: q.limit, total: count.rows[0]!.n },
  };
}

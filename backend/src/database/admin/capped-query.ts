/**
 * A query for the SQL editor that keeps at most `maxRows` rows of each statement's result in
 * memory (the rest are received, counted by PostgreSQL's command tag, and dropped unparsed), and
 * times each statement: from the previous statement's end (or the query's start) to its own
 * CommandComplete. A big `SELECT` costs the server a bounded amount of memory, not the table.
 */
import pg from 'pg';

/** node-pg's Query internals this class hooks into (pg 8: lib/query.js). */
interface QueryInternals {
  _result: pg.QueryResult;
  handleDataRow(msg: unknown): void;
  handleCommandComplete(msg: unknown, connection: unknown): void;
}

const base = pg.Query.prototype as unknown as QueryInternals;

export interface CappedResult {
  result: pg.QueryResult;
  /** Rows received but not kept (beyond maxRows). */
  dropped: number;
  durationMs: number | undefined;
}

export class CappedQuery extends pg.Query {
  private readonly kept = new Map<pg.QueryResult, number>();
  private readonly dropped = new Map<pg.QueryResult, number>();
  private readonly durations = new Map<pg.QueryResult, number>();
  private last = performance.now();

  constructor(
    text: string,
    values: unknown[] | undefined,
    private readonly maxRows: number,
  ) {
    super(text, values);
  }

  handleDataRow(msg: unknown): void {
    const result = (this as unknown as QueryInternals)._result;
    const kept = this.kept.get(result) ?? 0;
    if (kept >= this.maxRows) {
      this.dropped.set(result, (this.dropped.get(result) ?? 0) + 1);
      return;
    }
    this.kept.set(result, kept + 1);
    base.handleDataRow.call(this, msg);
  }

  handleCommandComplete(msg: unknown, connection: unknown): void {
    base.handleCommandComplete.call(this, msg, connection);
    const now = performance.now();
    this.durations.set((this as unknown as QueryInternals)._result, now - this.last);
    this.last = now;
  }

  /** Runs on `client`; answers each statement's result with what was dropped and its time. */
  run(client: pg.PoolClient): Promise<CappedResult[]> {
    return new Promise((resolve, reject) => {
      this.once('error', reject);
      this.once('end', (raw: pg.QueryResult | pg.QueryResult[]) => {
        const list = Array.isArray(raw) ? raw : [raw];
        resolve(
          list.map((result) => ({
            result,
            dropped: this.dropped.get(result) ?? 0,
            durationMs: this.durations.has(result)
              ? Math.round(this.durations.get(result)! * 100) / 100
              : undefined,
          })),
        );
      });
      client.query(this);
    });
  }
}

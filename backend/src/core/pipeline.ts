/**
 * Several statements sent to PostgreSQL in one write and answered together: the extended query
 * protocol's pipelining (Parse/Bind/Describe/Execute per statement, one Sync at the end), which
 * the `pg` driver has no API for. It is a submittable `pg.Query`, so the client's queue, errors
 * and type parsers work as for any query.
 *
 * Used to send a transaction's preamble (BEGIN, role, settings) with its first statement, and a
 * single-statement read together with its COMMIT: one round trip instead of three. PostgreSQL runs
 * the statements in order; after an error it skips the rest up to the Sync, so a COMMIT in the
 * same pipeline never runs after a failed statement (the transaction is left aborted, and the
 * caller rolls it back as after any failed statement).
 */
import pg from 'pg';

export interface Statement {
  text: string;
  values?: unknown[];
}

/** What of `pg`'s connection a pipeline writes with (the driver's own message writers). */
interface Wire {
  stream: { cork?: () => void; uncork?: () => void };
  parse(msg: { text: string; name?: string }): void;
  bind(msg: {
    portal?: string;
    statement?: string;
    values?: unknown[];
    valueMapper?: (value: unknown) => unknown;
  }): void;
  describe(msg: { type: 'P' | 'S'; name?: string }): void;
  execute(msg: { portal?: string; rows?: number }): void;
  sync(): void;
}

// The driver's own conversion of JavaScript values to parameters (arrays, dates, buffers, JSON),
// as every other query binds them; exported at run time, absent from its typings.
const { prepareValue } = (pg as unknown as { utils: { prepareValue(value: unknown): unknown } })
  .utils;

type Callback = (err: Error | null, results?: pg.QueryResult | pg.QueryResult[]) => void;

// pg.Query's runtime class: a submittable with the result handling of every query (one result
// per statement that returns rows or a command tag, in order).
const QueryBase = pg.Query as unknown as new (config: { text: string; callback: Callback }) => {
  submit(connection: unknown): Error | null;
};

class Pipeline extends QueryBase {
  constructor(
    private readonly statements: Statement[],
    callback: Callback,
  ) {
    super({ text: statements.map((s) => s.text).join(';\n'), callback });
  }

  override submit(connection: unknown): Error | null {
    const wire = connection as Wire;
    wire.stream.cork?.();
    try {
      for (const { text, values } of this.statements) {
        wire.parse({ text });
        wire.bind({ values: values ?? [], valueMapper: prepareValue });
        wire.describe({ type: 'P' });
        wire.execute({});
      }
      wire.sync();
    } finally {
      wire.stream.uncork?.();
    }
    return null;
  }
}

/**
 * Runs the statements in one round trip; resolves to one result per statement, in order. The
 * first error rejects (PostgreSQL has skipped the statements after it).
 */
export function pipeline(
  client: pg.ClientBase,
  statements: Statement[],
): Promise<pg.QueryResult[]> {
  return new Promise((resolve, reject) => {
    const query = new Pipeline(statements, (err, results) => {
      if (err) reject(err);
      else resolve(Array.isArray(results) ? results : [results!]);
    });
    (client as unknown as { query(q: unknown): unknown }).query(query);
  });
}

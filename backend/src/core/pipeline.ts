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
 *
 * With `prepare`, each statement text becomes a named prepared statement on its connection the
 * first time it is sent there, and later pipelines on that connection only Bind and Execute it:
 * PostgreSQL parses, analyses and plans a query shape once per connection instead of once per
 * request (PostgREST's `db-prepared-statements`). Values are always parameters, so one text is
 * one shape. Per connection at most PREPARED_PER_CONNECTION are kept, least recently used first
 * out; a name PostgreSQL may not hold (evicted, or parsed in a pipeline that failed) is closed
 * at the start of the connection's next pipeline (closing a name that does not exist is no
 * error). PostgreSQL replans a prepared statement itself when what it depends on changes (DDL,
 * the role for RLS, search_path); every statement here answers one fixed column, so a table's
 * new shape never changes a statement's result type. Off (DB_PREPARED_STATEMENTS=false) for a
 * transaction-mode pooler that cannot carry named statements across transactions.
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
  close(msg: { type: 'S' | 'P'; name?: string }): void;
}

/** Named statements kept per connection (each holds its plan in that backend's memory). */
export const PREPARED_PER_CONNECTION = 128;

/** The statements prepared on one connection, most recently used last. */
class Prepared {
  private readonly names = new Map<string, string>();
  /** Names to close before the connection's next statements. */
  private closing: string[] = [];
  private counter = 0;

  /** The statement's name, and whether it must be parsed first. */
  name(text: string): { name: string; parse: boolean } {
    const known = this.names.get(text);
    if (known !== undefined) {
      // Most recently used last (a Map keeps insertion order).
      this.names.delete(text);
      this.names.set(text, known);
      return { name: known, parse: false };
    }
    const name = `kiln_${++this.counter}`;
    this.names.set(text, name);
    if (this.names.size > PREPARED_PER_CONNECTION) {
      const [oldestText, oldestName] = this.names.entries().next().value!;
      this.names.delete(oldestText);
      this.closing.push(oldestName);
    }
    return { name, parse: true };
  }

  /** Forgets statements whose Parse may not have happened; closes them later to be sure. */
  forget(texts: Iterable<string>): void {
    for (const text of texts) {
      const name = this.names.get(text);
      if (name === undefined) continue;
      this.names.delete(text);
      this.closing.push(name);
    }
  }

  forgetAll(): void {
    this.forget([...this.names.keys()]);
  }

  takeClosing(): string[] {
    const names = this.closing;
    this.closing = [];
    return names;
  }
}

const preparedByConnection = new WeakMap<object, Prepared>();
const staleStatements = new WeakSet<object>();

/**
 * The error of a pipeline that named a prepared statement its connection no longer had (SQL
 * ran `DEALLOCATE`): nothing of it ran, the names are forgotten, and running it again succeeds.
 */
export function isStaleStatementError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && staleStatements.has(err);
}

function preparedOn(connection: object): Prepared {
  let prepared = preparedByConnection.get(connection);
  if (!prepared) preparedByConnection.set(connection, (prepared = new Prepared()));
  return prepared;
}

/**
 * After SQL Kiln did not write ran on a connection (an admin's raw SQL may `DEALLOCATE ALL`),
 * nothing is assumed about its prepared statements: they are parsed again when next used.
 */
export function forgetPrepared(client: pg.ClientBase): void {
  const connection = (client as unknown as { connection?: object }).connection;
  if (connection) preparedByConnection.get(connection)?.forgetAll();
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
  /** The connection's prepared statements, and the texts parsed by this pipeline. */
  prepared?: Prepared;
  readonly parsed: string[] = [];

  constructor(
    private readonly statements: Statement[],
    private readonly prepare: boolean,
    callback: Callback,
  ) {
    super({ text: statements.map((s) => s.text).join(';\n'), callback });
  }

  override submit(connection: unknown): Error | null {
    const wire = connection as Wire;
    const prepared = this.prepare ? preparedOn(connection as object) : undefined;
    this.prepared = prepared;
    wire.stream.cork?.();
    try {
      for (const name of prepared?.takeClosing() ?? []) wire.close({ type: 'S', name });
      for (const { text, values } of this.statements) {
        let statement: string | undefined;
        if (prepared) {
          const named = prepared.name(text);
          statement = named.name;
          if (named.parse) {
            wire.parse({ text, name: statement });
            this.parsed.push(text);
          }
        } else {
          wire.parse({ text });
        }
        wire.bind({
          ...(statement ? { statement } : {}),
          values: values ?? [],
          valueMapper: prepareValue,
        });
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
  options: { prepare?: boolean } = {},
): Promise<pg.QueryResult[]> {
  return new Promise((resolve, reject) => {
    const query: Pipeline = new Pipeline(statements, options.prepare ?? false, (err, results) => {
      if (err) {
        // Which Parse got through is unknown after an error: those names are closed and parsed
        // again next time. A name PostgreSQL does not have (26000: DEALLOCATE ran) voids them all.
        if ((err as { code?: string }).code === '26000' && query.prepared) {
          query.prepared.forgetAll();
          staleStatements.add(err);
        } else query.prepared?.forget(query.parsed);
        reject(err);
      } else resolve(Array.isArray(results) ? results : [results!]);
    });
    (client as unknown as { query(q: unknown): unknown }).query(query);
  });
}

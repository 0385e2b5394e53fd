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
 * the role for RLS, search_path), but analyses its text again with the parameter types it
 * inferred at its first Parse: after a column's type changed (`v = $1` with $1 an integer, v now
 * text) or a table was created again with other types, the old statement fails where a fresh
 * Parse would succeed. Such a failure (mayBeStalePlan) is not the request's answer: every
 * connection's names are parsed again when next used, and the caller runs the transaction once
 * more (isStaleStatementError), as after a name SQL deallocated, or took first (user SQL that
 * prepared a statement of the name Kiln's next Parse uses: STATEMENT_PREFIX). Every statement
 * here answers fixed columns, so a table's new shape never changes a statement's result type. Off
 * (DB_PREPARED_STATEMENTS=false) for a transaction-mode pooler that cannot carry named
 * statements across transactions.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export interface Statement {
  text: string;
  values?: unknown[];
  /**
   * false: sent unnamed (parsed and planned for this use only) even in a pipeline that prepares,
   * for a statement whose text the caller does not control (what it answers may change shape).
   */
  prepare?: boolean;
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

/**
 * The start of the statement names this process prepares: `kiln_` and 32 random bits, drawn once
 * per process. User SQL on the same connection (raw SQL, a function's `EXECUTE 'PREPARE …'`) may
 * prepare any names it likes; only names it read from pg_prepared_statements can meet Kiln's
 * next ones, and that costs a retry (Pipeline.settle), not the request: the connection draws a
 * new prefix, which the SQL cannot have seen.
 */
const statementPrefix = () => `kiln_${randomBytes(4).toString('hex')}_`;
export const STATEMENT_PREFIX = statementPrefix();

/**
 * Moves on when a statement prepared before failed as only a changed schema makes it fail
 * (mayBeStalePlan): every connection's names are then parsed again when next used, so a retry,
 * whichever connection it gets, and every later request parse their text afresh.
 */
let schemaEpoch = 0;

/** The statements prepared on one connection, most recently used last. */
class Prepared {
  /**
   * BindComplete messages the connection has received (the driver passes them to no query):
   * a pipeline's share, read when it is answered, tells a statement that failed at Bind
   * (analysed again: mayBeStalePlan) from one that failed while running. One listener per
   * connection, for its life, rather than one per pipeline.
   */
  bound = 0;
  private readonly names = new Map<string, string>();
  /** Names to close before the connection's next statements. */
  private closing: string[] = [];
  private counter = 0;
  private prefix = STATEMENT_PREFIX;
  /** The schema epoch its names were parsed in. */
  private epoch = schemaEpoch;

  /** The statement's name, and whether it must be parsed first. */
  name(text: string): { name: string; parse: boolean } {
    const known = this.names.get(text);
    if (known !== undefined) {
      // Most recently used last (a Map keeps insertion order).
      this.names.delete(text);
      this.names.set(text, known);
      return { name: known, parse: false };
    }
    const name = this.prefix + ++this.counter;
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

  /** User SQL took a name this connection was to use: later names start afresh. */
  renew(): void {
    this.prefix = statementPrefix();
  }

  forgetAll(): void {
    this.forget([...this.names.keys()]);
  }

  /** Names to close first in the connection's next pipeline (all of them after a schema change). */
  takeClosing(): string[] {
    if (this.epoch !== schemaEpoch) {
      this.epoch = schemaEpoch;
      this.forgetAll();
    }
    const names = this.closing;
    this.closing = [];
    return names;
  }
}

const preparedByConnection = new WeakMap<object, Prepared>();
const staleStatements = new WeakSet<object>();

/**
 * The error of a pipeline whose prepared statement was stale: its connection no longer had the
 * name (SQL ran `DEALLOCATE`), or its text, analysed again after DDL with the parameter types of
 * its first Parse, failed (mayBeStalePlan). Only the transaction's own opening statements ran
 * before it (rolled back); the names are forgotten, and running it again parses them afresh.
 */
export function isStaleStatementError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && staleStatements.has(err);
}

function preparedOn(connection: object): Prepared {
  let prepared = preparedByConnection.get(connection);
  if (!prepared) {
    const counted = (prepared = new Prepared());
    preparedByConnection.set(connection, counted);
    (connection as { on(event: string, fn: () => void): void }).on(
      'bindComplete',
      () => void counted.bound++,
    );
  }
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

/** What a pipeline passes the driver as its text (it is not sent: see Pipeline). */
const PIPELINE_TEXT = '(pipeline)';
const NO_VALUES: unknown[] = [];

type Callback = (err: Error | null, results?: pg.QueryResult | pg.QueryResult[]) => void;

// pg.Query's runtime class: a submittable with the result handling of every query (one result
// per statement that returns rows or a command tag, in order).
const QueryBase = pg.Query as unknown as new (config: { text: string; callback: Callback }) => {
  submit(connection: unknown): Error | null;
};

/** One statement as a pipeline sent it: by name, and whether this pipeline parsed that name. */
interface Step {
  text: string;
  name?: string;
  parsed: boolean;
}

/**
 * SQLSTATEs a statement prepared earlier can fail with at Bind (settle checks it failed there,
 * not while it ran) when PostgreSQL analyses its text again after DDL (the table, a column's
 * type, a function changed): an unknown column, table, function or operator, a type mismatch, a
 * result type that changed (0A000). Parsed afresh, the same text may well succeed (the
 * parameters' types are inferred again), so such a failure is not the statement's answer. Not
 * 42501: privileges are checked when a statement runs, whatever its age.
 */
function mayBeStalePlan(code: string | undefined): boolean {
  return code !== undefined && ((code.startsWith('42') && code !== '42501') || code === '0A000');
}

class Pipeline extends QueryBase {
  /** The connection's prepared statements, and the texts parsed by this pipeline. */
  prepared?: Prepared;
  readonly parsed: string[] = [];
  /** Every statement as sent, in order, and how many of them PostgreSQL bound and completed. */
  readonly steps: Step[] = [];
  completed = 0;
  /** The connection's BindComplete count when this pipeline was sent (Prepared.bound). */
  boundBefore = 0;

  constructor(
    private readonly statements: Statement[],
    private readonly prepare: boolean,
    callback: Callback,
  ) {
    // The driver reads a query's text for nothing but its own Parse, which submit() does here:
    // the statements' texts are not joined into one per request.
    super({ text: PIPELINE_TEXT, callback });
  }

  override submit(connection: unknown): Error | null {
    const wire = connection as Wire;
    const prepared = this.prepare ? preparedOn(connection as object) : undefined;
    this.prepared = prepared;
    // A connection runs one query at a time: the BindComplete messages from now until this
    // pipeline is answered are its own.
    if (prepared) this.boundBefore = prepared.bound;
    wire.stream.cork?.();
    try {
      for (const name of prepared?.takeClosing() ?? []) wire.close({ type: 'S', name });
      for (const { text, values, prepare } of this.statements) {
        let statement: string | undefined;
        if (prepared && prepare !== false) {
          const named = prepared.name(text);
          statement = named.name;
          if (named.parse) {
            wire.parse({ text, name: statement });
            this.parsed.push(text);
          }
          this.steps.push({ text, name: statement, parsed: named.parse });
        } else {
          wire.parse({ text });
          this.steps.push({ text, parsed: true });
        }
        wire.bind(
          statement
            ? { statement, values: values ?? NO_VALUES, valueMapper: prepareValue }
            : { values: values ?? NO_VALUES, valueMapper: prepareValue },
        );
        wire.describe({ type: 'P' });
        wire.execute({});
      }
      wire.sync();
    } finally {
      wire.stream.uncork?.();
    }
    return null;
  }

  // Each statement that ran to its end (CommandComplete): the first error is the next one's.
  handleCommandComplete(msg: unknown, connection: unknown): void {
    this.completed++;
    (
      QueryBase.prototype as unknown as {
        handleCommandComplete(msg: unknown, connection: unknown): void;
      }
    ).handleCommandComplete.call(this, msg, connection);
  }

  /**
   * After an error: which names PostgreSQL may not hold as this connection believes, and whether
   * the error says nothing of the statements but that a name of this connection's was stale
   * (running them again, parsed afresh, answers as an unprepared run would).
   */
  settle(err: { code?: string; message?: string }): boolean {
    const prepared = this.prepared;
    if (!prepared) return false;
    // Which Parse got through is unknown after an error: those names are closed and parsed
    // again next time.
    prepared.forget(this.parsed);
    const failed = this.steps[this.completed];
    if (err.code === '42P05' && failed?.name && failed.parsed) {
      // Its Parse met a statement of that name that user SQL prepared on this connection
      // (forgotten above, so closed before the next pipeline here): nothing of this statement
      // ran, and the retry prepares it under a name of a new prefix.
      if (!new RegExp(`\\b${failed.name}\\b`).test(err.message ?? '')) return false;
      prepared.renew();
      return true;
    }
    // Only a statement bound by a name parsed before this pipeline can be stale, and only at
    // its Bind (where PostgreSQL looks the name up and analyses its text again); an error while
    // it ran is its answer, whatever the SQLSTATE (SQL it calls may raise any).
    const bound = prepared.bound - this.boundBefore;
    if (!failed?.name || failed.parsed || bound !== this.completed) return false;
    if (err.code === '26000') {
      // The name itself is gone (SQL ran DEALLOCATE): none of this connection's can be trusted.
      // The name as a word (a translated message may quote it otherwise).
      if (!new RegExp(`\\b${failed.name}\\b`).test(err.message ?? '')) return false;
      prepared.forgetAll();
      return true;
    }
    if (!mayBeStalePlan(err.code)) return false;
    // What changed for this statement on this connection changed for every connection's.
    schemaEpoch++;
    return true;
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
        if (query.settle(err as { code?: string; message?: string })) staleStatements.add(err);
        reject(err);
      } else resolve(Array.isArray(results) ? results : [results!]);
    });
    (client as unknown as { query(q: unknown): unknown }).query(query);
  });
}

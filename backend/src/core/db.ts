import { ipKeyGenerator } from 'express-rate-limit';
import pg from 'pg';
import type { Role } from '@kiln/shared-schemas';
import { SAFE_SEARCH_PATH_OPTIONS } from './search-path.js';
import { ConnectionGate, type GateLimit } from './connection-gate.js';
import { RequestAbortedError } from './errors.js';
import { sendCancelRequest } from './pg-cancel.js';
import { forgetPrepared, isStaleStatementError, pipeline, type Statement } from './pipeline.js';
import { currentRequestScope, type RequestScope } from './request-scope.js';

/** Who is making a request, as PostgreSQL will see it. */
export interface Principal {
  role: Role;
  /** User id (uuid) for users and admins; absent for the anon key and API key. */
  sub?: string;
  email?: string;
  /** How the caller proved who they are. */
  credential: 'anon_key' | 'api_key' | 'jwt';
  /** The claims exposed to SQL through `request.jwt.claims` / `auth.jwt()`. */
  claims: Record<string, unknown>;
  /** Session id for user JWTs. */
  sessionId?: string;
}

export type Tx = pg.PoolClient;

/**
 * Serialises transactions on one named thing (a user's limits, an object key) until the
 * transaction ends, whether or not a row for it exists yet.
 */
export async function lockFor(tx: Tx, key: string): Promise<void> {
  await tx.query('SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended($1, 0))', [
    key,
  ]);
}

export interface PrincipalTxOptions {
  /** `BEGIN READ ONLY` (reads on the records API). */
  readOnly?: boolean;
  /** More transaction-local settings (`request.method`, `request.path`, `request.headers`). */
  settings?: Record<string, string>;
  /**
   * The client being served: its hang-up cancels the transaction's statements, and its
   * principal + address count against its share of connections. Defaults to the current HTTP
   * request's (core/request-scope); without one, only the pool's capacity applies.
   */
  scope?: RequestScope;
}

/** One connection pool's use (Database.poolStats). */
export interface PoolStats {
  name: 'kiln' | 'requests' | 'admin';
  /** The pool's size limit. */
  max: number;
  /** Connections open, idle among them, and callers waiting for one inside the pool. */
  total: number;
  idle: number;
  waiting: number;
  /** Kiln's admission gate in front of the pool: requests holding a slot, and queued. */
  gate?: { inUse: number; waiting: number };
}

/** Admission to a request pool: the gate, what the request counts against, its hang-up. */
interface Admission {
  gate: ConnectionGate;
  limits: GateLimit[];
  signal?: AbortSignal;
}

const ROLES: ReadonlySet<Role> = new Set(['anon', 'authenticated', 'project_admin']);

export interface DatabaseOptions {
  /** The owner connection: migrations and Kiln's own services (auth, keys…). */
  connectionString: string;
  /**
   * The connection requests run on (`withPrincipal`): a login role with no privileges of its
   * own that can only switch to anon / authenticated / project_admin, so SQL that resets its
   * role gains nothing. Defaults to `connectionString`.
   */
  principalConnectionString?: string;
  /** The login role admin (project_admin) requests run on. Defaults to the one above. */
  adminConnectionString?: string;
  max: number;
  /** statement_timeout of every session (Kiln's own work and project_admin requests). */
  statementTimeoutMs: number;
  /** statement_timeout of anon / authenticated transactions; 0 = the session's. */
  anonStatementTimeoutMs?: number;
  userStatementTimeoutMs?: number;
  /** Connections of a request pool one client (principal + address) may hold at once. */
  maxConnectionsPerClient?: number;
  /** How long a request may wait for a connection before it is refused (429 / 503). */
  queueTimeoutMs?: number;
  applicationName?: string;
  /**
   * Request transactions use named prepared statements, parsed and planned once per connection
   * (DB_PREPARED_STATEMENTS; core/pipeline.ts). Off behind a transaction-mode pooler.
   */
  preparedStatements?: boolean;
}

/**
 * `set_config($1, $2, true), …` for n settings: one text per count, so a transaction's settings
 * statement is one prepared shape (core/pipeline.ts).
 */
const SET_CONFIGS: string[] = [];
function setConfigs(n: number): string {
  return (SET_CONFIGS[n] ??= Array.from(
    { length: n },
    (_, i) => `set_config($${2 * i + 1}, $${2 * i + 2}, true)`,
  ).join(', '));
}

/**
 * A transaction's opening statements, one object per text shared by every request: no text is
 * built per request (nor hashed afresh where core/pipeline.ts looks its prepared name up).
 */
const OPENING = {
  begin: { text: 'BEGIN' },
  beginReadOnly: { text: 'BEGIN READ ONLY' },
  /**
   * Every session-level setting back to the connection's own (what it was given at login): what
   * SQL of an earlier request on the connection left with `SET` or `set_config(…, false)` —
   * search_path, a tenant setting an RLS policy reads, claims — never applies to this one, which
   * may be another user's. Inside the transaction, so it costs no round trip; PostgreSQL resets
   * only the settings that were SET (the role is not among them: SET LOCAL ROLE follows).
   */
  resetAll: { text: 'RESET ALL' },
  /**
   * And no temporary table an earlier request's SQL created (a function's `CREATE TEMP TABLE IF
   * NOT EXISTS scratch …`): it would outlive that request on the pooled connection, rows and
   * all, and be found first by the next request's unqualified names. Allowed in a read-only
   * transaction; next to nothing when the session has none.
   */
  discardTemp: { text: 'DISCARD TEMP' },
  /** Nor a cursor declared WITH HOLD, which keeps its rows past the transaction that read them. */
  closeAll: { text: 'CLOSE ALL' },
  commit: { text: 'COMMIT' },
};
const SET_LOCAL_ROLE = new Map<string, Statement>();
const SELECT_SETTINGS: string[] = [];
function setLocalRole(role: string): Statement {
  let statement = SET_LOCAL_ROLE.get(role);
  if (!statement) SET_LOCAL_ROLE.set(role, (statement = { text: `SET LOCAL ROLE ${role}` }));
  return statement;
}

/**
 * The claims as JSON text, once per claims object: a verified token's principal is built once and
 * frozen (core/auth/principal.ts), so its requests share the text.
 */
const CLAIMS_TEXT = new WeakMap<object, string>();
function claimsText(claims: object): string {
  let text = CLAIMS_TEXT.get(claims);
  if (text === undefined) {
    text = JSON.stringify(claims);
    if (Object.isFrozen(claims)) CLAIMS_TEXT.set(claims, text);
  }
  return text;
}

const BEGIN: Statement[] = [{ text: 'BEGIN' }];

/** What runs once the transaction on a client commits (afterCommit), while inTransaction runs. */
const COMMIT_HOOKS = new WeakMap<pg.PoolClient, (() => void)[]>();

/**
 * Runs `fn` once `tx` (a transaction of Database.transaction or withPrincipal) has committed,
 * before that call returns, and never when it rolls back: for what this instance may only learn
 * from a committed change (the sessions it ended, auth/sessions.ts). `fn` must not throw.
 */
export function afterCommit(tx: Tx, fn: () => void): void {
  const hooks = COMMIT_HOOKS.get(tx);
  if (!hooks) throw new Error('afterCommit: not in a Database.transaction / withPrincipal');
  hooks.push(fn);
}

type QueryFn = (...args: unknown[]) => unknown;

/**
 * Runs `fn` in a transaction on `client` opened by `preamble` (BEGIN, role, settings), sent
 * together with `fn`'s first statement: one round trip where there were two, for every
 * transaction (a write, an upload's metadata, a publish: each was preamble, statements, COMMIT).
 * Until `fn` sends its first query nothing is sent, and a transaction that never queried ends
 * without a COMMIT. The first query travels in the preamble's pipeline when it is one
 * parameterised statement (text with a values array, so never several statements); it is sent
 * unnamed, since its text is the caller's. Anything else (a submittable such as a cursor, COPY or
 * another pipeline; text without values, which may hold several statements) is queued right
 * behind the preamble, which the client sends first. A failed preamble aborts the transaction, so
 * nothing after it runs; its error is the one thrown.
 */
async function inTransaction<T>(
  client: pg.PoolClient,
  preamble: Statement[],
  prepare: boolean,
  fn: (tx: Tx) => Promise<T>,
): Promise<T> {
  const own = client as unknown as { query: QueryFn };
  const original = own.query;
  let opened: Promise<pg.QueryResult[]> | undefined;
  own.query = function firstQuery(...args: unknown[]): unknown {
    delete (own as { query?: QueryFn }).query;
    const [first, second, third] = args;
    let statement: Statement | undefined;
    if (typeof first === 'string' && Array.isArray(second) && third === undefined) {
      statement = { text: first, values: second, prepare: false };
    } else if (
      first !== null &&
      typeof first === 'object' &&
      second === undefined &&
      Object.getPrototypeOf(first) === Object.prototype
    ) {
      const config = first as Record<string, unknown>;
      const plain = Object.keys(config).every((k) => k === 'text' || k === 'values');
      if (plain && typeof config.text === 'string' && Array.isArray(config.values)) {
        statement = { text: config.text, values: config.values, prepare: false };
      }
    }
    if (statement) {
      opened = pipeline(client, [...preamble, statement], { prepare });
      return opened.then((results) => results[preamble.length]);
    }
    opened = alone = pipeline(client, preamble, { prepare });
    alone.catch(() => undefined); // thrown by inTransaction below
    return original.apply(client, args);
  };
  // The preamble when it was sent on its own: its failure makes every later statement fail.
  let alone: Promise<pg.QueryResult[]> | undefined;
  const hooks: (() => void)[] = [];
  COMMIT_HOOKS.set(client, hooks);
  let result: T;
  try {
    result = await fn(client);
  } catch (err) {
    if (alone) await alone; // the cause, when it failed
    throw err;
  } finally {
    COMMIT_HOOKS.delete(client);
    if (Object.prototype.hasOwnProperty.call(own, 'query')) {
      delete (own as { query?: QueryFn }).query;
    }
  }
  if (opened) {
    // A statement that failed and that `fn` chose to survive left the transaction aborted: the
    // COMMIT then rolls back, as it always did (and answers ROLLBACK: no hook runs).
    await opened.catch(() => undefined);
    const { command } = await client.query('COMMIT');
    if (command !== 'COMMIT') return result;
  }
  for (const hook of hooks) hook();
  return result;
}

/** The connection pools plus the transaction helpers every area uses. */
/** `value` as an SQL string literal (pg's escapeLiteral: quotes doubled, E'' with backslashes). */
export function sqlLiteral(value: string): string {
  return pg.escapeLiteral(value);
}

export class Database {
  readonly pool: pg.Pool;
  /** Where anon / authenticated requests run (the same pool when no authenticator is set). */
  readonly principalPool: pg.Pool;
  /** Where project_admin requests run: a login role that can become nothing else. */
  readonly adminPool: pg.Pool;
  private readonly prepare: boolean;
  private readonly anonStatementTimeoutMs: number;
  private readonly userStatementTimeoutMs: number;
  private readonly perClient: number;
  private readonly perAddress: number;
  /** Admission to the request pools, per instance (see README, "Database connections"). */
  private readonly gates = new Map<pg.Pool, ConnectionGate>();
  /**
   * Admission of admins' unrestricted SQL to Kiln's own pool: it may run for minutes
   * (RAW_SQL_MAX_TIMEOUT_MS), so it holds at most a quarter of the pool at once, and Kiln's own
   * work (auth, storage metadata, realtime, webhooks) always keeps the rest.
   */
  private readonly ownerSqlGate: ConnectionGate;

  constructor(options: DatabaseOptions) {
    // Kiln's own pool runs with search_path = pg_catalog, pg_temp (core/search-path.ts). The
    // request pools keep the default ("$user", public): user SQL names its tables unqualified,
    // and everything there runs as anon / authenticated / project_admin, whose privileges
    // whoever can create objects in public already has; Kiln's functions reachable from there
    // are SECURITY DEFINER with their own pinned search_path (migration 0024, core/migrate.ts).
    const make = (connectionString: string, name: string, max = options.max, own = false) => {
      const pool = new pg.Pool({
        connectionString,
        max,
        application_name: name,
        ...(own ? { options: SAFE_SEARCH_PATH_OPTIONS } : {}),
        ...(options.statementTimeoutMs > 0
          ? { statement_timeout: options.statementTimeoutMs }
          : {}),
        connectionTimeoutMillis: 10_000,
        idleTimeoutMillis: 30_000,
      });
      // An idle client losing its connection must not crash the process.
      pool.on('error', () => undefined);
      // A connection that dies while checked out (PostgreSQL restarting mid-request) makes its
      // client emit 'error', and pg-pool listens only while it is idle: without a listener of
      // our own that would end the process. The caller sees the failure through its query.
      pool.on('connect', (client) => client.on('error', () => undefined));
      return pool;
    };
    const name = options.applicationName ?? 'kiln';
    // Pinned when it is Kiln's alone; without a request login, requests share it (tests).
    this.pool = make(
      options.connectionString,
      name,
      options.max,
      !!options.principalConnectionString,
    );
    this.principalPool = options.principalConnectionString
      ? make(options.principalConnectionString, `${name}-requests`)
      : this.pool;
    this.adminPool = options.adminConnectionString
      ? // Admin traffic (dashboard, server-side API key calls) gets half the pool size.
        make(
          options.adminConnectionString,
          `${name}-admin`,
          Math.max(2, Math.ceil(options.max / 2)),
        )
      : this.principalPool;
    this.prepare = options.preparedStatements ?? true;
    this.anonStatementTimeoutMs = options.anonStatementTimeoutMs ?? 0;
    this.userStatementTimeoutMs = options.userStatementTimeoutMs ?? 0;
    this.perClient = options.maxConnectionsPerClient ?? Math.ceil(options.max / 4);
    // One address, whatever principals it uses, holds at most twice a client's share.
    this.perAddress = Math.min(options.max, this.perClient * 2);
    const queueTimeoutMs = options.queueTimeoutMs ?? 2000;
    for (const pool of new Set([this.principalPool, this.adminPool])) {
      this.gates.set(
        pool,
        new ConnectionGate({ capacity: pool.options.max ?? options.max, queueTimeoutMs }),
      );
    }
    this.ownerSqlGate = new ConnectionGate({
      capacity: Math.max(1, Math.floor(options.max / 4)),
      queueTimeoutMs,
    });
  }

  query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    params?: unknown[],
  ): Promise<pg.QueryResult<R>> {
    return this.pool.query<R>(text, params);
  }

  /**
   * Runs `fn` in one transaction as the connecting (system) role. The BEGIN travels with `fn`'s
   * first statement (inTransaction).
   */
  async transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.run(this.pool, (client) => inTransaction(client, BEGIN, this.prepare, fn));
  }

  /**
   * Runs `fn` in one transaction with the principal's role and claims set, so RLS policies and
   * `auth.uid()` see the caller. The BEGIN, role and claims travel with `fn`'s first statement,
   * in a single round trip (inTransaction).
   */
  async withPrincipal<T>(
    principal: Principal,
    fn: (tx: Tx) => Promise<T>,
    options: PrincipalTxOptions = {},
  ): Promise<T> {
    const { pool, preamble, admission } = this.principalTx(principal, options);
    return this.retryStale(() =>
      this.run(pool, (client) => inTransaction(client, preamble, this.prepare, fn), admission),
    );
  }

  /**
   * Runs `attempt` again once when its pipeline named a prepared statement the connection no
   * longer had (core/pipeline.ts): nothing of the first attempt ran.
   */
  private async retryStale<T>(attempt: () => Promise<T>): Promise<T> {
    try {
      return await attempt();
    } catch (err) {
      if (!isStaleStatementError(err)) throw err;
      return attempt();
    }
  }

  /**
   * One statement in the principal's transaction (as withPrincipal), sent together with the
   * transaction's BEGIN, role, settings and COMMIT: one round trip to PostgreSQL. For reads that
   * need nothing but the statement's own result (the records API's pages).
   */
  async statementAsPrincipal<R extends pg.QueryResultRow = pg.QueryResultRow>(
    principal: Principal,
    statement: Statement,
    options: PrincipalTxOptions = {},
  ): Promise<pg.QueryResult<R>> {
    const { pool, preamble, admission } = this.principalTx(principal, options);
    return this.retryStale(() =>
      this.run(
        pool,
        async (client) => {
          const results = await pipeline(client, [...preamble, statement, OPENING.commit], {
            prepare: this.prepare,
          });
          return results[preamble.length] as pg.QueryResult<R>;
        },
        admission,
      ),
    );
  }

  /**
   * Several transactions of the principal's, each opened as withPrincipal opens one (its own
   * settings) and committed after its statements, all sent in one round trip; resolves to each
   * transaction's own statements' results. An error stops everything after it: the transactions
   * before the failed one have committed, the failed one is rolled back. Each transaction's role
   * and settings are set by one statement (`set_config('role', …)` is SET LOCAL ROLE).
   */
  async transactionsAsPrincipal(
    principal: Principal,
    transactions: { statements: Statement[]; settings?: Record<string, string> }[],
  ): Promise<pg.QueryResult[][]> {
    const { pool, admission } = this.principalTx(principal, {});
    const parts = transactions.map((t) => {
      const open = this.principalTx(principal, { settings: t.settings }).open();
      return { open, statements: t.statements };
    });
    return this.run(
      pool,
      async (client) => {
        const all = await pipeline(
          client,
          parts.flatMap((p) => [...p.open, ...p.statements, { text: 'COMMIT' }]),
        );
        let at = 0;
        return parts.map((p) => {
          const own = all.slice(at + p.open.length, at + p.open.length + p.statements.length);
          at += p.open.length + p.statements.length + 1;
          return own;
        });
      },
      admission,
    );
  }

  /** The pool, the statements that open the principal's transaction, and its admission. */
  private principalTx(principal: Principal, options: PrincipalTxOptions) {
    if (!ROLES.has(principal.role)) throw new Error(`Unknown role ${String(principal.role)}`);
    // Per transaction, not ALTER ROLE … SET: role settings apply at login, and requests log in
    // as the authenticator, then SET ROLE.
    const timeoutMs =
      principal.role === 'anon'
        ? this.anonStatementTimeoutMs
        : principal.role === 'authenticated'
          ? this.userStatementTimeoutMs
          : 0;
    const values: string[] = ['request.jwt.claims', claimsText(principal.claims)];
    for (const key in options.settings) values.push(key, options.settings[key]!);
    if (timeoutMs > 0) values.push('statement_timeout', String(timeoutMs));
    const n = values.length / 2;
    const pool = principal.role === 'project_admin' ? this.adminPool : this.principalPool;
    const scope = options.scope ?? currentRequestScope();
    const begin = options.readOnly ? OPENING.beginReadOnly : OPENING.begin;
    const preamble: Statement[] = [
      begin,
      OPENING.resetAll,
      OPENING.discardTemp,
      OPENING.closeAll,
      // The role comes from a fixed set (checked above); every setting is a parameter.
      setLocalRole(principal.role),
      { text: (SELECT_SETTINGS[n] ??= `SELECT ${setConfigs(n)}`), values },
    ];
    // The same in five statements (`set_config('role', …, true)` is SET LOCAL ROLE).
    const open = (): Statement[] => [
      begin,
      OPENING.resetAll,
      OPENING.discardTemp,
      OPENING.closeAll,
      {
        text: `SELECT pg_catalog.set_config('role', '${principal.role}', true), ${setConfigs(n)}`,
        values,
      },
    ];
    const admission: Admission = {
      gate: this.gates.get(pool)!,
      limits: this.limitsFor(principal, scope),
      signal: scope?.signal,
    };
    return { pool, preamble, open, admission, values };
  }

  /**
   * `sql` in one transaction as the principal (its role and settings, after RESET ALL, DISCARD
   * TEMP and CLOSE ALL, as every request transaction starts), sent as a single simple-protocol Query: PostgreSQL runs the
   * statements of one Query as one implicit transaction, so SET LOCAL holds to its end and an
   * error rolls all of it back, and there is no BEGIN or COMMIT to send and no Parse/Bind per
   * statement. `sql` takes no parameters: every value in it must be a `sqlLiteral()` or a number
   * checked as one. Resolves to the results of `sql`'s own statements. For the jobs worker's
   * SQL targets (jobs/worker.ts): the extended protocol's messages were a quarter of a job's CPU.
   */
  async simpleAsPrincipal(
    principal: Principal,
    sql: string,
    settings: Record<string, string> = {},
  ): Promise<pg.QueryResult[]> {
    const { pool, admission, values } = this.principalTx(principal, { settings });
    let opening = `RESET ALL; DISCARD TEMP; CLOSE ALL; SELECT pg_catalog.set_config('role', '${principal.role}', true)`;
    for (let i = 0; i < values.length; i += 2)
      opening += `, pg_catalog.set_config(${sqlLiteral(values[i]!)}, ${sqlLiteral(values[i + 1]!)}, true)`;
    return this.run(
      pool,
      async (client) => {
        const results = (await client.query(`${opening}; ${sql}`)) as unknown as pg.QueryResult[];
        return results.slice(4);
      },
      admission,
    );
  }

  /**
   * What a request counts against: its client (principal at an address), its address, and its
   * user across addresses. project_admin (the API key, admin sessions) is trusted and only
   * bounded by its own pool's size. An address is one IPv4 address (an IPv4-mapped IPv6 one is
   * that IPv4) or one IPv6 /56, as for the HTTP rate limits: a single host holds a whole IPv6
   * prefix and can send from any address in it.
   */
  private limitsFor(principal: Principal, scope: RequestScope | undefined): GateLimit[] {
    if (!scope || principal.role === 'project_admin') return [];
    const address = scope.ip ? ipKeyGenerator(scope.ip, 56) : 'unknown';
    const who = principal.sub ? `user:${principal.sub}` : principal.credential;
    return [
      { key: `client:${who}@${address}`, limit: this.perClient },
      { key: `address:${address}`, limit: this.perAddress },
      ...(principal.sub ? [{ key: `user:${principal.sub}`, limit: this.perAddress }] : []),
    ];
  }

  /**
   * Runs `fn` on a connection for an admin's SQL run outside withPrincipal (raw SQL, user
   * migrations), which manages its own transaction. `owner`: Kiln's own pool (unrestricted SQL),
   * of which such work holds at most a quarter at once; `admin`: the project_admin pool, admitted
   * by its gate as admin requests are. The HTTP client's hang-up cancels the statement running.
   * `discard` closes the connection afterwards instead of reusing it (session state the SQL may
   * have left behind); after an error it is always closed.
   */
  async withAdminSql<T>(
    where: 'owner' | 'admin',
    fn: (client: Tx) => Promise<T>,
    options: { discard?: boolean } = {},
  ): Promise<T> {
    const pool = where === 'owner' ? this.pool : this.adminPool;
    const gate = where === 'owner' ? this.ownerSqlGate : this.gates.get(this.adminPool)!;
    const signal = currentRequestScope()?.signal;
    const leave = await gate.acquire([], signal);
    try {
      const client = await pool.connect();
      if (signal?.aborted) {
        client.release();
        throw new RequestAbortedError();
      }
      const stop = cancelOnAbort(client, signal);
      // After an error the connection is closed too: whatever state it was left in goes with it.
      let broken: Error | undefined;
      try {
        return await fn(client);
      } catch (err) {
        broken = err as Error;
        throw signal?.aborted ? new RequestAbortedError() : err;
      } finally {
        // The SQL may have deallocated the connection's prepared statements.
        forgetPrepared(client);
        stop();
        client.release(broken ?? options.discard);
      }
    } finally {
      leave();
    }
  }

  /** True when PostgreSQL answers within `timeoutMs`. */
  async ping(timeoutMs = 2000): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
      });
      await Promise.race([this.pool.query('SELECT 1'), timeout]);
      return true;
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Each distinct pool's use right now (for /metrics): `kiln` is Kiln's own, `requests` the
   * anon / authenticated one, `admin` the project_admin one (a pool shared by several roles is
   * listed once, under its first name). `gate` is the request admission in front of it
   * (core/connection-gate.ts); Kiln's own pool has the raw-SQL gate in front of part of it.
   */
  poolStats(): PoolStats[] {
    const seen = new Set<pg.Pool>();
    const stats: PoolStats[] = [];
    for (const [name, pool] of [
      ['kiln', this.pool],
      ['requests', this.principalPool],
      ['admin', this.adminPool],
    ] as const) {
      if (seen.has(pool)) continue;
      seen.add(pool);
      const gate = (
        this.gates.get(pool) ?? (pool === this.pool ? this.ownerSqlGate : undefined)
      )?.stats();
      stats.push({
        name,
        max: pool.options.max ?? 0,
        total: pool.totalCount,
        idle: pool.idleCount,
        waiting: pool.waitingCount,
        ...(gate ? { gate } : {}),
      });
    }
    return stats;
  }

  async close(): Promise<void> {
    await this.pool.end();
    if (this.principalPool !== this.pool) await this.principalPool.end();
    if (this.adminPool !== this.principalPool) await this.adminPool.end();
  }

  /**
   * Runs `work` on a connection of `pool` (admitted by its gate first): `work` opens and commits
   * its transaction; after an error the transaction is rolled back, and a connection whose
   * rollback failed is closed.
   */
  private async run<T>(
    pool: pg.Pool,
    work: (client: Tx) => Promise<T>,
    admission?: Admission,
  ): Promise<T> {
    const signal = admission?.signal;
    const leave = admission ? await admission.gate.acquire(admission.limits, signal) : undefined;
    try {
      const client = await pool.connect();
      if (signal?.aborted) {
        client.release();
        throw new RequestAbortedError();
      }
      let broken: Error | undefined;
      const stop = cancelOnAbort(client, signal);
      try {
        return await work(client);
      } catch (err) {
        if (signal?.aborted) throw new RequestAbortedError();
        try {
          await client.query('ROLLBACK');
        } catch (rollbackErr) {
          broken = rollbackErr as Error;
        }
        throw err;
      } finally {
        stop();
        client.release(broken ?? (signal?.aborted ? new RequestAbortedError() : undefined));
      }
    } finally {
      leave?.();
    }
  }
}

/**
 * A client that hangs up cancels the statement running for it, and any later one until the work
 * gives up; the caller then discards the connection, so no late cancel reaches a query run for
 * someone else. Returns what ends the watch.
 */
function cancelOnAbort(client: pg.PoolClient, signal: AbortSignal | undefined): () => void {
  let again: NodeJS.Timeout | undefined;
  const cancel = () => {
    sendCancelRequest(client);
    again = setInterval(() => sendCancelRequest(client), 250);
  };
  signal?.addEventListener('abort', cancel, { once: true });
  return () => {
    signal?.removeEventListener('abort', cancel);
    clearInterval(again);
  };
}

/** Quoting lives in core/sql.ts; re-exported here for the areas that import it from db. */
export { quoteIdent } from './sql.js';

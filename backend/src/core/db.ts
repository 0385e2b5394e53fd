import pg from 'pg';
import type { Role } from '@kiln/shared-schemas';
import { SAFE_SEARCH_PATH_OPTIONS } from './search-path.js';

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
  statementTimeoutMs: number;
  applicationName?: string;
}

/** The connection pools plus the transaction helpers every area uses. */
export class Database {
  readonly pool: pg.Pool;
  /** Where anon / authenticated requests run (the same pool when no authenticator is set). */
  readonly principalPool: pg.Pool;
  /** Where project_admin requests run: a login role that can become nothing else. */
  readonly adminPool: pg.Pool;

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
  }

  query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    params?: unknown[],
  ): Promise<pg.QueryResult<R>> {
    return this.pool.query<R>(text, params);
  }

  /** Runs `fn` in one transaction as the connecting (system) role. */
  async transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.run(this.pool, 'BEGIN', fn);
  }

  /**
   * Runs `fn` in one transaction with the principal's role and claims set, so RLS policies and
   * `auth.uid()` see the caller. The BEGIN, role and claims travel in a single round trip.
   */
  async withPrincipal<T>(
    principal: Principal,
    fn: (tx: Tx) => Promise<T>,
    options: PrincipalTxOptions = {},
  ): Promise<T> {
    if (!ROLES.has(principal.role)) throw new Error(`Unknown role ${String(principal.role)}`);
    const escape = pg.escapeLiteral;
    const settings = {
      'request.jwt.claims': JSON.stringify(principal.claims),
      ...options.settings,
    };
    const sets = Object.entries(settings)
      .map(([name, value]) => `set_config(${escape(name)}, ${escape(value)}, true)`)
      .join(', ');
    // The role comes from a fixed set, everything else is escaped: safe as one simple query.
    return this.run(
      principal.role === 'project_admin' ? this.adminPool : this.principalPool,
      `BEGIN${options.readOnly ? ' READ ONLY' : ''}; SET LOCAL ROLE ${principal.role}; SELECT ${sets}`,
      fn,
    );
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

  async close(): Promise<void> {
    await this.pool.end();
    if (this.principalPool !== this.pool) await this.principalPool.end();
    if (this.adminPool !== this.principalPool) await this.adminPool.end();
  }

  private async run<T>(pool: pg.Pool, begin: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      await client.query(begin);
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackErr) {
        broken = rollbackErr as Error;
      }
      throw err;
    } finally {
      client.release(broken);
    }
  }
}

/** Quotes an identifier for SQL (the one helper every area uses for names). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

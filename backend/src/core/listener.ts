/**
 * The one way Kiln keeps a LISTEN connection: realtime (messages, webhooks, presence), the
 * schema cache's reloads and the credential revocations each hold one. PostgreSQL restarting,
 * failing over or being unreachable for a while must not end them: a lost connection is
 * reconnected with backoff (doubling up to {@link MAX_DELAY_MS}, with jitter) for as long as it
 * takes, and after every reconnect the owner catches up on what it may have missed
 * (`onReconnect`, given the last moment, by PostgreSQL's clock, the lost connection was known
 * to be listening). A catch-up that fails counts as a failed attempt: the connection is dropped
 * and tried again, so nothing missed is skipped.
 *
 * The connection is also pinged every {@link PING_MS}: that is how the moment above is known,
 * and a connection that stopped answering (a peer gone without closing it) is replaced.
 */
import pg from 'pg';
import type { Logger } from './logger.js';
import { SAFE_SEARCH_PATH_OPTIONS } from './search-path.js';
import { quoteIdent } from './sql.js';

export interface ListenerOptions {
  connectionString: string;
  /** application_name of the connection (pg_stat_activity). */
  name: string;
  channels: string[];
  onNotification(channel: string, payload: string | undefined): void;
  /**
   * After a reconnect (not the first connect): catch up on what was missed since `since`, the
   * last time (PostgreSQL's clock) the lost connection was known to be listening. A rejection
   * drops the connection and tries again.
   */
  onReconnect?(since: Date): Promise<void> | void;
  logger?: Logger;
}

/** The first retry comes after about this long; each failure doubles it up to MAX_DELAY_MS. */
const MIN_DELAY_MS = 100;
const MAX_DELAY_MS = 2000;
/**
 * How often a listening connection is pinged. (A peer that vanished without closing the
 * connection is also found by TCP keepalive, probing after 10 s idle.)
 */
const PING_MS = 30_000;
/** How long connecting, listening or a ping may take before the connection counts as lost. */
const TIMEOUT_MS = 10_000;

export class PgListener {
  private client: pg.Client | undefined;
  private closed = false;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  /** The last moment (PostgreSQL's clock) the current connection was known to be listening. */
  private aliveAt: Date | undefined;

  constructor(private readonly options: ListenerOptions) {}

  /** Connects and listens; fails if PostgreSQL cannot be reached now (start-up). */
  async start(): Promise<void> {
    await this.connect();
  }

  /** Whether a connection is listening now. */
  get listening(): boolean {
    return this.client !== undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.pingTimer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.options.connectionString,
      application_name: this.options.name,
      options: SAFE_SEARCH_PATH_OPTIONS,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      // A server that accepts the connection and then says nothing must not hold a reconnect
      // (or a ping) up for ever.
      connectionTimeoutMillis: TIMEOUT_MS,
      query_timeout: TIMEOUT_MS,
    });
    client.on('notification', (n) => {
      try {
        this.options.onNotification(n.channel, n.payload);
      } catch (err) {
        this.options.logger?.warn('database listener: a notification failed', {
          name: this.options.name,
          error: String(err),
        });
      }
    });
    client.on('error', () => undefined);
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      for (const channel of this.options.channels)
        await client.query(`LISTEN ${quoteIdent(channel)}`);
      const { rows } = await client.query<{ now: Date }>('SELECT now()');
      this.aliveAt = rows[0]!.now;
    } catch (err) {
      // Not awaited: closing a connection that never answered can take as long as it did not.
      void client.end().catch(() => undefined);
      throw err;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.schedulePing(client);
  }

  private lost(client: pg.Client): void {
    if (this.closed || this.client !== client) return;
    this.client = undefined;
    clearTimeout(this.pingTimer);
    this.options.logger?.warn('database listener lost; reconnecting', { name: this.options.name });
    this.retry();
  }

  private retry(): void {
    if (this.closed) return;
    const base = Math.min(MAX_DELAY_MS, MIN_DELAY_MS * 2 ** this.failures);
    const delay = base / 2 + Math.random() * (base / 2);
    this.failures += 1;
    this.retryTimer = setTimeout(() => void this.reconnect(), delay);
    this.retryTimer.unref();
  }

  private async reconnect(): Promise<void> {
    if (this.closed) return;
    const since = this.aliveAt ?? new Date(0);
    try {
      await this.connect();
    } catch (err) {
      if (this.failures === 1 || this.failures % 30 === 0) {
        this.options.logger?.warn('database listener reconnect failed; retrying', {
          name: this.options.name,
          attempts: this.failures,
          error: String(err),
        });
      }
      this.retry();
      return;
    }
    const client = this.client;
    if (!client) return; // closed meanwhile
    try {
      await this.options.onReconnect?.(since);
    } catch (err) {
      // Whatever was missed is still to be caught up: drop this connection and try again (the
      // catch-up then starts from the same moment).
      this.options.logger?.warn('database listener catch-up failed; retrying', {
        name: this.options.name,
        error: String(err),
      });
      this.aliveAt = since;
      this.client = undefined;
      clearTimeout(this.pingTimer);
      void client.end().catch(() => undefined);
      this.retry();
      return;
    }
    this.failures = 0;
    this.options.logger?.info('database listener reconnected', { name: this.options.name });
  }

  private schedulePing(client: pg.Client): void {
    this.pingTimer = setTimeout(() => {
      if (this.client !== client) return;
      client.query<{ now: Date }>('SELECT now()').then(
        ({ rows }) => {
          if (this.client !== client) return;
          this.aliveAt = rows[0]!.now;
          this.schedulePing(client);
        },
        () => {
          // No answer in time, or an error: the connection counts as lost now (closing it may
          // take as long as the peer takes to notice), and a new one is made.
          this.lost(client);
          void client.end().catch(() => undefined);
        },
      );
    }, PING_MS);
    this.pingTimer.unref();
  }
}

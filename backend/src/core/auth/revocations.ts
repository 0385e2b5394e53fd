/**
 * Credentials that end before they expire. The database announces every change on the
 * `kiln_credentials` channel (migration 0026): `{"sessions": [ids]}` when sessions end (sign-out,
 * revocation, password reset, a deleted user...), `{"keys": true}` when the project keys change.
 *
 * Each instance keeps the recently ended session ids in memory, so checking an access token's
 * `sid` is a map lookup, never a query. The instance that ends sessions knows their ids before
 * the request that ended them answers (`endedHere`, called by auth/sessions.ts once the ending
 * committed): its own listener hears the announcement only a few milliseconds later, too late
 * for a client that uses the token again straight after the answer. Other instances learn them
 * from the announcement, within those milliseconds (README, "Sessions"). Missed notifications (the listening connection dropped)
 * are covered by a full re-read of the recent tombstones when the listener reconnects and every
 * RESYNC_MS as a safety net.
 *
 * How long a tombstone is kept comes with it (`keep_until`: when the last access token issued for
 * the session expires, migration 0031), never from this instance's settings: an instance started
 * with a shorter ACCESS_TOKEN_TTL_SECONDS, or beside one with a longer lifetime, still refuses
 * every unexpired token of an ended session, and none prunes a tombstone another still needs.
 */
import type { Database } from '../db.js';
import { PgListener } from '../listener.js';
import type { Logger } from '../logger.js';

/** What the token verifier needs to know. */
export interface SessionRevocations {
  isEnded(sessionId: string): boolean;
}

/** A session that ended, and until when its tombstone is kept (`tokens_until`, epoch ms). */
export interface EndedSession {
  id: string;
  untilMs: number | null;
}

/** What the session store tells this instance about the sessions it ends. */
export interface SessionEndings {
  /** Sessions ended by a change that has committed (never before: it may roll back). */
  endedHere(sessions: EndedSession[]): void;
}

export interface RevocationOptions {
  connectionString: string;
  /**
   * This instance's access-token lifetime (seconds): an id is kept in memory at least this long
   * (plus a margin) after this instance learns of it, and as long as its tombstone says
   * (`keep_until`) when that is later.
   */
  maxTokenTtlSeconds: number;
  logger?: Logger;
  /** How often the full list is re-read (safety net for missed notifications). */
  resyncMs?: number;
}

type Listener<T> = (value: T) => void;

/** Margin for clock differences between instances and the database. */
const SKEW_SECONDS = 60;
const RESYNC_MS = 10_000;

export class Revocations implements SessionRevocations, SessionEndings {
  /** Ended session id → until when its tokens may be unexpired (ms, the tombstone's keep_until). */
  private readonly ended = new Map<string, number>();
  private listener: PgListener | undefined;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  private syncing: Promise<void> | undefined;
  private readonly sessionListeners = new Set<Listener<string[]>>();
  private readonly keyListeners = new Set<Listener<void>>();
  private readonly resyncListeners = new Set<Listener<void>>();
  /** Announcements heard while held (holdAnnouncements), in order. */
  private held: (string | undefined)[] | undefined;

  constructor(
    private readonly db: Database,
    private readonly options: RevocationOptions,
  ) {}

  private get horizonSeconds(): number {
    return this.options.maxTokenTtlSeconds + SKEW_SECONDS;
  }

  /** Listens, then reads the current list: nothing ended in between is missed. */
  async start(): Promise<void> {
    await this.listen();
    await this.resync();
    const every = this.options.resyncMs ?? RESYNC_MS;
    this.timer = setInterval(() => {
      this.resync()
        .then(() => this.emit(this.resyncListeners, undefined))
        .catch((err: unknown) =>
          this.options.logger?.warn('revocation resync failed', { error: String(err) }),
        );
    }, every);
    this.timer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    const listener = this.listener;
    this.listener = undefined;
    await listener?.close();
  }

  /** Whether the LISTEN connection is up (readiness). */
  get listening(): boolean {
    return this.listener?.listening ?? false;
  }

  isEnded(sessionId: string): boolean {
    return this.ended.has(sessionId);
  }

  endedHere(sessions: EndedSession[]): void {
    this.learn(sessions.map((s) => [s.id, s.untilMs ?? undefined]));
  }

  /**
   * Test seam: the announcements heard from now on wait until the returned function is called
   * (then they are handled in order), as on a busy instance whose listener has not read them yet.
   */
  holdAnnouncements(): () => void {
    this.held ??= [];
    return () => {
      const held = this.held ?? [];
      this.held = undefined;
      for (const payload of held) this.onNotification(payload);
    };
  }

  /** Sessions that just ended (from any instance). */
  onSessionsEnded(fn: Listener<string[]>): () => void {
    this.sessionListeners.add(fn);
    return () => this.sessionListeners.delete(fn);
  }

  /** The project keys changed (or may have: after a reconnect). */
  onKeysChanged(fn: Listener<void>): () => void {
    this.keyListeners.add(fn);
    return () => this.keyListeners.delete(fn);
  }

  /** After each periodic re-read: a moment to re-check what timers or events may have missed. */
  onResync(fn: Listener<void>): () => void {
    this.resyncListeners.add(fn);
    return () => this.resyncListeners.delete(fn);
  }

  /** Records ended sessions and tells the listeners about the ones that are new here. */
  private learn(entries: [id: string, untilMs: number | undefined][]): void {
    // At least this instance's own token lifetime from now, as measured by its own clock (the
    // tombstone's keep_until is the database's clock).
    const floor = Date.now() + this.horizonSeconds * 1000;
    const fresh: string[] = [];
    for (const [id, untilMs] of entries) {
      if (typeof id !== 'string') continue;
      const known = this.ended.get(id);
      let until = typeof untilMs === 'number' && Number.isFinite(untilMs) ? untilMs : floor;
      if (known === undefined) {
        fresh.push(id);
        until = Math.max(until, floor);
      }
      if (known === undefined || known < until) this.ended.set(id, until);
    }
    if (fresh.length) this.emit(this.sessionListeners, fresh);
  }

  /** Re-reads the recent tombstones; forgets (here and in the table) those nobody needs. */
  resync(): Promise<void> {
    this.syncing ??= (async () => {
      try {
        const { rows } = await this.db.query<{ session_id: string; until_ms: number }>(
          `SELECT session_id,
                  (pg_catalog.date_part('epoch', keep_until) * 1000)::float8 AS until_ms
             FROM auth.ended_sessions
            WHERE keep_until > pg_catalog.now() - pg_catalog.make_interval(secs => $1)`,
          [SKEW_SECONDS],
        );
        this.learn(rows.map((r) => [r.session_id, r.until_ms]));
        const cutoff = Date.now() - SKEW_SECONDS * 1000;
        for (const [id, until] of this.ended) if (until < cutoff) this.ended.delete(id);
        // A tombstone goes once no token of its session can be unexpired, on any instance.
        await this.db.query(
          `DELETE FROM auth.ended_sessions
            WHERE keep_until < pg_catalog.now() - pg_catalog.make_interval(secs => $1)`,
          [SKEW_SECONDS],
        );
      } finally {
        this.syncing = undefined;
      }
    })();
    return this.syncing;
  }

  private onNotification(payload: string | undefined): void {
    if (this.held) {
      this.held.push(payload);
      return;
    }
    let note: { sessions?: unknown; until?: unknown; keys?: unknown };
    try {
      note = JSON.parse(payload ?? '');
    } catch {
      return;
    }
    if (Array.isArray(note.sessions)) {
      const until = typeof note.until === 'number' ? note.until * 1000 : undefined;
      this.learn((note.sessions as string[]).map((id) => [id, until]));
    }
    if (note.keys) this.emit(this.keyListeners, undefined);
  }

  private emit<T>(listeners: Set<Listener<T>>, value: T): void {
    for (const fn of listeners) {
      try {
        fn(value);
      } catch (err) {
        this.options.logger?.warn('revocation listener failed', { error: String(err) });
      }
    }
  }

  /** Listens for changes; after a reconnect (core/listener.ts), re-reads what may have changed. */
  private async listen(): Promise<void> {
    if (this.closed) return;
    const listener = new PgListener({
      connectionString: this.options.connectionString,
      name: 'kiln-credentials',
      channels: ['kiln_credentials'],
      onNotification: (channel, payload) => {
        if (channel === 'kiln_credentials') this.onNotification(payload);
      },
      onReconnect: async () => {
        await this.resync();
        this.emit(this.keyListeners, undefined);
      },
      logger: this.options.logger,
    });
    await listener.start();
    this.listener = listener;
  }
}

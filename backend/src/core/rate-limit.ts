/**
 * Rate limits with express-rate-limit, counted in PostgreSQL so every instance shares them.
 * Answers 429 in Kiln's error envelope with `Retry-After` (and the draft-7 RateLimit headers).
 */
import type { RequestHandler } from 'express';
import { rateLimit, type ClientRateLimitInfo, type Options, type Store } from 'express-rate-limit';
import type { Database } from './db.js';

/** A fixed window per key: one upsert per hit. */
export class PostgresRateLimitStore implements Store {
  private windowMs = 60_000;
  readonly localKeys = false;

  constructor(
    private readonly db: Database,
    readonly prefix: string,
  ) {}

  init(options: Options): void {
    this.windowMs = options.windowMs;
  }

  async get(key: string): Promise<ClientRateLimitInfo | undefined> {
    const { rows } = await this.db.query<{ hits: number; reset_at: Date }>(
      'SELECT hits, reset_at FROM system.rate_limits WHERE key = $1 AND reset_at > pg_catalog.now()',
      [this.prefix + key],
    );
    return rows[0] ? { totalHits: rows[0].hits, resetTime: rows[0].reset_at } : undefined;
  }

  async increment(key: string): Promise<ClientRateLimitInfo> {
    const { rows } = await this.db.query<{ hits: number; reset_at: Date }>(
      `INSERT INTO system.rate_limits AS r (key, hits, reset_at)
       VALUES ($1, 1, pg_catalog.now() + pg_catalog.make_interval(secs => $2::float8 / 1000))
       ON CONFLICT (key) DO UPDATE SET
         hits = CASE WHEN r.reset_at <= pg_catalog.now() THEN 1 ELSE r.hits + 1 END,
         reset_at = CASE WHEN r.reset_at <= pg_catalog.now() THEN EXCLUDED.reset_at ELSE r.reset_at END
       RETURNING hits, reset_at`,
      [this.prefix + key, this.windowMs],
    );
    return { totalHits: rows[0]!.hits, resetTime: rows[0]!.reset_at };
  }

  async decrement(key: string): Promise<void> {
    await this.db.query(
      'UPDATE system.rate_limits SET hits = greatest(hits - 1, 0) WHERE key = $1',
      [this.prefix + key],
    );
  }

  async resetKey(key: string): Promise<void> {
    await this.db.query('DELETE FROM system.rate_limits WHERE key = $1', [this.prefix + key]);
  }

  /** Drops expired counters (called now and then). */
  static async prune(db: Database): Promise<void> {
    await db.query('DELETE FROM system.rate_limits WHERE reset_at < pg_catalog.now()');
  }
}

export function limiter(
  db: Database,
  name: string,
  options: { limit: number; windowSeconds: number; what: string },
): RequestHandler {
  return rateLimit({
    windowMs: options.windowSeconds * 1000,
    limit: options.limit,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    store: new PostgresRateLimitStore(db, `${name}:`),
    // Per client address (trust proxy decides what that is); IPv6 grouped by /56.
    ipv6Subnet: 56,
    handler: (_req, res, _next, opts) => {
      const seconds = Math.ceil(opts.windowMs / 1000);
      res.status(429).json({
        error: 'RATE_LIMITED',
        message: `Too many ${options.what}: at most ${options.limit} per ${seconds} seconds from one address`,
        statusCode: 429,
        nextActions: 'Wait for the time in the Retry-After header, then try again',
      });
    },
  });
}

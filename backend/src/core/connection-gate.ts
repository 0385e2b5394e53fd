import { BusyError } from './errors.js';

/** One thing a request counts against (a client, an address, a user) and how many it may hold. */
export interface GateLimit {
  key: string;
  limit: number;
}

export interface ConnectionGateOptions {
  /** Connections of the gated pool: never more requests inside at once. */
  capacity: number;
  /** How long a request may wait for room before it is answered 429 or 503. */
  queueTimeoutMs: number;
}

interface Waiter {
  limits: GateLimit[];
  grant: (release: () => void) => void;
  timer: NodeJS.Timeout;
  signal?: AbortSignal;
  onAbort: () => void;
}

/** Requests a client may have waiting, per connection it may hold, before more are refused outright. */
const QUEUED_PER_SLOT = 4;

/**
 * Admission to one connection pool, per instance: at most `capacity` requests hold a connection,
 * and each of a request's limits (its client, its address, its user) caps how many of those it
 * shares with others of the same key. A request that does not fit waits, first come first
 * served, up to `queueTimeoutMs`; then it is refused with 429 when one of its own limits was
 * full (it holds its share already) or 503 when the pool was (everyone is busy).
 */
export class ConnectionGate {
  private inUse = 0;
  private readonly held = new Map<string, number>();
  private readonly queued = new Map<string, number>();
  /** Insertion-ordered: iteration is first come, first served. */
  private readonly waiters = new Set<Waiter>();

  constructor(private readonly options: ConnectionGateOptions) {}

  /** Resolves with the release function once the request may take a connection. */
  acquire(limits: GateLimit[], signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    // Waiters still queued never fit (every release admits all that do), so a newcomer that
    // fits takes the room without overtaking anyone who could have used it.
    if (this.fits(limits)) return Promise.resolve(this.take(limits));
    const first = limits[0];
    if (first && (this.queued.get(first.key) ?? 0) >= first.limit * QUEUED_PER_SLOT) {
      return Promise.reject(this.refusal(limits));
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        limits,
        grant: (release) => {
          this.leaveQueue(waiter);
          resolve(release);
        },
        timer: setTimeout(() => {
          this.leaveQueue(waiter);
          reject(this.refusal(limits));
        }, this.options.queueTimeoutMs),
        signal,
        onAbort: () => {
          this.leaveQueue(waiter);
          reject(signal!.reason as Error);
        },
      };
      this.waiters.add(waiter);
      if (first) this.queued.set(first.key, (this.queued.get(first.key) ?? 0) + 1);
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
    });
  }

  /** Connections held and requests waiting right now (for health and tests). */
  stats(): { inUse: number; waiting: number } {
    return { inUse: this.inUse, waiting: this.waiters.size };
  }

  private fits(limits: GateLimit[]): boolean {
    return (
      this.inUse < this.options.capacity &&
      limits.every((l) => (this.held.get(l.key) ?? 0) < l.limit)
    );
  }

  private refusal(limits: GateLimit[]): BusyError {
    const full = limits.find((l) => (this.held.get(l.key) ?? 0) >= l.limit);
    if (full) {
      return new BusyError(
        429,
        'DATABASE_CLIENT_LIMIT',
        `This client already uses its share of database connections (${full.limit}); ` +
          'wait for its other requests to finish',
      );
    }
    return new BusyError(503, 'DATABASE_BUSY', 'No database connection became free in time');
  }

  private take(limits: GateLimit[]): () => void {
    this.inUse++;
    for (const l of limits) this.held.set(l.key, (this.held.get(l.key) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inUse--;
      for (const l of limits) {
        const n = (this.held.get(l.key) ?? 1) - 1;
        if (n > 0) this.held.set(l.key, n);
        else this.held.delete(l.key);
      }
      this.admit();
    };
  }

  private admit(): void {
    for (const waiter of this.waiters) {
      if (this.inUse >= this.options.capacity) return;
      if (this.fits(waiter.limits)) waiter.grant(this.take(waiter.limits));
    }
  }

  private leaveQueue(waiter: Waiter): void {
    if (!this.waiters.delete(waiter)) return;
    clearTimeout(waiter.timer);
    waiter.signal?.removeEventListener('abort', waiter.onAbort);
    const first = waiter.limits[0];
    if (first) {
      const n = (this.queued.get(first.key) ?? 1) - 1;
      if (n > 0) this.queued.set(first.key, n);
      else this.queued.delete(first.key);
    }
  }
}

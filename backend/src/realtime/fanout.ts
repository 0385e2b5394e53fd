/**
 * How a stored realtime message reaches the sockets of every instance (REALTIME_ADAPTER).
 *
 * Every message is announced with NOTIFY (by id) to every instance either way; what differs is
 * who reads it and who sends it:
 *
 * - `postgres` (the default): every instance reads each announced message and sends it to its
 *   own sockets. PostgreSQL does one read per message per instance.
 * - `redis`: the official Socket.IO Redis adapter links the instances' Socket.IO servers. One
 *   instance claims each announced message (SET NX in Redis, so exactly one wins), reads it and
 *   broadcasts it; Redis carries it to the sockets of every other instance. PostgreSQL does one
 *   read per message, whatever the number of instances. If Redis cannot be reached, each
 *   instance falls back to sending to its own sockets, as with `postgres`.
 *
 * Presence, webhooks and jobs stay in PostgreSQL with either: each instance sends presence
 * events to its own sockets only (`io.local`).
 */
import { createAdapter } from '@socket.io/redis-adapter';
import { createClient } from 'redis';
import type { Server } from 'socket.io';
import type { Logger } from '../core/logger.js';
import { parseJsonExact, stringifyJson } from '../core/json.js';

/** How long a claim on a message is remembered (a catch-up after a reconnect skips claimed ones). */
const CLAIM_TTL_SECONDS = 3600;

export interface Fanout {
  readonly kind: 'postgres' | 'redis';
  /**
   * Of the announced message ids, those this instance is to read and send; `everywhere`: sending
   * reaches the sockets of every instance (else only this instance's own).
   */
  claim(ids: string[]): Promise<{ ids: string[]; everywhere: boolean }>;
  close(): Promise<void>;
}

export const postgresFanout: Fanout = {
  kind: 'postgres',
  claim: (ids) => Promise.resolve({ ids, everywhere: false }),
  close: () => Promise.resolve(),
};

/**
 * Links `io` to the other instances through Redis. Adapter messages are JSON written and read
 * as core/json.ts does (numbers no double holds stay exact), not the adapter's default msgpack.
 */
export async function redisFanout(io: Server, url: string, logger: Logger): Promise<Fanout> {
  const pub = createClient({ url });
  const sub = pub.duplicate();
  let lastError = 0;
  const onError = (err: unknown) => {
    // The client reconnects on its own; one line per ten seconds is enough to see it.
    if (Date.now() - lastError < 10_000) return;
    lastError = Date.now();
    logger.warn('realtime redis connection error', { error: String(err) });
  };
  pub.on('error', onError);
  sub.on('error', onError);
  await Promise.all([pub.connect(), sub.connect()]);
  // The adapter publishes without handling a failure: a connection lost with a publish in flight
  // would reject with no handler and end the process. Logged instead (that message is lost to
  // the other instances, as any pub/sub message sent while the link is down).
  const publish = pub.publish.bind(pub);
  Object.defineProperty(pub, 'publish', {
    value: (...args: Parameters<typeof publish>) =>
      publish(...args).catch((err: unknown) => {
        onError(err);
        return 0;
      }),
  });
  io.adapter(
    createAdapter(pub, sub, {
      key: 'kiln-realtime',
      parser: {
        encode: (value: unknown) => stringifyJson(value),
        decode: (msg: Buffer | string) => parseJsonExact(msg.toString()),
      },
    }),
  );
  return {
    kind: 'redis',
    async claim(ids) {
      try {
        // Issued together, node-redis sends them as one pipeline. While Redis is unreachable
        // commands wait in the client's queue: after a second, send to this instance's sockets.
        let timer: NodeJS.Timeout | undefined;
        const won = await Promise.race([
          Promise.all(
            ids.map((id) =>
              pub.set(`kiln-realtime:claim:${id}`, '1', {
                condition: 'NX',
                expiration: { type: 'EX', value: CLAIM_TTL_SECONDS },
              }),
            ),
          ),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error('Redis did not answer in time')), 1000);
          }),
        ]).finally(() => clearTimeout(timer));
        return { ids: ids.filter((_, i) => won[i] === 'OK'), everywhere: true };
      } catch (err) {
        onError(err);
        return { ids, everywhere: false };
      }
    },
    async close() {
      // Gracefully when connected; at once when not (a close would wait for Redis to return).
      await Promise.allSettled(
        [pub, sub].map((c) => (c.isReady ? c.close() : Promise.resolve(c.destroy()))),
      );
    },
  };
}

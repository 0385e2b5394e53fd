/**
 * Realtime over Socket.IO at the server root, as @insforge/sdk speaks it: `realtime:subscribe`
 * (ack with presence), `realtime:unsubscribe`, `realtime:publish`, events delivered under their
 * own names with a `meta` envelope, `presence:join` / `presence:leave`, `realtime:error`.
 *
 * Permission lives in PostgreSQL: subscribing selects the matching channel row as the caller,
 * publishing inserts the message as the caller (RLS decides). Every stored message is announced
 * with NOTIFY (by id), and every instance delivers it to its own sockets, so messages published
 * by a client, by SQL or by a trigger on any instance reach every subscriber once.
 */
import crypto from 'node:crypto';
import type http from 'node:http';
import { ipKeyGenerator } from 'express-rate-limit';
import { Server, type Socket } from 'socket.io';
import type { Database, Principal } from '../core/db.js';
import { BusyError, RequestAbortedError } from '../core/errors.js';
import { PG, pgCode } from '../core/sql.js';
import { jsonProblem } from '../core/http.js';
import { parseJsonExact, stringifyJson, writingJsonExactly } from '../core/json.js';
import { PgListener } from '../core/listener.js';
import { postgresFanout, redisFanout, type Fanout } from './fanout.js';
import type { RequestScope } from '../core/request-scope.js';
import type { Logger } from '../core/logger.js';
import { resolveCredential } from '../core/auth/principal.js';
import type { KeyStore } from '../core/auth/keys.js';
import type { TokenService } from '../core/auth/tokens.js';
import type { Revocations } from '../core/auth/revocations.js';
import {
  identitiesRoom,
  isIdentitiesRoom,
  PresenceView,
  selfRoom,
  toMember,
  type Member,
  type PresenceRow,
} from './presence.js';

const CHANNEL = /^[A-Za-z0-9_.:@/-]{1,255}$/;
// The form of an event name. Which names are reserved for the database (row changes, presence,
// Socket.IO's own) is decided by the database for every message (realtime.is_reserved_event).
const EVENT = /^[A-Za-z0-9_.:-]{1,255}$/;
const MAX_PAYLOAD_BYTES = 64 * 1024;
/**
 * After the listener reconnects: messages stored up to this long before the lost connection was
 * last known alive are looked at again (a transaction's created_at is its start, it may commit
 * later), and at most this many are caught up.
 */
const CATCH_UP_MARGIN_SECONDS = 5;
const CATCH_UP_MAX_MESSAGES = 10_000;
const MAX_CHANNELS_PER_SOCKET = 100;
/** Events one socket may have waiting for their turn (a resubscribe of every channel fits). */
const MAX_WAITING_EVENTS = 2 * MAX_CHANNELS_PER_SOCKET;

/**
 * Event payloads keep their numbers as written (core/json.ts), both ways: the packet encoder
 * (one for every socket and broadcast) writes JsonNumbers as their text, and each connection's
 * decoder (made per connection from the server's parser) reads numbers no double holds as
 * JsonNumbers. Socket.IO's own parser otherwise, so the wire format is unchanged.
 */
function exactNumbers(io: Server): void {
  const encoder = io.encoder as unknown as { encodeAsString(packet: unknown): string };
  const encodeAsString = encoder.encodeAsString.bind(encoder);
  encoder.encodeAsString = (packet) => writingJsonExactly(() => encodeAsString(packet));
  type DecoderClass = new (...args: unknown[]) => { tryParse(text: string): unknown };
  const server = io as unknown as { _parser: { Decoder: DecoderClass } };
  const Base = server._parser.Decoder;
  class ExactDecoder extends Base {
    override tryParse(text: string): unknown {
      try {
        return parseJsonExact(text);
      } catch {
        return false; // as Socket.IO's: the packet is then refused as invalid
      }
    }
  }
  server._parser = { ...server._parser, Decoder: ExactDecoder };
}

interface MessageRow {
  id: string;
  channel: string;
  event: string;
  /** jsonb as text, parsed with parseJsonExact. */
  payload: string;
  sender_type: 'system' | 'user';
  sender_id: string | null;
  created_at: Date;
}

type SocketData = {
  principal: Principal;
  member: Pick<Member, 'presenceId' | 'userId' | 'role'>;
  /** The credential the socket connected with, re-checked when credentials change. */
  credential: string;
  /** Set once the credential stopped working: the socket does nothing more and is closed. */
  cutOff?: boolean;
};

/** Why a socket's credential stopped working (`reason` of REALTIME_UNAUTHORIZED). */
type CutOffReason = 'session_ended' | 'key_revoked' | 'credential_invalid';

export interface RealtimeOptions {
  connectionString: string;
  logger: Logger;
  /** Ended sessions and key changes, announced by the database to every instance. */
  revocations: Revocations;
  /** Called when new webhook deliveries are queued (by any instance). */
  onWebhooksQueued?: () => void;
  /** Sustained publishes per second per socket, and the burst allowed above it. */
  publishPerSecond?: number;
  publishBurst?: number;
  /**
   * How often this instance refreshes its presence heartbeat and sweeps the members of instances
   * whose heartbeat is older than three intervals.
   */
  presenceHeartbeatMs?: number;
  /** Most members a subscribe ack lists (with `total`); presence events follow only those. */
  presenceAckMaxMembers?: number;
  /** Connections one client address may hold on this instance (0: no limit). */
  maxSocketsPerIp?: number;
  /** The client address of a handshake request (Express's `req.ip`, so TRUST_PROXY applies). */
  clientAddress?: (req: http.IncomingMessage) => string | undefined;
  /** Deepest nesting an event's arguments may have (JSON_MAX_DEPTH, as for request bodies). */
  jsonMaxDepth?: number;
  /** REALTIME_ADAPTER=redis: the Redis (or Valkey) that links the instances (fanout.ts). */
  redisUrl?: string;
  /**
   * Why new connections are refused right now, if they are (the gate HTTP requests pass too:
   * a point-in-time restore answers 503 RESTORING): checked first at every handshake, before
   * anything reaches the database; sockets already connected stay.
   */
  refusal?: () => { code: string; message: string; nextActions?: string } | undefined;
}

/**
 * Deletes presence rows and announces each removed member once, in one statement. (The note
 * names no user: any session may LISTEN.)
 */
const ANNOUNCE_LEAVES = `SELECT pg_notify('kiln_presence', json_build_object(
    'type', 'leave', 'channel', gone.channel, 'presenceId', gone.presence_id)::text)
  FROM gone`;

export class RealtimeServer {
  readonly io: Server;
  private listener: PgListener | undefined;
  private fanout: Fanout = postgresFanout;
  /** Ids of the latest messages delivered here, oldest first: a catch-up skips them. */
  private readonly delivered = new Set<string>();
  /** The newest created_at of the messages delivered here. */
  private deliveredUpTo: Date | undefined;
  private closed = false;
  private pending: string[] = [];
  private flushing = false;
  /** This process in realtime.instances; presence rows carry it. */
  readonly instanceId = crypto.randomUUID();
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly presence: PresenceView;
  /** Open connections per client address (this instance). */
  private readonly perAddress = new Map<string, number>();
  /** This instance's sockets by the session their token names, and those holding a key. */
  private readonly bySession = new Map<string, Set<Socket>>();
  private readonly keySockets = new Set<Socket>();
  /** Fires when the next rotated key's grace period ends. */
  private keyExpiry: NodeJS.Timeout | undefined;
  private readonly unsubscribe: (() => void)[] = [];

  constructor(
    server: http.Server,
    private readonly db: Database,
    private readonly keys: KeyStore,
    private readonly tokens: TokenService,
    private readonly options: RealtimeOptions,
  ) {
    this.io = new Server(server, {
      cors: { origin: true, credentials: true },
      maxHttpBufferSize: 1024 * 1024,
      serveClient: false,
    });
    exactNumbers(this.io);
    const { refusal } = options;
    if (refusal) {
      this.io.use((_socket, next) => {
        const refused = refusal();
        if (!refused) return next();
        const { code, message, nextActions } = refused;
        next(Object.assign(new Error(`${code}: ${message}`), { data: { code, nextActions } }));
      });
    }
    this.io.use((socket, next) => {
      const token = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
      if (typeof token !== 'string' || !token) {
        next(
          Object.assign(
            new Error(
              'AUTH_INVALID_CREDENTIALS: send the anon key or an access token as auth.token',
            ),
            { data: { code: 'AUTH_INVALID_CREDENTIALS' } },
          ),
        );
        return;
      }
      resolveCredential(token, keys, tokens)
        .then((state) => {
          if (state.kind !== 'principal') {
            const code = state.kind === 'rejected' ? state.error.code : 'AUTH_INVALID_CREDENTIALS';
            const message = state.kind === 'rejected' ? state.error.message : 'No credential';
            next(Object.assign(new Error(`${code}: ${message}`), { data: { code } }));
            return;
          }
          const principal = state.principal;
          (socket.data as SocketData) = {
            principal,
            member: { presenceId: socket.id, userId: principal.sub ?? null, role: principal.role },
            credential: token,
          };
          next();
        })
        .catch((err: unknown) => next(err as Error));
    });
    this.io.use((socket, next) => this.admit(socket, next));
    this.io.on('connection', (socket) => this.onConnection(socket));
    this.presence = new PresenceView(this.io, db, options.logger, {
      maxListed: options.presenceAckMaxMembers ?? 50,
      staleAfter: () => this.staleAfter(),
    });
    // Credentials that stop working reach the sockets that hold them, on every instance.
    const { revocations } = options;
    this.unsubscribe.push(
      revocations.onSessionsEnded((ids) => {
        for (const id of ids)
          for (const socket of this.bySession.get(id) ?? []) this.cutOff(socket, 'session_ended');
      }),
      revocations.onKeysChanged(() => void this.recheckKeys(true)),
      // The safety net: whatever an event or a timer missed is found at the next re-read.
      revocations.onResync(() => void this.recheckAll()),
    );
  }

  // ---- credentials of live sockets ------------------------------------------------------------

  private track(socket: Socket): void {
    const { principal } = socket.data as SocketData;
    // Keys, and tokens of trusted outside issuers (no Kiln session): checked again on every key
    // or issuer change.
    if (principal.credential !== 'jwt' || !principal.sessionId) {
      this.keySockets.add(socket);
      if (!this.keyExpiry) this.scheduleKeyExpiry();
      return;
    }
    const sid = principal.sessionId!;
    let set = this.bySession.get(sid);
    if (!set) this.bySession.set(sid, (set = new Set()));
    set.add(socket);
    // Ended while the handshake was being checked: the announcement has come and gone.
    if (this.options.revocations.isEnded(sid)) this.cutOff(socket, 'session_ended');
  }

  private untrack(socket: Socket): void {
    this.keySockets.delete(socket);
    const sid = (socket.data as SocketData | undefined)?.principal?.sessionId;
    const set = sid ? this.bySession.get(sid) : undefined;
    if (set?.delete(socket) && set.size === 0) this.bySession.delete(sid!);
  }

  /**
   * The socket's credential no longer works: it is told why (`realtime:error`
   * REALTIME_UNAUTHORIZED with a `reason`), leaves its channels at once and its transport is
   * closed, so the client reconnects with whatever credential it holds now (@insforge/sdk does,
   * and resubscribes); a credential that still does not work is refused at the handshake.
   */
  private cutOff(socket: Socket, reason: CutOffReason): void {
    const data = socket.data as SocketData;
    if (data.cutOff) return;
    data.cutOff = true;
    const messages: Record<CutOffReason, string> = {
      session_ended: 'The session of this connection has ended (signed out or revoked)',
      key_revoked: 'The key this connection was opened with has been rotated out',
      credential_invalid: 'The credential of this connection is no longer valid',
    };
    socket.emit('realtime:error', {
      code: 'REALTIME_UNAUTHORIZED',
      reason,
      message: `${messages[reason]}: reconnect with a current credential`,
    });
    for (const room of socket.rooms) if (room !== selfRoom(socket.id)) void socket.leave(room);
    socket.conn.close();
  }

  private async stillValid(socket: Socket): Promise<boolean> {
    const data = socket.data as SocketData;
    // An access token that merely expired is closed by its own timer (REALTIME_TOKEN_EXPIRED).
    const exp = data.principal.claims.exp;
    if (typeof exp === 'number' && exp * 1000 <= Date.now()) return true;
    const state = await resolveCredential(data.credential, this.keys, this.tokens);
    return state.kind === 'principal';
  }

  /** Keys changed (or their grace ended): sockets holding a key that stopped working go. */
  private async recheckKeys(reload: boolean): Promise<void> {
    try {
      if (reload) await this.keys.refresh();
      for (const socket of [...this.keySockets]) {
        if (!(await this.stillValid(socket))) this.cutOff(socket, 'key_revoked');
      }
    } catch (err) {
      this.options.logger.warn('realtime key re-check failed', { error: String(err) });
    } finally {
      this.scheduleKeyExpiry();
    }
  }

  private scheduleKeyExpiry(): void {
    clearTimeout(this.keyExpiry);
    this.keyExpiry = undefined;
    if (this.closed || this.keySockets.size === 0) return;
    const at = this.keys.nextExpiry();
    if (at === undefined) return;
    this.keyExpiry = setTimeout(
      () => {
        this.keyExpiry = undefined;
        void this.recheckKeys(false);
      },
      Math.min(2 ** 31 - 1, Math.max(0, at - Date.now()) + 20),
    );
    this.keyExpiry.unref();
  }

  private async recheckAll(): Promise<void> {
    for (const socket of this.io.of('/').sockets.values()) {
      const data = socket.data as SocketData | undefined;
      if (!data?.credential || data.cutOff) continue;
      try {
        if (!(await this.stillValid(socket)))
          this.cutOff(
            socket,
            data.principal.credential === 'jwt' ? 'credential_invalid' : 'key_revoked',
          );
      } catch (err) {
        this.options.logger.warn('realtime credential re-check failed', { error: String(err) });
        return;
      }
    }
  }

  async start(): Promise<void> {
    if (this.options.redisUrl)
      this.fanout = await redisFanout(this.io, this.options.redisUrl, this.options.logger);
    await this.db.query('INSERT INTO realtime.instances (id) VALUES ($1)', [this.instanceId]);
    await this.listen();
    const every = this.options.presenceHeartbeatMs ?? 5000;
    this.heartbeat = setInterval(() => {
      this.beat().catch((err: unknown) =>
        this.options.logger.warn('realtime presence heartbeat failed', { error: String(err) }),
      );
    }, every);
    this.heartbeat.unref();
  }

  /**
   * Refresh this instance's heartbeat (re-registering it if a sweeper removed it after a long
   * pause) and sweep members of instances that stopped without saying goodbye.
   */
  private staleAfter(): string {
    return `${3 * (this.options.presenceHeartbeatMs ?? 5000)} milliseconds`;
  }

  private async beat(): Promise<void> {
    await this.db.query(
      `INSERT INTO realtime.instances (id) VALUES ($1)
       ON CONFLICT (id) DO UPDATE SET last_seen = now()`,
      [this.instanceId],
    );
    const stale = this.staleAfter();
    await this.db.query(
      `WITH dead AS (
         DELETE FROM realtime.instances WHERE last_seen < now() - $1::interval RETURNING id
       ), gone AS (
         DELETE FROM realtime.presence p
         WHERE p.instance_id IN (SELECT id FROM dead)
            OR NOT EXISTS (SELECT 1 FROM realtime.instances i WHERE i.id = p.instance_id)
         RETURNING p.*
       ) ${ANNOUNCE_LEAVES}`,
      [stale],
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.heartbeat);
    this.presence.close();
    clearTimeout(this.keyExpiry);
    for (const off of this.unsubscribe) off();
    // Saying goodbye: this instance's members leave everywhere at once.
    await this.db
      .query(
        `WITH gone AS (DELETE FROM realtime.presence WHERE instance_id = $1 RETURNING *),
              bye AS (DELETE FROM realtime.instances WHERE id = $1)
         ${ANNOUNCE_LEAVES}`,
        [this.instanceId],
      )
      .catch(() => undefined);
    // Not io.close() (it closes the HTTP server too, which the app drains on its own) and not
    // disconnectSockets(): a server-side disconnect tells clients not to come back, while closing
    // the transports lets them reconnect to the next instance or the restarted one.
    this.io.engine.close();
    const listener = this.listener;
    this.listener = undefined;
    await listener?.close();
    await this.fanout.close();
  }

  private onConnection(socket: Socket): void {
    const data = socket.data as SocketData;
    // Out of the room named by its id, which a channel of that name would share (presence.ts).
    void socket.leave(socket.id);
    void socket.join(selfRoom(socket.id));
    const fail = (code: string, message: string, extra: Record<string, unknown> = {}) =>
      socket.emit('realtime:error', { code, message, ...extra });
    // The socket's database work is admitted and cancelled as an HTTP request's is: it counts
    // against the share of its principal at its address (core/connection-gate.ts), and its
    // disconnect cancels the statement running for it.
    const hangUp = new AbortController();
    socket.on('disconnect', () => hangUp.abort(new RequestAbortedError()));
    const scope: RequestScope = {
      signal: hangUp.signal,
      ip: this.options.clientAddress?.(socket.request) ?? socket.handshake.address,
    };
    // What a request body may not hold, no event may either (core/http.ts jsonProblem): nesting
    // past JSON_MAX_DEPTH (replying or serialising it would overflow the stack) or NUL
    // characters (PostgreSQL text and jsonb cannot hold them). Refused before any handler runs.
    const maxDepth = this.options.jsonMaxDepth ?? 100;
    socket.use((packet, next) => {
      const args = packet.slice(1);
      const ack = args[args.length - 1];
      const problem = args
        .filter((a) => typeof a !== 'function')
        .reduce<ReturnType<typeof jsonProblem>>((p, a) => p ?? jsonProblem(a, maxDepth), undefined);
      if (!problem) return next();
      const error = {
        code: 'REALTIME_INVALID_EVENT',
        message: problem.message.replace('The JSON body', 'The event'),
      };
      if (typeof ack === 'function') (ack as (r: unknown) => void)({ ok: false, error });
      else socket.emit('realtime:error', error);
    });
    // A socket's events are handled one at a time, in the order they came: whatever it sends,
    // it has one statement at a time in flight on any pool (presence rows are Kiln's own work:
    // a flood of events must not queue thousands of them ahead of sign-ins), a burst (the SDK
    // resubscribing every channel after a reconnect) waits its turn, and publishes are stored in
    // the order they were sent. Beyond MAX_WAITING_EVENTS waiting, an event is refused. A
    // handler that fails is answered and logged, never left as an unhandled rejection (which
    // would end the process).
    let turn: Promise<unknown> = Promise.resolve();
    let waiting = 0;
    const on = <A extends unknown[]>(event: string, handler: (...args: A) => Promise<unknown>) =>
      socket.on(event, (...args: A) => {
        if (waiting >= MAX_WAITING_EVENTS) {
          const error = {
            code: 'REALTIME_RATE_LIMITED',
            message: 'Too many events waiting on this connection: slow down',
          };
          const ack = args[args.length - 1];
          if (typeof ack === 'function') (ack as (r: unknown) => void)({ ok: false, error });
          else socket.emit('realtime:error', error);
          return;
        }
        waiting += 1;
        const run = turn.then(() => {
          waiting -= 1;
          return handler(...args);
        });
        turn = run.catch((err: unknown) => {
          this.options.logger.warn('realtime event failed', { event, error: String(err) });
          if (socket.connected) fail('REALTIME_ERROR', `"${event}" could not be handled`);
        });
      });
    /** What a refusal by the connection gate (this client's share taken, none free) says. */
    const busy = (err: BusyError) => ({
      code: 'REALTIME_BUSY',
      message: err.message,
      retryAfterSeconds: err.retryAfterSeconds,
    });
    // The socket acts with the credential it connected with, for as long as that is valid. When
    // an access token expires, the transport is closed (not a server "disconnect"): Socket.IO
    // clients reconnect on their own, handing over their current token, and @insforge/sdk
    // resubscribes its channels. Until then nothing more is done in the old token's name.
    const exp = data.principal.claims.exp;
    const expiresAt = typeof exp === 'number' ? exp * 1000 : undefined;
    const endOfToken =
      expiresAt === undefined
        ? undefined
        : setTimeout(() => socket.conn.close(), Math.min(2 ** 31 - 1, expiresAt - Date.now()));
    endOfToken?.unref();
    socket.on('disconnect', () => clearTimeout(endOfToken));
    this.track(socket);
    socket.on('disconnect', () => this.untrack(socket));
    let joining = 0;
    const expired = () => {
      if (data.cutOff) return true;
      if (expiresAt === undefined || expiresAt > Date.now()) return false;
      fail('REALTIME_TOKEN_EXPIRED', 'The access token has expired: reconnect with a new one');
      socket.conn.close();
      return true;
    };

    on('realtime:subscribe', async (body: unknown, ack?: (r: unknown) => void) => {
      if (expired()) return;
      const channel = (body as { channel?: unknown } | null)?.channel;
      const reply =
        typeof ack === 'function' ? ack : (r: unknown) => socket.emit('realtime:subscribed', r);
      if (typeof channel !== 'string' || !CHANNEL.test(channel)) {
        reply({
          ok: false,
          channel,
          error: {
            code: 'REALTIME_INVALID_CHANNEL_PATTERN',
            message: 'channel must be 1-255 characters of letters, digits and _ . : @ / -',
          },
        });
        return;
      }
      // Each channel is a presence row and a NOTIFY for every instance: a socket gets a bounded
      // number of them (its own room counts as one, identities rooms do not count).
      const rooms = [...socket.rooms].filter((r) => !isIdentitiesRoom(r)).length;
      if (!socket.rooms.has(channel) && rooms + joining > MAX_CHANNELS_PER_SOCKET) {
        reply({
          ok: false,
          channel,
          error: {
            code: 'REALTIME_TOO_MANY_CHANNELS',
            message: `A connection may subscribe to at most ${MAX_CHANNELS_PER_SOCKET} channels`,
          },
        });
        return;
      }
      // Counted from the check until the join (then the room itself counts).
      joining += 1;
      let counted = true;
      const joined = () => {
        if (counted) joining -= 1;
        counted = false;
      };
      try {
        const subscribable =
          'SELECT 1 FROM realtime.channels WHERE enabled AND $1 LIKE pattern LIMIT 1';
        const { allowed, seesIdentities } = await this.db.withPrincipal(
          data.principal,
          async (tx) => {
            const allowed = (await tx.query(subscribable, [channel])).rowCount! > 0;
            // Presence names members (user ids) to admins, and to signed-in users of a channel
            // the anon key may not join. Where anyone may subscribe, it names nobody.
            if (!allowed || data.principal.role !== 'authenticated')
              return { allowed, seesIdentities: data.principal.role === 'project_admin' };
            await tx.query(
              `SET LOCAL ROLE anon; SELECT set_config('request.jwt.claims', '{"role":"anon"}', true)`,
            );
            const open = (await tx.query(subscribable, [channel])).rowCount! > 0;
            return { allowed, seesIdentities: !open };
          },
          { readOnly: true, settings: { 'realtime.channel': channel }, scope },
        );
        if (!allowed) {
          const exists =
            (
              await this.db.query(
                'SELECT 1 FROM realtime.channels WHERE enabled AND $1 LIKE pattern LIMIT 1',
                [channel],
              )
            ).rowCount! > 0;
          reply({
            ok: false,
            channel,
            error: exists
              ? {
                  code: 'REALTIME_UNAUTHORIZED',
                  message: `Not allowed to subscribe to "${channel}"`,
                }
              : {
                  code: 'REALTIME_CHANNEL_NOT_FOUND',
                  message: `No enabled channel matches "${channel}"`,
                },
          });
          return;
        }
        joined();
        await socket.join(channel);
        if (seesIdentities) await socket.join(identitiesRoom(channel));
        else await socket.leave(identitiesRoom(channel));
        // Record the member, announcing the join to every instance if it is new, and count the
        // channel's members on live instances (the new row is not visible to this snapshot).
        const { rows } = await this.db.query<PresenceRow & { total: number }>(
          `WITH joined AS (
             INSERT INTO realtime.presence (channel, presence_id, instance_id, user_id, role)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING
             RETURNING *, pg_notify('kiln_presence', json_build_object(
               'type', 'join', 'channel', channel, 'presenceId', presence_id)::text)
           ), member AS (
             SELECT presence_id, user_id, role, joined_at FROM joined
             UNION ALL
             -- Subscribing again: the row as it was.
             SELECT presence_id, user_id, role, joined_at FROM realtime.presence
              WHERE channel = $1 AND presence_id = $2
           )
           SELECT m.*, (SELECT count(*)::int FROM joined) + (
               SELECT count(*)::int FROM realtime.presence p
                 JOIN realtime.instances i ON i.id = p.instance_id
                WHERE p.channel = $1 AND i.last_seen > now() - $6::interval) AS total
             FROM member m LIMIT 1`,
          [
            channel,
            socket.id,
            this.instanceId,
            data.member.userId,
            data.member.role,
            this.staleAfter(),
          ],
        );
        if (!socket.connected || data.cutOff || !rows[0]) {
          // The socket dropped while we were asking: its disconnect handler may have run first.
          await this.dropMember(socket.id, channel);
          return;
        }
        // The channel's first members (capped) and its total: a big channel costs a bounded ack.
        const presence = await this.presence.snapshot(
          channel,
          toMember(rows[0]),
          rows[0].total,
          seesIdentities,
        );
        reply({ ok: true, channel, presence });
      } catch (err) {
        if (err instanceof RequestAbortedError) return;
        if (err instanceof BusyError) return reply({ ok: false, channel, error: busy(err) });
        this.options.logger.warn('realtime subscribe failed', { error: String(err) });
        reply({
          ok: false,
          channel,
          error: { code: 'REALTIME_UNAUTHORIZED', message: 'Subscription failed' },
        });
      } finally {
        joined();
      }
    });

    on('realtime:unsubscribe', async (body: unknown) => {
      const channel = (body as { channel?: unknown } | null)?.channel;
      // Not a member: nothing to remove (and no statement to run).
      if (typeof channel !== 'string' || !socket.rooms.has(channel)) return;
      await socket.leave(channel);
      await socket.leave(identitiesRoom(channel));
      await this.dropMember(socket.id, channel);
    });

    // Token bucket per socket: floods get an error, not the database's attention.
    let tokens = this.options.publishBurst ?? 100;
    let refilled = Date.now();
    const allow = () => {
      const rate = this.options.publishPerSecond ?? 50;
      const burst = this.options.publishBurst ?? 100;
      const now = Date.now();
      tokens = Math.min(burst, tokens + ((now - refilled) / 1000) * rate);
      refilled = now;
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    };

    on('realtime:publish', async (body: unknown) => {
      if (expired()) return;
      if (!allow()) return fail('REALTIME_RATE_LIMITED', 'Too many messages: slow down');
      const msg = body as { channel?: unknown; event?: unknown; payload?: unknown } | null;
      const channel = msg?.channel;
      const event = msg?.event;
      if (typeof channel !== 'string' || !CHANNEL.test(channel))
        return fail('REALTIME_INVALID_CHANNEL_PATTERN', 'channel is missing or malformed');
      if (typeof event !== 'string' || !EVENT.test(event)) {
        return fail('REALTIME_INVALID_EVENT', 'event is missing or malformed', { channel });
      }
      if (!socket.rooms.has(channel))
        return fail(
          'REALTIME_NOT_SUBSCRIBED',
          `Subscribe to "${channel}" before publishing to it`,
          { channel },
        );
      const payload = msg?.payload ?? {};
      if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
        return fail('REALTIME_INVALID_EVENT', 'payload must be an object', { channel });
      }
      const json = stringifyJson(payload);
      if (Buffer.byteLength(json) > MAX_PAYLOAD_BYTES) {
        return fail('REALTIME_INVALID_EVENT', `payload is larger than ${MAX_PAYLOAD_BYTES} bytes`, {
          channel,
        });
      }
      try {
        await this.db.withPrincipal(
          data.principal,
          (tx) =>
            tx.query(
              `INSERT INTO realtime.messages (channel, event, payload, sender_type, sender_id)
               VALUES ($1, $2, $3::jsonb, 'user', auth.uid())`,
              [channel, event, json],
            ),
          { settings: { 'realtime.channel': channel }, scope },
        );
      } catch (err) {
        if (err instanceof RequestAbortedError) return;
        if (err instanceof BusyError)
          return socket.emit('realtime:error', { ...busy(err), channel });
        // The database refuses what only it may send (realtime.check_message, migration 0027).
        const { constraint } = err as { constraint?: string };
        if (constraint === 'messages_reserved_event')
          return fail(
            'REALTIME_INVALID_EVENT',
            `"${event}" is reserved for the database's events`,
            {
              channel,
            },
          );
        if (constraint === 'messages_row_change_channel')
          return fail(
            'REALTIME_UNAUTHORIZED',
            `"${channel}" carries a table's row changes: only the database publishes there`,
            { channel },
          );
        fail(
          'REALTIME_UNAUTHORIZED',
          pgCode(err) === PG.insufficientPrivilege
            ? `Not allowed to publish to "${channel}"`
            : 'Publishing failed',
          { channel },
        );
      }
    });

    socket.on('disconnect', () => void this.dropMember(socket.id));
  }

  /** Remove a socket's membership (of one channel, or all) and announce the leaves. */
  private async dropMember(presenceId: string, channel?: string): Promise<void> {
    if (this.closed) return; // close() removes this instance's members in one statement
    await this.db
      .query(
        `WITH gone AS (
           DELETE FROM realtime.presence
            WHERE presence_id = $1 AND ($2::text IS NULL OR channel = $2) RETURNING *
         ) ${ANNOUNCE_LEAVES}`,
        [presenceId, channel ?? null],
      )
      .catch((err: unknown) =>
        this.options.logger.warn('realtime presence leave failed', { error: String(err) }),
      );
  }

  /**
   * A join or leave announced by some instance (maybe this one): the channel's presence is
   * re-read shortly, with every other change of the moment, and the difference sent.
   */
  private onPresence(payload: string): void {
    let channel: unknown;
    try {
      channel = (JSON.parse(payload) as { channel?: unknown }).channel;
    } catch {
      return;
    }
    if (typeof channel === 'string') this.presence.changed(channel);
  }

  /**
   * A bounded number of connections per client address (after the credential check, so only
   * connections that would be served count). The address is Express's `req.ip`: X-Forwarded-For
   * counts only from the proxies TRUST_PROXY names. One client is one IPv4 address (however it
   * is written: an IPv4-mapped IPv6 address is the same client) or one IPv6 /56, as for the
   * HTTP rate limits: a single host holds a whole IPv6 prefix and picks any address in it.
   */
  private admit(socket: Socket, next: (err?: Error) => void): void {
    const max = this.options.maxSocketsPerIp ?? 0;
    if (max <= 0) return next();
    const address = ipKeyGenerator(
      this.options.clientAddress?.(socket.request) ?? socket.handshake.address ?? 'unknown',
      56,
    );
    const open = this.perAddress.get(address) ?? 0;
    if (open >= max) {
      const code = 'REALTIME_TOO_MANY_CONNECTIONS';
      return next(
        Object.assign(
          new Error(`${code}: at most ${max} realtime connections per client address`),
          { data: { code } },
        ),
      );
    }
    this.perAddress.set(address, open + 1);
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      const left = (this.perAddress.get(address) ?? 1) - 1;
      if (left > 0) this.perAddress.set(address, left);
      else this.perAddress.delete(address);
    };
    socket.once('disconnect', release);
    // A connection closed before it was set up has no disconnect.
    socket.conn.once('close', release);
    next();
  }

  // ---- delivery -------------------------------------------------------------------------------

  /**
   * Messages, webhook deliveries and presence changes are announced on one connection
   * (core/listener.ts), which reconnects for as long as it takes. After a reconnect, what was
   * missed is caught up: messages stored since the connection was last known alive (less a
   * margin for transactions that committed late) and not yet delivered here go out in order,
   * webhook deliveries are looked for, and every channel's presence is re-read.
   */
  private async listen(): Promise<void> {
    if (this.closed) return;
    const listener = new PgListener({
      connectionString: this.options.connectionString,
      name: 'kiln-realtime',
      channels: ['kiln_realtime', 'kiln_webhooks', 'kiln_presence'],
      onNotification: (channel, payload) => {
        if (channel === 'kiln_webhooks') this.options.onWebhooksQueued?.();
        else if (channel === 'kiln_presence') this.onPresence(payload ?? '');
        else if (payload) this.enqueue(payload);
      },
      onReconnect: (since) => this.catchUp(since),
      logger: this.options.logger,
    });
    await listener.start();
    this.listener = listener;
  }

  /** Whether the LISTEN connection is up (readiness). */
  get listening(): boolean {
    return this.listener?.listening ?? false;
  }

  private async catchUp(since: Date): Promise<void> {
    // From the later of the two moments known to be covered: the connection alive, or the
    // newest message delivered here.
    const from = this.deliveredUpTo && this.deliveredUpTo > since ? this.deliveredUpTo : since;
    const { rows } = await this.db.query<{ id: string }>(
      `SELECT id FROM realtime.messages
        WHERE created_at >= $1::timestamptz - make_interval(secs => $2)
        ORDER BY created_at, id LIMIT $3`,
      [from, CATCH_UP_MARGIN_SECONDS, CATCH_UP_MAX_MESSAGES],
    );
    for (const { id } of rows) if (!this.delivered.has(id)) this.enqueue(id);
    this.options.onWebhooksQueued?.();
    this.presence.changedAll();
  }

  /** Messages announced together are fetched in one query and delivered in order. */
  private enqueue(id: string): void {
    this.pending.push(id);
    if (this.flushing) return;
    this.flushing = true;
    setImmediate(() => void this.flush());
  }

  /** Keeps the latest delivered ids (a catch-up after a reconnect skips them). */
  private remember(id: string): void {
    this.delivered.add(id);
    if (this.delivered.size > CATCH_UP_MAX_MESSAGES) {
      this.delivered.delete(this.delivered.values().next().value!);
    }
  }

  private async flush(): Promise<void> {
    while (this.pending.length) {
      const announced = this.pending.splice(0, 500);
      try {
        // Which of them this instance sends, and to whose sockets (fanout.ts).
        const { ids, everywhere } = await this.fanout.claim(announced);
        if (!ids.length) continue;
        const to = everywhere ? this.io : this.io.local;
        const { rows } = await this.db.query<MessageRow>(
          'SELECT id, channel, event, payload::text AS payload, sender_type, sender_id, created_at FROM realtime.messages WHERE id = ANY($1::uuid[]) ORDER BY created_at, id',
          [ids],
        );
        for (const row of rows) {
          // The payload's numbers as stored (a numeric beyond a double's precision stays exact).
          const m = { ...row, payload: parseJsonExact(row.payload) as Record<string, unknown> };
          this.remember(m.id);
          if (!this.deliveredUpTo || m.created_at > this.deliveredUpTo)
            this.deliveredUpTo = m.created_at;
          // One message that cannot go out (an event name published from SQL that Socket.IO
          // refuses) must not take the rest of the batch with it.
          try {
            to.to(m.channel).emit(m.event, {
              ...m.payload,
              meta: {
                channel: m.channel,
                messageId: m.id,
                senderType: m.sender_type,
                ...(m.sender_id ? { senderId: m.sender_id } : {}),
                timestamp: m.created_at.toISOString(),
              },
            });
          } catch (err) {
            this.options.logger.warn('realtime message not delivered', {
              messageId: m.id,
              event: m.event.slice(0, 100),
              error: String(err),
            });
          }
        }
      } catch (err) {
        this.options.logger.error('realtime delivery failed', { error: String(err) });
      }
    }
    this.flushing = false;
  }
}

/**
 * Presence as one instance shows it to its own sockets, with bounded traffic.
 *
 * The members themselves are rows of realtime.presence, shared by every instance; joins and
 * leaves are announced with NOTIFY (only the channel name matters here). What a socket sees:
 *  - its subscribe ack lists the channel's first `maxListed` members by join time (plus itself)
 *    and the channel's `total`;
 *  - afterwards only changes of that list: `presence:join` / `presence:leave` for a member that
 *    enters or leaves it (a leave can promote the next member, announced as a join), each with
 *    the new `total`; a change beyond the list only moves the total, sent as `presence:count`
 *    at most once per `countIntervalMs`.
 * Changes are coalesced: an instance re-reads the lists of the channels that changed at most
 * once per `coalesceMs` (one query for all of them) and sends the difference to what it last
 * sent, so a burst of N joins costs each socket at most `maxListed` events, not N.
 *
 * Who sees whom: presence reaches only sockets subscribed to the channel (its subscribe policy
 * admitted them). Member user ids go only to sockets in the channel's identities room: admins,
 * and signed-in users of a channel the anon key may not subscribe to. In a channel anyone may
 * join, members show as their opaque connection id (`presenceId`), role and join time.
 */
import type { Server } from 'socket.io';
import type { Database } from '../core/db.js';
import type { Logger } from '../core/logger.js';

export interface Member {
  /** The member's connection id (its socket id), the same in every channel it joins. */
  presenceId: string;
  type: 'user' | 'anonymous';
  /** Null unless the viewer may see who the member is. */
  userId: string | null;
  role: string;
  joinedAt: string;
}

export interface PresenceRow {
  presence_id: string;
  user_id: string | null;
  role: string;
  joined_at: Date;
}

export const toMember = (r: PresenceRow): Member => ({
  presenceId: r.presence_id,
  type: r.user_id ? 'user' : 'anonymous',
  userId: r.user_id,
  role: r.role,
  joinedAt: r.joined_at.toISOString(),
});

const hideIdentity = (m: Member): Member => (m.userId ? { ...m, userId: null } : m);

/** The room of a channel's sockets that may see member user ids ('#' is not a channel char). */
export const identitiesRoom = (channel: string) => `#${channel}`;
export const isIdentitiesRoom = (room: string) => room.startsWith('#');
/**
 * A socket's own room. Socket.IO puts every socket in a room named by its id, and channels are
 * rooms too: whoever subscribed to a channel named like someone's socket id (presence shows it)
 * would publish straight to that socket. Kiln takes each socket out of that room and uses this
 * one ('!' is no channel character).
 */
export const selfRoom = (socketId: string) => `!${socketId}`;

interface ChannelView {
  /** The channel's first members as this instance last told its sockets. */
  listed: Map<string, Member>;
  total: number;
  /** The total last sent to the sockets, when a presence:count last went out, and the next. */
  sentTotal: number;
  countAt: number;
  countTimer?: NodeJS.Timeout;
}

export interface PresenceOptions {
  /** Most members listed in an ack and followed with join / leave events. */
  maxListed: number;
  /** The heartbeat age beyond which an instance's members no longer count. */
  staleAfter: () => string;
  coalesceMs?: number;
  countIntervalMs?: number;
}

export class PresenceView {
  private readonly views = new Map<string, ChannelView>();
  private readonly dirty = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  /** Loading a view and applying a re-read never interleave. */
  private queue: Promise<unknown> = Promise.resolve();
  private running = false;
  private closed = false;

  constructor(
    private readonly io: Server,
    private readonly db: Database,
    private readonly logger: Logger,
    private readonly options: PresenceOptions,
  ) {}

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    for (const view of this.views.values()) clearTimeout(view.countTimer);
    this.views.clear();
  }

  /** The presence part of the ack for a socket whose member row was just stored. */
  async snapshot(
    channel: string,
    self: Member,
    total: number,
    seesIdentities: boolean,
  ): Promise<{ members: Member[]; total: number }> {
    let view = this.views.get(channel);
    if (!view) {
      view = await this.exclusive(async () => {
        const existing = this.views.get(channel);
        if (existing) return existing;
        const fresh = (await this.read([channel])).get(channel) ?? { listed: [], total: 0 };
        const created: ChannelView = {
          listed: new Map(fresh.listed.map((m) => [m.presenceId, m])),
          total: fresh.total,
          sentTotal: fresh.total,
          countAt: 0,
        };
        this.views.set(channel, created);
        return created;
      });
    }
    // The view may be a moment older than this join: the socket has itself anyway, and the
    // next re-read sends it (and everyone) whatever changed since.
    const members = [...view.listed.values()];
    if (!view.listed.has(self.presenceId)) members.push(self);
    return {
      members: seesIdentities ? members : members.map(hideIdentity),
      total: Math.max(total, members.length),
    };
  }

  /** Announcements may have been missed (the listener reconnected): re-read every channel. */
  changedAll(): void {
    for (const channel of this.views.keys()) this.changed(channel);
  }

  /** Some instance announced a join or leave in `channel`. */
  changed(channel: string): void {
    if (this.closed) return;
    this.dirty.add(channel);
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.running || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.exclusive(() => this.flush());
    }, this.options.coalesceMs ?? 50);
    this.timer.unref();
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private localSockets(channel: string): number {
    return this.io.of('/').adapter.rooms.get(channel)?.size ?? 0;
  }

  private async flush(): Promise<void> {
    this.running = true;
    try {
      const channels: string[] = [];
      for (const channel of this.dirty) {
        const view = this.views.get(channel);
        if (!view) continue;
        if (this.localSockets(channel) === 0) {
          clearTimeout(view.countTimer);
          this.views.delete(channel);
        } else channels.push(channel);
      }
      this.dirty.clear();
      if (!channels.length || this.closed) return;
      const lists = await this.read(channels);
      for (const channel of channels) {
        const view = this.views.get(channel);
        if (view) this.apply(channel, view, lists.get(channel) ?? { listed: [], total: 0 });
      }
    } catch (err) {
      this.logger.warn('realtime presence update failed', { error: String(err) });
    } finally {
      this.running = false;
      if (this.dirty.size) this.schedule();
    }
  }

  private apply(
    channel: string,
    view: ChannelView,
    next: { listed: Member[]; total: number },
  ): void {
    const listed = new Map(next.listed.map((m) => [m.presenceId, m]));
    const left = [...view.listed.values()].filter((m) => !listed.has(m.presenceId));
    const joined = next.listed.filter((m) => !view.listed.has(m.presenceId));
    view.listed = listed;
    view.total = next.total;
    for (const m of left) this.emit(channel, 'presence:leave', { member: m, total: next.total });
    // The joining socket learns of itself from its ack, not from an event.
    for (const m of joined)
      this.emit(channel, 'presence:join', { member: m, total: next.total }, m.presenceId);
    if (left.length || joined.length) view.sentTotal = next.total;
    else if (next.total !== view.sentTotal) this.sendCount(channel, view);
  }

  /** `presence:count`, at most once per interval per channel (the latest total wins). */
  private sendCount(channel: string, view: ChannelView): void {
    if (view.countTimer) return;
    const every = this.options.countIntervalMs ?? 1000;
    const send = () => {
      view.countTimer = undefined;
      if (this.closed || this.views.get(channel) !== view || view.total === view.sentTotal) return;
      view.sentTotal = view.total;
      view.countAt = Date.now();
      this.emit(channel, 'presence:count', { total: view.total });
    };
    const wait = view.countAt + every - Date.now();
    if (wait <= 0) return send();
    view.countTimer = setTimeout(send, wait);
    view.countTimer.unref();
  }

  private emit(
    channel: string,
    event: string,
    body: { member?: Member; total: number },
    except?: string,
  ): void {
    const meta = { channel, senderType: 'system', timestamp: new Date().toISOString() };
    const ids = identitiesRoom(channel);
    const skip = except ? [selfRoom(except)] : [];
    // Every instance sends presence to its own sockets (also when Redis links the instances).
    this.io.local
      .to(ids)
      .except(skip)
      .emit(event, { ...body, meta });
    this.io.local
      .to(channel)
      .except([ids, ...skip])
      .emit(event, {
        ...body,
        ...(body.member ? { member: hideIdentity(body.member) } : {}),
        meta,
      });
  }

  /** Each channel's first members on live instances, and how many it has. */
  private async read(
    channels: string[],
  ): Promise<Map<string, { listed: Member[]; total: number }>> {
    type Row = Partial<PresenceRow> & { channel: string; total: number };
    const { rows } = await this.db.query<Row>(
      `WITH live AS (
         SELECT p.* FROM realtime.presence p JOIN realtime.instances i ON i.id = p.instance_id
          WHERE p.channel = ANY($1::text[]) AND i.last_seen > now() - $2::interval
       )
       SELECT c.channel, n.total, l.presence_id, l.user_id, l.role, l.joined_at
         FROM unnest($1::text[]) AS c(channel)
        CROSS JOIN LATERAL (SELECT count(*)::int AS total FROM live WHERE live.channel = c.channel) n
         LEFT JOIN LATERAL (
           SELECT * FROM live WHERE live.channel = c.channel
            ORDER BY live.joined_at, live.presence_id LIMIT $3
         ) l ON true
        ORDER BY c.channel, l.joined_at, l.presence_id`,
      [channels, this.options.staleAfter(), this.options.maxListed],
    );
    const lists = new Map<string, { listed: Member[]; total: number }>();
    for (const r of rows) {
      let list = lists.get(r.channel);
      if (!list) lists.set(r.channel, (list = { listed: [], total: r.total }));
      if (r.presence_id) list.listed.push(toMember(r as PresenceRow));
    }
    return lists;
  }
}

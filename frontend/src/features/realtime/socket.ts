/**
 * The inspector's connection: one Socket.IO connection as the admin (the dashboard's access
 * token as `auth.token`, read again at every reconnect so a refreshed token is used), subscribed
 * to one channel at a time. socket.io-client is imported when the inspector first mounts, so the
 * rest of the dashboard never loads it.
 *
 * Everything the server sends lands in a feed, newest first: messages, the database's row
 * changes (`insert` / `update` / `delete`), presence (`presence:join` / `leave` / `count`, which
 * also keep the member list) and `realtime:error`.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { Socket } from 'socket.io-client';
import { apiOrigin, currentAccessToken } from '../../lib/api';

export type ConnectionState = 'connecting' | 'connected' | 'disconnected' | 'refused';
export type FeedKind = 'message' | 'database' | 'presence' | 'error';

export interface Member {
  presenceId: string;
  type: 'user' | 'anonymous';
  userId: string | null;
  role: string;
  joinedAt: string;
}

export interface FeedEntry {
  /** Increasing, unique in this inspector. */
  seq: number;
  kind: FeedKind;
  event: string;
  /** When it arrived (the message's own timestamp is in its `meta`). */
  receivedAt: string;
  /** The payload as sent, `meta` included. */
  payload: unknown;
}

export type Subscription =
  | { state: 'idle' }
  | { state: 'subscribing'; channel: string }
  | { state: 'subscribed'; channel: string }
  | { state: 'refused'; channel: string; code: string; message: string };

interface SubscribeAck {
  ok: boolean;
  channel: string;
  presence?: { members: Member[]; total?: number };
  error?: { code: string; message: string };
}

/** The most events the feed keeps (older ones drop off the end). */
export const FEED_LIMIT = 500;
const ROW_CHANGES = new Set(['insert', 'update', 'delete']);

export function kindOf(event: string): FeedKind {
  if (event.startsWith('presence:')) return 'presence';
  if (event === 'realtime:error') return 'error';
  if (ROW_CHANGES.has(event)) return 'database';
  return 'message';
}

export function useInspector(channel: string | undefined) {
  const [socket, setSocket] = useState<Socket | undefined>();
  const [connection, setConnection] = useState<ConnectionState>('connecting');
  const [connectError, setConnectError] = useState<string | undefined>();
  const [subscription, setSubscription] = useState<Subscription>({ state: 'idle' });
  const [members, setMembers] = useState<Member[]>([]);
  const [total, setTotal] = useState(0);
  const [feed, setFeed] = useState<FeedEntry[]>([]);
  const seq = useRef(0);
  const channelRef = useRef(channel);
  channelRef.current = channel;

  // One connection while the inspector is open.
  useEffect(() => {
    let closed = false;
    let s: Socket | undefined;
    void import('socket.io-client').then(({ io }) => {
      if (closed) return;
      s = io(apiOrigin, {
        transports: ['websocket'],
        auth: (cb) => void currentAccessToken().then((token) => cb({ token: token ?? '' })),
        reconnectionDelayMax: 5000,
      });
      s.on('connect', () => {
        setConnection('connected');
        setConnectError(undefined);
      });
      s.on('disconnect', () => setConnection('disconnected'));
      s.on('connect_error', (err) => {
        setConnectError(err.message);
        // A refusal by the server's middleware (credential) is not retried by the client.
        setConnection(s?.active ? 'connecting' : 'refused');
      });
      s.onAny((event: string, ...args: unknown[]) => {
        const payload = args[0];
        const meta = (payload as { meta?: { channel?: unknown } } | null)?.meta;
        // Late events of a channel left a moment ago.
        if (meta?.channel !== undefined && meta.channel !== channelRef.current) return;
        const kind = kindOf(event);
        if (kind === 'presence') applyPresence(event, payload);
        seq.current += 1;
        const entry: FeedEntry = {
          seq: seq.current,
          kind,
          event,
          receivedAt: new Date().toISOString(),
          payload,
        };
        setFeed((f) => [entry, ...f].slice(0, FEED_LIMIT));
      });
      setSocket(s);
    });
    const applyPresence = (event: string, payload: unknown) => {
      const body = (payload ?? {}) as { member?: Member; total?: number };
      if (typeof body.total === 'number') setTotal(body.total);
      const member = body.member;
      if (!member) return;
      if (event === 'presence:join')
        setMembers((m) => [...m.filter((x) => x.presenceId !== member.presenceId), member]);
      if (event === 'presence:leave')
        setMembers((m) => m.filter((x) => x.presenceId !== member.presenceId));
    };
    return () => {
      closed = true;
      s?.disconnect();
    };
  }, []);

  // The channel of the URL, subscribed on every (re)connection; the previous one left.
  useEffect(() => {
    if (!socket || !channel) {
      setSubscription({ state: 'idle' });
      return;
    }
    const subscribe = () => {
      setSubscription({ state: 'subscribing', channel });
      socket.emit('realtime:subscribe', { channel }, (ack: SubscribeAck) => {
        if (channelRef.current !== channel) return;
        if (ack.ok) {
          setSubscription({ state: 'subscribed', channel });
          setMembers(ack.presence?.members ?? []);
          setTotal(ack.presence?.total ?? ack.presence?.members.length ?? 0);
        } else {
          setSubscription({
            state: 'refused',
            channel,
            code: ack.error?.code ?? 'REALTIME_ERROR',
            message: ack.error?.message ?? 'The subscription was refused',
          });
        }
      });
    };
    if (socket.connected) subscribe();
    socket.on('connect', subscribe);
    return () => {
      socket.off('connect', subscribe);
      if (socket.connected) socket.emit('realtime:unsubscribe', { channel });
      setMembers([]);
      setTotal(0);
    };
  }, [socket, channel]);

  const publish = useCallback(
    (event: string, payload: Record<string, unknown>) => {
      if (!socket || !channel) return;
      socket.emit('realtime:publish', { channel, event, payload });
    },
    [socket, channel],
  );

  const reconnect = useCallback(() => {
    setConnection('connecting');
    socket?.connect();
  }, [socket]);

  const clear = useCallback(() => setFeed([]), []);

  return {
    connection,
    connectError,
    subscription,
    members,
    total,
    feed,
    publish,
    reconnect,
    clear,
    socketId: socket?.id,
  };
}

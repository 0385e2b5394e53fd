/**
 * The realtime area's administration: channels, retention, stored messages and webhook
 * deliveries (the HTTP API is routes.ts; live sockets are server.ts).
 */
import type {
  ListRealtimeMessagesQuery,
  ListWebhookDeliveriesQuery,
  RealtimeChannel,
  RealtimeChannelRequest,
  RealtimeConfigResponse,
  RealtimeMessageStatsResponse,
} from '@kiln/shared-schemas';
import type { Database } from '../core/db.js';
import { AppError } from '../core/errors.js';
import { PG, pgCode } from '../core/sql.js';
import { listPage } from '../core/paging.js';

interface ChannelRow {
  id: string;
  pattern: string;
  description: string | null;
  webhook_urls: string[];
  enabled: boolean;
  created_at: Date;
  updated_at: Date;
}

const channelJson = (r: ChannelRow): RealtimeChannel => ({
  id: r.id,
  pattern: r.pattern,
  description: r.description,
  webhookUrls: r.webhook_urls,
  enabled: r.enabled,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

interface PolicyRow {
  policyName: string;
  tableName: string;
  command: string;
  roles: string[];
  using: string | null;
  withCheck: string | null;
}

/**
 * Who may subscribe (SELECT policies on realtime.channels) and publish (INSERT policies on
 * realtime.messages); `ALL` policies count for both. GET /api/realtime/permissions and
 * `realtime.permissions` of GET /api/metadata.
 */
export async function realtimePermissions(db: Pick<Database, 'query'>) {
  const policies = await db.query<PolicyRow>(
    `SELECT policyname AS "policyName", tablename AS "tableName", cmd AS command,
            roles::text[] AS roles, qual AS "using", with_check AS "withCheck"
       FROM pg_catalog.pg_policies
      WHERE schemaname = 'realtime' AND tablename IN ('channels', 'messages')
      ORDER BY tablename, policyname`,
  );
  const policiesOf = (table: string, command: string) =>
    policies.rows.filter(
      (p) => p.tableName === table && (p.command === command || p.command === 'ALL'),
    );
  return {
    subscribe: { policies: policiesOf('channels', 'SELECT') },
    publish: { policies: policiesOf('messages', 'INSERT') },
  };
}

export class RealtimeAdmin {
  constructor(
    private readonly db: Database,
    private readonly webhooks: { secret: string; kick: () => void },
  ) {}

  async config(): Promise<RealtimeConfigResponse> {
    const { rows } = await this.db.query<{ retention_days: number }>(
      'SELECT retention_days FROM realtime.config',
    );
    return {
      retentionDays: rows[0]!.retention_days,
      webhookSecret: this.webhooks.secret,
      signature:
        'X-Kiln-Signature: sha256=HMAC-SHA256(webhookSecret, `${X-Kiln-Timestamp}.${raw body}`) in hex',
    };
  }

  /** The row-level security policies that decide who subscribes and who publishes. */
  permissions() {
    return realtimePermissions(this.db);
  }

  async setRetention(days: number): Promise<RealtimeConfigResponse> {
    await this.db.query('UPDATE realtime.config SET retention_days = $1, updated_at = now()', [
      days,
    ]);
    return this.config();
  }

  /** Deletes stored messages older than `before` (of one channel, when given). */
  async purgeMessages(before: string, channel: string | undefined): Promise<number> {
    const { rowCount } = await this.db.query(
      'DELETE FROM realtime.messages WHERE created_at < $1 AND ($2::text IS NULL OR channel = $2)',
      [before, channel ?? null],
    );
    return rowCount ?? 0;
  }

  async deliveries(q: ListWebhookDeliveriesQuery) {
    const { rows, pagination } = await listPage(this.db, {
      select: '*',
      from: 'realtime.webhook_deliveries',
      filters: [
        { column: 'status', type: 'text', value: q.status },
        { column: 'message_id', type: 'uuid', value: q.messageId },
      ],
      orderBy: 'created_at DESC',
      limit: q.limit,
      offset: q.offset,
    });
    return {
      data: rows.map((d) => ({
        id: d.id as string,
        messageId: d.message_id as string,
        url: d.url as string,
        status: d.status as 'pending' | 'delivered' | 'failed',
        attempts: d.attempts as number,
        lastStatus: d.last_status as number | null,
        lastError: d.last_error as string | null,
        nextAttemptAt: d.status === 'pending' ? (d.next_attempt_at as Date).toISOString() : null,
        createdAt: (d.created_at as Date).toISOString(),
        deliveredAt: d.delivered_at ? (d.delivered_at as Date).toISOString() : null,
      })),
      pagination,
    };
  }

  /** Queues a delivery again, now. */
  async replay(id: string): Promise<void> {
    const { rowCount } = await this.db.query(
      `UPDATE realtime.webhook_deliveries SET status = 'pending', next_attempt_at = now(), created_at = now(), locked_until = NULL WHERE id = $1`,
      [id],
    );
    if (!rowCount)
      throw new AppError(404, 'REALTIME_DELIVERY_NOT_FOUND', 'No delivery with this id');
    this.webhooks.kick();
  }

  async channels(): Promise<RealtimeChannel[]> {
    const { rows } = await this.db.query<ChannelRow>(
      'SELECT * FROM realtime.channels ORDER BY pattern',
    );
    return rows.map(channelJson);
  }

  async createChannel(body: {
    pattern: string;
    description?: string | null;
    webhookUrls?: string[];
    enabled: boolean;
  }): Promise<RealtimeChannel> {
    try {
      const { rows } = await this.db.query<ChannelRow>(
        'INSERT INTO realtime.channels (pattern, description, webhook_urls, enabled) VALUES ($1, $2, $3, $4) RETURNING *',
        [body.pattern, body.description ?? null, body.webhookUrls ?? [], body.enabled],
      );
      return channelJson(rows[0]!);
    } catch (err) {
      if (pgCode(err) === PG.uniqueViolation)
        throw new AppError(
          409,
          'REALTIME_CHANNEL_EXISTS',
          `A channel "${body.pattern}" already exists`,
        );
      throw err;
    }
  }

  private async find(id: string): Promise<ChannelRow> {
    const { rows } = await this.db.query<ChannelRow>(
      'SELECT * FROM realtime.channels WHERE id = $1',
      [id],
    );
    if (!rows[0]) throw new AppError(404, 'REALTIME_CHANNEL_NOT_FOUND', 'No channel with this id');
    return rows[0];
  }

  async channel(id: string): Promise<RealtimeChannel> {
    return channelJson(await this.find(id));
  }

  async updateChannel(id: string, body: Partial<RealtimeChannelRequest>): Promise<RealtimeChannel> {
    const current = await this.find(id);
    const { rows } = await this.db.query<ChannelRow>(
      'UPDATE realtime.channels SET pattern = $2, description = $3, webhook_urls = $4, enabled = $5 WHERE id = $1 RETURNING *',
      [
        current.id,
        body.pattern ?? current.pattern,
        body.description !== undefined ? body.description : current.description,
        body.webhookUrls ?? current.webhook_urls,
        body.enabled ?? current.enabled,
      ],
    );
    return channelJson(rows[0]!);
  }

  /** Deletes a channel; returns its pattern. */
  async deleteChannel(id: string): Promise<string> {
    const current = await this.find(id);
    await this.db.query('DELETE FROM realtime.channels WHERE id = $1', [current.id]);
    return current.pattern;
  }

  async messageStats(): Promise<RealtimeMessageStatsResponse> {
    const [totals, channels, events, deliveries, config] = await Promise.all([
      this.db.query<{ total: number; last_hour: number; last_day: number; oldest: Date | null }>(
        `SELECT count(*)::int AS total,
                count(*) FILTER (WHERE created_at > now() - interval '1 hour')::int AS last_hour,
                count(*) FILTER (WHERE created_at > now() - interval '1 day')::int AS last_day,
                min(created_at) AS oldest
         FROM realtime.messages`,
      ),
      this.db.query<{ channel: string; messages: number; last_at: Date }>(
        `SELECT channel, count(*)::int AS messages, max(created_at) AS last_at FROM realtime.messages
         GROUP BY channel ORDER BY messages DESC LIMIT 20`,
      ),
      this.db.query<{ event: string; count: number }>(
        `SELECT event, count(*)::int AS count FROM realtime.messages
         GROUP BY event ORDER BY count DESC, event LIMIT 20`,
      ),
      this.db.query<{ delivered: number; settled: number }>(
        `SELECT count(*) FILTER (WHERE status = 'delivered')::int AS delivered,
                count(*) FILTER (WHERE status <> 'pending')::int AS settled
         FROM realtime.webhook_deliveries`,
      ),
      this.db.query<{ retention_days: number }>('SELECT retention_days FROM realtime.config'),
    ]);
    const t = totals.rows[0]!;
    const d = deliveries.rows[0]!;
    return {
      totalMessages: t.total,
      // Of the webhook deliveries that finished (delivered or failed); 0 when none has.
      whDeliveryRate: d.settled ? d.delivered / d.settled : 0,
      topEvents: events.rows.map((e) => ({ eventName: e.event, count: e.count })),
      retentionDays: config.rows[0]!.retention_days,
      lastHour: t.last_hour,
      lastDay: t.last_day,
      oldestMessageAt: t.oldest?.toISOString() ?? null,
      topChannels: channels.rows.map((c) => ({
        channel: c.channel,
        messages: c.messages,
        lastMessageAt: c.last_at.toISOString(),
      })),
    };
  }

  /** Stored messages, newest first, with their webhook deliveries counted by status. */
  async messages(q: ListRealtimeMessagesQuery) {
    const { rows, pagination } = await listPage(this.db, {
      select:
        'm.id, m.channel, m.channel_id, m.event, m.payload, m.sender_type, m.sender_id, m.created_at, d.*',
      from: `realtime.messages m
        LEFT JOIN LATERAL (
          SELECT count(*)::int AS wh_total,
                 count(*) FILTER (WHERE status = 'pending')::int AS wh_pending,
                 count(*) FILTER (WHERE status = 'delivered')::int AS wh_delivered,
                 count(*) FILTER (WHERE status = 'failed')::int AS wh_failed
            FROM realtime.webhook_deliveries w WHERE w.message_id = m.id
        ) d ON true`,
      countFrom: 'realtime.messages m',
      filters: [
        { column: 'channel', type: 'text', value: q.channel },
        { column: 'event', type: 'text', value: q.event },
      ],
      orderBy: 'm.created_at DESC, m.id',
      limit: q.limit,
      offset: q.offset,
    });
    return {
      data: rows.map((m) => ({
        id: m.id as string,
        channel: m.channel as string,
        event: m.event as string,
        eventName: m.event as string,
        channelName: m.channel as string,
        channelId: m.channel_id as string | null,
        payload: m.payload,
        senderType: m.sender_type as 'system' | 'user',
        senderId: m.sender_id as string | null,
        createdAt: (m.created_at as Date).toISOString(),
        whAudienceCount: m.wh_total as number,
        whDeliveredCount: m.wh_delivered as number,
        webhooks: {
          total: m.wh_total as number,
          pending: m.wh_pending as number,
          delivered: m.wh_delivered as number,
          failed: m.wh_failed as number,
        },
      })),
      pagination,
    };
  }
}

import { Router } from 'express';
import { z } from 'zod';
import type { Database } from '../core/db.js';
import { AppError } from '../core/errors.js';
import { requireAdmin } from '../core/auth/principal.js';
import { listPage } from '../core/paging.js';

const channelSchema = z.object({
  pattern: z
    .string()
    .min(1)
    .max(255)
    .regex(/^[A-Za-z0-9_.:@/%-]+$/, 'letters, digits and _ . : @ / - with % as a wildcard'),
  description: z.string().max(1000).nullable().optional(),
  webhookUrls: z.array(z.url()).max(20).optional(),
  enabled: z.boolean().default(true),
});

const messagesQuery = z.object({
  channel: z.string().max(255).optional(),
  event: z.string().max(255).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});

interface ChannelRow {
  id: string;
  pattern: string;
  description: string | null;
  webhook_urls: string[];
  enabled: boolean;
  created_at: Date;
  updated_at: Date;
}

const channelJson = (r: ChannelRow) => ({
  id: r.id,
  pattern: r.pattern,
  description: r.description,
  webhookUrls: r.webhook_urls,
  enabled: r.enabled,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

const idSchema = z.guid({ error: 'id: must be a UUID' });

/** Admin API for channels and stored messages. */
export function realtimeRoutes(
  db: Database,
  webhooks: { secret: string; kick: () => void },
): Router {
  const router = Router();
  router.use(requireAdmin);

  const configJson = async () => {
    const { rows } = await db.query<{ retention_days: number }>(
      'SELECT retention_days FROM realtime.config',
    );
    return {
      retentionDays: rows[0]!.retention_days,
      webhookSecret: webhooks.secret,
      signature:
        'X-Kiln-Signature: sha256=HMAC-SHA256(webhookSecret, `${X-Kiln-Timestamp}.${raw body}`) in hex',
    };
  };
  router.get('/config', async (_req, res) => {
    res.json(await configJson());
  });
  router.patch('/config', async (req, res) => {
    const body = z
      .object({ retentionDays: z.number().int().min(1).max(3650) })
      .strict()
      .parse(req.body);
    await db.query('UPDATE realtime.config SET retention_days = $1, updated_at = now()', [
      body.retentionDays,
    ]);
    res.json(await configJson());
  });
  router.delete('/messages', async (req, res) => {
    const q = z
      .object({ before: z.iso.datetime({ offset: true }), channel: z.string().max(255).optional() })
      .parse(req.query);
    const { rowCount } = await db.query(
      'DELETE FROM realtime.messages WHERE created_at < $1 AND ($2::text IS NULL OR channel = $2)',
      [q.before, q.channel ?? null],
    );
    res.json({ deletedCount: rowCount ?? 0 });
  });

  const deliveriesQuery = z.object({
    status: z.enum(['pending', 'delivered', 'failed']).optional(),
    messageId: z.guid().optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    offset: z.coerce.number().int().min(0).default(0),
  });
  router.get('/deliveries', async (req, res) => {
    const q = deliveriesQuery.parse(req.query);
    const where = '($1::text IS NULL OR status = $1) AND ($2::uuid IS NULL OR message_id = $2)';
    const params = [q.status ?? null, q.messageId ?? null];
    const { rows, pagination } = await listPage(db, {
      select: '*',
      from: 'realtime.webhook_deliveries',
      where,
      params,
      orderBy: 'created_at DESC',
      limit: q.limit,
      offset: q.offset,
    });
    res.json({
      data: rows.map((d) => ({
        id: d.id,
        messageId: d.message_id,
        url: d.url,
        status: d.status,
        attempts: d.attempts,
        lastStatus: d.last_status,
        lastError: d.last_error,
        nextAttemptAt: d.status === 'pending' ? (d.next_attempt_at as Date).toISOString() : null,
        createdAt: (d.created_at as Date).toISOString(),
        deliveredAt: d.delivered_at ? (d.delivered_at as Date).toISOString() : null,
      })),
      pagination,
    });
  });
  router.post('/deliveries/:id/replay', async (req, res) => {
    const id = idSchema.parse(String(req.params.id));
    const { rowCount } = await db.query(
      `UPDATE realtime.webhook_deliveries SET status = 'pending', next_attempt_at = now(), created_at = now(), locked_until = NULL WHERE id = $1`,
      [id],
    );
    if (!rowCount)
      throw new AppError(404, 'REALTIME_DELIVERY_NOT_FOUND', 'No delivery with this id');
    webhooks.kick();
    res.json({ message: 'Delivery queued again', id });
  });

  router.get('/channels', async (_req, res) => {
    const { rows } = await db.query<ChannelRow>('SELECT * FROM realtime.channels ORDER BY pattern');
    res.json(rows.map(channelJson));
  });
  router.post('/channels', async (req, res) => {
    const body = channelSchema.parse(req.body);
    try {
      const { rows } = await db.query<ChannelRow>(
        'INSERT INTO realtime.channels (pattern, description, webhook_urls, enabled) VALUES ($1, $2, $3, $4) RETURNING *',
        [body.pattern, body.description ?? null, body.webhookUrls ?? [], body.enabled],
      );
      res.status(201).json(channelJson(rows[0]!));
    } catch (err) {
      if ((err as { code?: string }).code === '23505')
        throw new AppError(
          409,
          'REALTIME_CHANNEL_EXISTS',
          `A channel "${body.pattern}" already exists`,
        );
      throw err;
    }
  });
  const find = async (id: string) => {
    const { rows } = await db.query<ChannelRow>('SELECT * FROM realtime.channels WHERE id = $1', [
      idSchema.parse(id),
    ]);
    if (!rows[0]) throw new AppError(404, 'REALTIME_CHANNEL_NOT_FOUND', 'No channel with this id');
    return rows[0];
  };
  router.get('/channels/:id', async (req, res) => {
    res.json(channelJson(await find(String(req.params.id))));
  });
  router.put('/channels/:id', async (req, res) => {
    const current = await find(String(req.params.id));
    const body = channelSchema.partial().parse(req.body);
    const { rows } = await db.query<ChannelRow>(
      'UPDATE realtime.channels SET pattern = $2, description = $3, webhook_urls = $4, enabled = $5 WHERE id = $1 RETURNING *',
      [
        current.id,
        body.pattern ?? current.pattern,
        body.description !== undefined ? body.description : current.description,
        body.webhookUrls ?? current.webhook_urls,
        body.enabled ?? current.enabled,
      ],
    );
    res.json(channelJson(rows[0]!));
  });
  router.delete('/channels/:id', async (req, res) => {
    const current = await find(String(req.params.id));
    await db.query('DELETE FROM realtime.channels WHERE id = $1', [current.id]);
    res.json({ message: `Channel "${current.pattern}" deleted` });
  });

  router.get('/messages/stats', async (_req, res) => {
    const [totals, channels] = await Promise.all([
      db.query<{ total: number; last_hour: number; last_day: number; oldest: Date | null }>(
        `SELECT count(*)::int AS total,
                count(*) FILTER (WHERE created_at > now() - interval '1 hour')::int AS last_hour,
                count(*) FILTER (WHERE created_at > now() - interval '1 day')::int AS last_day,
                min(created_at) AS oldest
         FROM realtime.messages`,
      ),
      db.query<{ channel: string; messages: number; last_at: Date }>(
        `SELECT channel, count(*)::int AS messages, max(created_at) AS last_at FROM realtime.messages
         GROUP BY channel ORDER BY messages DESC LIMIT 20`,
      ),
    ]);
    const t = totals.rows[0]!;
    res.json({
      totalMessages: t.total,
      lastHour: t.last_hour,
      lastDay: t.last_day,
      oldestMessageAt: t.oldest?.toISOString() ?? null,
      topChannels: channels.rows.map((c) => ({
        channel: c.channel,
        messages: c.messages,
        lastMessageAt: c.last_at.toISOString(),
      })),
    });
  });

  router.get('/messages', async (req, res) => {
    const q = messagesQuery.parse(req.query);
    const where = ['($1::text IS NULL OR channel = $1)', '($2::text IS NULL OR event = $2)'].join(
      ' AND ',
    );
    const params = [q.channel ?? null, q.event ?? null];
    const { rows, pagination } = await listPage(db, {
      select: 'm.id, m.channel, m.event, m.payload, m.sender_type, m.sender_id, m.created_at, d.*',
      from: `realtime.messages m
        LEFT JOIN LATERAL (
          SELECT count(*)::int AS wh_total,
                 count(*) FILTER (WHERE status = 'pending')::int AS wh_pending,
                 count(*) FILTER (WHERE status = 'delivered')::int AS wh_delivered,
                 count(*) FILTER (WHERE status = 'failed')::int AS wh_failed
            FROM realtime.webhook_deliveries w WHERE w.message_id = m.id
        ) d ON true`,
      countFrom: 'realtime.messages m',
      where,
      params,
      orderBy: 'm.created_at DESC, m.id',
      limit: q.limit,
      offset: q.offset,
    });
    res.json({
      data: rows.map((m) => ({
        id: m.id,
        channel: m.channel,
        event: m.event,
        payload: m.payload,
        senderType: m.sender_type,
        senderId: m.sender_id,
        createdAt: (m.created_at as Date).toISOString(),
        webhooks: {
          total: m.wh_total,
          pending: m.wh_pending,
          delivered: m.wh_delivered,
          failed: m.wh_failed,
        },
      })),
      pagination,
    });
  });

  return router;
}

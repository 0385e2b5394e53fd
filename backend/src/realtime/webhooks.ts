/**
 * Durable, signed webhook delivery. Rows of realtime.webhook_deliveries are claimed with
 * FOR UPDATE SKIP LOCKED (so with many instances each is sent by one), POSTed with the InsForge
 * headers plus an HMAC signature, and retried with exponential backoff and jitter on network
 * errors, timeouts, 5xx and 429 until the retry period ends; other 4xx fail at once.
 */
import crypto from 'node:crypto';
import type { Database } from '../core/db.js';
import { parseJsonExact, stringifyJson } from '../core/json.js';
import type { Logger } from '../core/logger.js';
import { PrivateAddressError, postOutbound } from '../core/outbound.js';

export interface WebhookOptions {
  secret: string;
  timeoutMs: number;
  retryBaseMs: number;
  retryPeriodSeconds: number;
  /** Deliver to loopback / private / link-local addresses too (development, trusted networks). */
  allowPrivateNetworks: boolean;
  logger: Logger;
}

interface Claimed {
  id: string;
  url: string;
  attempts: number;
  created_at: Date;
  message_id: string;
  channel: string;
  event: string;
  /** jsonb as text (parsed with parseJsonExact: numbers stay exact). */
  payload: string;
  sender_type: string;
  sender_id: string | null;
  message_created_at: Date;
}

export function signWebhook(secret: string, timestamp: string, body: string): string {
  return crypto.createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

export class WebhookDispatcher {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(
    private readonly db: Database,
    private readonly options: WebhookOptions,
  ) {}

  start(): void {
    // Due retries are picked up by polling; new deliveries also arrive by NOTIFY (kick()).
    this.timer = setInterval(() => this.kick(), Math.min(1000, this.options.retryBaseMs));
    this.timer.unref();
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }

  /** Runs a delivery pass now (or right after the current one). */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          while (!this.stopped && (await this.pass()) > 0);
        } while (this.again && !this.stopped);
      } catch (err) {
        this.options.logger.warn('webhook pass failed', { error: String(err) });
      } finally {
        this.running = undefined;
      }
    })();
  }

  private async pass(): Promise<number> {
    const { rows } = await this.db.query<Claimed>(
      `WITH due AS (
         SELECT id FROM realtime.webhook_deliveries
         WHERE status = 'pending' AND next_attempt_at <= now() AND (locked_until IS NULL OR locked_until < now())
         ORDER BY next_attempt_at, created_at LIMIT 20 FOR UPDATE SKIP LOCKED
       )
       UPDATE realtime.webhook_deliveries d SET locked_until = now() + make_interval(secs => $1)
       FROM due, realtime.messages m
       WHERE d.id = due.id AND m.id = d.message_id
       RETURNING d.id, d.url, d.attempts, d.created_at, m.id AS message_id, m.channel, m.event, m.payload::text AS payload,
                 m.sender_type, m.sender_id, m.created_at AS message_created_at`,
      [Math.ceil(this.options.timeoutMs / 1000) + 5],
    );
    // One endpoint at a time per URL, in message order; different URLs in parallel.
    const byUrl = new Map<string, Claimed[]>();
    for (const r of rows.sort(
      (a, b) => a.message_created_at.getTime() - b.message_created_at.getTime(),
    )) {
      byUrl.set(r.url, [...(byUrl.get(r.url) ?? []), r]);
    }
    await Promise.all(
      [...byUrl.values()].map(async (list) => {
        for (const d of list) await this.deliver(d);
      }),
    );
    return rows.length;
  }

  private async deliver(d: Claimed): Promise<void> {
    // The payload's numbers as stored, exactly (core/json.ts).
    const body = stringifyJson({
      ...(parseJsonExact(d.payload) as Record<string, unknown>),
      meta: {
        channel: d.channel,
        messageId: d.message_id,
        senderType: d.sender_type,
        ...(d.sender_id ? { senderId: d.sender_id } : {}),
        timestamp: d.message_created_at.toISOString(),
      },
    });
    const timestamp = String(Math.floor(Date.now() / 1000));
    let status: number | undefined;
    let error: string | undefined;
    let permanent = false;
    try {
      status = await postOutbound(
        d.url,
        {
          'content-type': 'application/json',
          'user-agent': 'Kiln-Webhooks/1',
          'x-insforge-event': d.event,
          'x-insforge-channel': d.channel,
          'x-insforge-message-id': d.message_id,
          'x-kiln-delivery-id': d.id,
          'x-kiln-timestamp': timestamp,
          'x-kiln-signature': `sha256=${signWebhook(this.options.secret, timestamp, body)}`,
        },
        body,
        { timeoutMs: this.options.timeoutMs, allowPrivate: this.options.allowPrivateNetworks },
      );
    } catch (err) {
      permanent = err instanceof PrivateAddressError;
      error =
        (err as Error).name === 'TimeoutError'
          ? `timed out after ${this.options.timeoutMs} ms`
          : String((err as Error).message ?? err);
    }
    const attempts = d.attempts + 1;
    if (status !== undefined && status >= 200 && status < 300) {
      await this.db.query(
        `UPDATE realtime.webhook_deliveries SET status = 'delivered', attempts = $2, last_status = $3, last_error = NULL, delivered_at = now(), locked_until = NULL WHERE id = $1`,
        [d.id, attempts, status],
      );
      return;
    }
    const retryable = !permanent && (status === undefined || status >= 500 || status === 429);
    const elapsed = (Date.now() - d.created_at.getTime()) / 1000;
    const reason = error ?? `HTTP ${status}`;
    if (!retryable || elapsed > this.options.retryPeriodSeconds) {
      await this.db.query(
        `UPDATE realtime.webhook_deliveries SET status = 'failed', attempts = $2, last_status = $3, last_error = $4, locked_until = NULL WHERE id = $1`,
        [d.id, attempts, status ?? null, reason],
      );
      return;
    }
    // Exponential backoff with full jitter, at most an hour between attempts.
    const ceiling = Math.min(3600_000, this.options.retryBaseMs * 2 ** Math.min(attempts - 1, 20));
    const delayMs = Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
    await this.db.query(
      `UPDATE realtime.webhook_deliveries SET attempts = $2, last_status = $3, last_error = $4, locked_until = NULL,
         next_attempt_at = now() + make_interval(secs => $5) WHERE id = $1`,
      [d.id, attempts, status ?? null, reason, delayMs / 1000],
    );
  }
}

/** Deletes messages older than the configured retention (and their deliveries, by cascade). */
export async function pruneMessages(db: Database): Promise<number> {
  const { rowCount } = await db.query(
    `DELETE FROM realtime.messages WHERE created_at < now() - make_interval(days => (SELECT retention_days FROM realtime.config))`,
  );
  return rowCount ?? 0;
}

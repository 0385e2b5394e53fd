/**
 * Where a job (or a schedule's tick) goes, and what running it there means:
 * - `function`: a POST to the edge function on Kiln's own server (`/functions/:slug`), the
 *   payload as the JSON body, the job's id and attempt as headers;
 * - `http`: a POST to a URL, signed like realtime webhooks (X-Kiln-Timestamp, X-Kiln-Signature:
 *   HMAC-SHA256 of `timestamp.body` with the webhook secret); private addresses are refused
 *   unless WEBHOOK_ALLOW_PRIVATE_NETWORKS (off in production);
 * - `sql`: `SELECT fn(payload::jsonb)` in its own transaction as project_admin or the chosen role.
 * A run succeeds on a 2xx answer (or the SQL function returning); anything else is a failure
 * with an error text worth showing an admin.
 */
import pg from 'pg';
import type { Database } from '../core/db.js';
import { PrivateAddressError, sendOutbound } from '../core/outbound.js';
import { signWebhook } from '../realtime/webhooks.js';

export type TargetKind = 'function' | 'http' | 'sql';
export type TargetRole = 'project_admin' | 'authenticated' | 'anon';

export interface Target {
  kind: TargetKind;
  /** Function slug, URL, or SQL function name (`name` or `schema.name`). */
  target: string;
  role?: TargetRole;
}

export interface RunOutcome {
  ok: boolean;
  /** HTTP status (function, http); 200 / 500 for SQL. */
  status: number;
  /** The start of the answer (HTTP) or the function's result as text (SQL). */
  body: string | null;
  error?: string;
  /** Not worth retrying (a refused address). */
  permanent?: boolean;
  /** `recordSuccess` ran in the SQL target's transaction (it committed with the function). */
  recorded?: boolean;
  durationMs: number;
}

export interface TargetRunnerOptions {
  db: Database;
  /** Kiln's own address for function calls (known once it listens). */
  internalUrl: () => string | undefined;
  webhookSecret: string;
  allowPrivateNetworks: boolean;
}

/** `name` or `schema.name`, each a plain identifier. */
export const SQL_FUNCTION_NAME = /^[A-Za-z_][A-Za-z0-9_$]{0,62}(\.[A-Za-z_][A-Za-z0-9_$]{0,62})?$/;

export function quoteFunctionName(name: string): string {
  return name
    .split('.')
    .map((part) => pg.escapeIdentifier(part))
    .join('.');
}

/** A SQL target's result as run logs show it: text as it is, anything else as JSON. */
export function sqlResultText(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Whether a run failed by running out of its time (fetch's timeout, statement_timeout). */
export function isTimeout(err: unknown): boolean {
  return (err as Error).name === 'TimeoutError' || (err as { code?: string }).code === '57014';
}

export class TargetRunner {
  constructor(private readonly options: TargetRunnerOptions) {}

  async run(
    target: Target,
    input: {
      /** JSON body (function, http, sql) or raw text (schedules may send a string). */
      body: string | undefined;
      method?: string;
      headers?: Record<string, string>;
      timeoutMs: number;
      /**
       * SQL targets run as project_admin: a statement recording the success, run in the
       * function's own transaction, so the job's outcome commits with the function's effects.
       */
      recordSuccess?: { text: string; params: unknown[] };
    },
  ): Promise<RunOutcome> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    try {
      if (target.kind === 'sql') {
        const { result, recorded } = await this.runSql(
          target,
          input.body ?? 'null',
          input.timeoutMs,
          input.recordSuccess,
        );
        return { ok: true, status: 200, body: result, recorded, durationMs: elapsed() };
      }
      const method = input.method ?? 'POST';
      const headers: Record<string, string> = {
        'user-agent': 'Kiln-Jobs/1',
        ...(input.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...input.headers,
      };
      let url: string;
      let allowPrivate: boolean;
      if (target.kind === 'function') {
        const base = this.options.internalUrl();
        if (!base) throw new Error('Kiln is not listening yet: functions cannot be called');
        url = `${base}/functions/${encodeURIComponent(target.target)}`;
        allowPrivate = true; // Kiln itself, on loopback
      } else {
        url = target.target;
        allowPrivate = this.options.allowPrivateNetworks;
        const timestamp = String(Math.floor(Date.now() / 1000));
        headers['x-kiln-timestamp'] = timestamp;
        headers['x-kiln-signature'] =
          `sha256=${signWebhook(this.options.webhookSecret, timestamp, input.body ?? '')}`;
      }
      const answer = await sendOutbound(
        url,
        { method, headers, body: input.body },
        { timeoutMs: input.timeoutMs, allowPrivate },
      );
      const ok = answer.status >= 200 && answer.status < 300;
      return {
        ok,
        status: answer.status,
        body: answer.body,
        ...(ok
          ? {}
          : {
              error: `HTTP ${answer.status}${answer.body ? `: ${answer.body.slice(0, 500)}` : ''}`,
            }),
        durationMs: elapsed(),
      };
    } catch (err) {
      const timedOut = isTimeout(err);
      return {
        ok: false,
        status: timedOut ? 504 : 500,
        body: null,
        error: timedOut
          ? `timed out after ${input.timeoutMs} ms`
          : String((err as Error).message ?? err),
        permanent: err instanceof PrivateAddressError,
        durationMs: elapsed(),
      };
    }
  }

  private async runSql(
    target: Target,
    body: string,
    timeoutMs: number,
    recordSuccess?: { text: string; params: unknown[] },
  ): Promise<{ result: string | null; recorded: boolean }> {
    if (!SQL_FUNCTION_NAME.test(target.target))
      throw new Error(`"${target.target}" is not a function name`);
    const role = target.role ?? 'project_admin';
    // project_admin may write jobs.jobs; the request roles may not.
    const record = role === 'project_admin' ? recordSuccess : undefined;
    // The transaction (role, settings, the call, the success record, COMMIT): one round trip.
    const [results] = await this.options.db.transactionsAsPrincipal(
      { role, credential: 'api_key', claims: { role } },
      [
        {
          statements: [
            {
              text: `SELECT ${quoteFunctionName(target.target)}($1::jsonb) AS result`,
              values: [body],
            },
            ...(record ? [{ text: record.text, values: record.params }] : []),
          ],
          settings: { statement_timeout: String(timeoutMs) },
        },
      ],
    );
    return {
      result: sqlResultText((results![0]!.rows[0] as { result?: unknown } | undefined)?.result),
      recorded: record !== undefined,
    };
  }
}

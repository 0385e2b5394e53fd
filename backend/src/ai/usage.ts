/** Reports over `ai.usage` for admins: an overview of recent days and the raw records. */
import type { AiOverviewResponse, AiUsageQuery, AiUsageResponse } from '@kiln/shared-schemas';
import type { Database } from '../core/db.js';
import { listPage, timeWindow } from '../core/paging.js';

/** The most rows of byDayModel / byDayUser an overview answers (newest days first). */
const DAILY_ROWS = 5000;

export class AiUsageReports {
  constructor(private readonly db: Database) {}

  /** Totals, and the busiest models, users and days, over the last `days` days. */
  async overview(days: number): Promise<AiOverviewResponse> {
    const since = `${days} days`;
    const [totals, byModel, byUser, byDay, byDayModel, byDayUser] = await Promise.all([
      this.db.query<AiOverviewResponse['totals']>(
        `SELECT count(*)::int AS requests, coalesce(sum(prompt_tokens),0)::int AS "promptTokens",
                coalesce(sum(completion_tokens),0)::int AS "completionTokens",
                coalesce(sum(total_tokens),0)::int AS "totalTokens", coalesce(sum(images),0)::int AS images,
                count(*) FILTER (WHERE status <> 'ok')::int AS failures
           FROM ai.usage WHERE created_at > now() - $1::interval`,
        [since],
      ),
      this.db.query<AiOverviewResponse['byModel'][number]>(
        `SELECT model, modality, count(*)::int AS requests, coalesce(sum(total_tokens),0)::int AS "totalTokens",
                coalesce(sum(images),0)::int AS images
           FROM ai.usage WHERE created_at > now() - $1::interval
          GROUP BY model, modality ORDER BY requests DESC LIMIT 100`,
        [since],
      ),
      this.db.query<AiOverviewResponse['byUser'][number]>(
        `SELECT u.user_id AS "userId", a.email, count(*)::int AS requests,
                coalesce(sum(u.total_tokens),0)::int AS "totalTokens", coalesce(sum(u.images),0)::int AS images
           FROM ai.usage u LEFT JOIN auth.users a ON a.id = u.user_id
          WHERE u.created_at > now() - $1::interval
          GROUP BY u.user_id, a.email ORDER BY requests DESC LIMIT 50`,
        [since],
      ),
      this.db.query<AiOverviewResponse['byDay'][number]>(
        `SELECT to_char(date_trunc('day', created_at), 'YYYY-MM-DD') AS day, count(*)::int AS requests,
                coalesce(sum(total_tokens),0)::int AS "totalTokens"
           FROM ai.usage WHERE created_at > now() - $1::interval GROUP BY 1 ORDER BY 1`,
        [since],
      ),
      // Newest day first, bounded (DAILY_ROWS) so a busy year stays small.
      this.db.query<AiOverviewResponse['byDayModel'][number]>(
        `SELECT to_char(date_trunc('day', created_at), 'YYYY-MM-DD') AS day, model,
                count(*)::int AS requests, coalesce(sum(total_tokens),0)::int AS "totalTokens"
           FROM ai.usage WHERE created_at > now() - $1::interval
          GROUP BY 1, 2 ORDER BY 1 DESC, requests DESC, 2 LIMIT ${DAILY_ROWS}`,
        [since],
      ),
      this.db.query<AiOverviewResponse['byDayUser'][number]>(
        `SELECT to_char(date_trunc('day', u.created_at), 'YYYY-MM-DD') AS day,
                u.user_id AS "userId", a.email, count(*)::int AS requests,
                coalesce(sum(u.total_tokens),0)::int AS "totalTokens"
           FROM ai.usage u LEFT JOIN auth.users a ON a.id = u.user_id
          WHERE u.created_at > now() - $1::interval
          GROUP BY 1, u.user_id, a.email ORDER BY 1 DESC, requests DESC, u.user_id LIMIT ${DAILY_ROWS}`,
        [since],
      ),
    ]);
    return {
      days,
      totals: totals.rows[0]!,
      byModel: byModel.rows,
      byUser: byUser.rows,
      byDay: byDay.rows,
      byDayModel: byDayModel.rows,
      byDayUser: byDayUser.rows,
      charts: {
        spend: [],
        requests: byDay.rows.map((d) => ({ label: d.day, value: d.requests })),
        tokens: byDay.rows.map((d) => ({ label: d.day, value: d.totalTokens })),
      },
    };
  }

  /** One page of usage records, newest first, filtered. */
  async list(q: AiUsageQuery): Promise<AiUsageResponse> {
    type Row = Omit<AiUsageResponse['data'][number], 'createdAt'> & { createdAt: Date };
    const page = await listPage<Row>(this.db, {
      select: `id::text, user_id AS "userId", model, modality, prompt_tokens AS "promptTokens",
               completion_tokens AS "completionTokens", total_tokens AS "totalTokens", images,
               status, created_at AS "createdAt"`,
      from: 'ai.usage',
      filters: [
        { column: 'user_id', type: 'uuid', value: q.userId },
        { column: 'model', type: 'text', value: q.model },
        { column: 'modality', type: 'text', value: q.modality },
        ...timeWindow('created_at', q.from, q.to),
      ],
      orderBy: 'created_at DESC, id DESC',
      limit: q.limit,
      offset: q.offset,
    });
    return {
      data: page.rows.map((r) => ({ ...r, createdAt: r.createdAt.toISOString() })),
      pagination: page.pagination,
    };
  }
}

/**
 * Admin log API, mounted at /api/logs (after /api/logs/audits):
 *   GET /sources                                            sources, sizes, availability
 *   GET /stats?from&to&bucket                               counts per source × level × bucket
 *   GET /search?q&source&level&from&to&limit&offset         {logs, total, totalExact, hasMore}
 *   GET /:source?limit&before_timestamp                     {logs, total, totalExact, hasMore}
 */
import { Router } from 'express';
import { z } from 'zod';
import { AppError } from '../core/errors.js';
import { requireAdmin } from '../core/auth/principal.js';
import {
  isLogSource,
  LOG_LEVELS,
  SOURCE_NAMES,
  type LogProvider,
  type LogSource,
} from './types.js';

/** An instant: ISO 8601 with a zone (or Z), or epoch milliseconds. */
const instant = z
  .string()
  .trim()
  .refine((v) => /^\d{1,15}$/.test(v) || z.iso.datetime({ offset: true }).safeParse(v).success, {
    error: 'must be an ISO 8601 date-time with a zone (2026-01-31T12:00:00Z) or epoch milliseconds',
  })
  .transform((v) => (/^\d+$/.test(v) ? Number(v) : Date.parse(v)));

const limit = z.coerce.number().int().min(1).max(1000).default(100);

/** Deeper pages than this cost a scan per request: page with `to` instead. */
const MAX_OFFSET = 100_000;

const listQuery = z.object({
  limit,
  before_timestamp: instant.optional(),
});

const searchQuery = z
  .object({
    q: z
      .string()
      .max(500)
      .optional()
      .transform((v) => v || undefined),
    source: z.string().max(100).optional(),
    level: z.enum(LOG_LEVELS).optional(),
    from: instant.optional(),
    to: instant.optional(),
    limit,
    offset: z.coerce.number().int().min(0).max(MAX_OFFSET).default(0),
  })
  .refine((q) => q.from === undefined || q.to === undefined || q.from < q.to, {
    error: 'from must be before to',
    path: ['from'],
  });

const BUCKETS: Record<string, number> = { s: 1000, m: 60_000, h: 3600_000, d: 86_400_000 };
const MAX_BUCKETS = 1000;
/** Picked when no bucket is given: the smallest giving at most 100 buckets. */
const AUTO_BUCKETS = [60, 300, 900, 3600, 6 * 3600, 86_400, 7 * 86_400].map((s) => s * 1000);

const statsQuery = z
  .object({
    from: instant.optional(),
    to: instant.optional(),
    bucket: z
      .string()
      .regex(/^\d{1,7}[smhd]?$/, 'must look like 300, 300s, 5m, 1h or 1d')
      .transform((v) => {
        const [, n, unit] = /^(\d+)([smhd]?)$/.exec(v)!;
        return Number(n) * BUCKETS[unit || 's']!;
      })
      .refine((ms) => ms >= 1000, 'must be at least 1 second')
      .optional(),
  })
  .transform((q, ctx) => {
    const toMs = q.to ?? Date.now();
    const fromMs = q.from ?? toMs - 86_400_000;
    if (fromMs >= toMs) {
      ctx.addIssue({ code: 'custom', message: 'from must be before to', path: ['from'] });
      return z.NEVER;
    }
    const bucketMs =
      q.bucket ?? AUTO_BUCKETS.find((b) => (toMs - fromMs) / b <= 100) ?? AUTO_BUCKETS.at(-1)!;
    // Buckets start on multiples of their size (whole minutes, hours, UTC days).
    const alignedFrom = Math.floor(fromMs / bucketMs) * bucketMs;
    if (Math.ceil((toMs - alignedFrom) / bucketMs) > MAX_BUCKETS) {
      ctx.addIssue({
        code: 'custom',
        message: `from/to/bucket give more than ${MAX_BUCKETS} buckets: choose a larger bucket`,
        path: ['bucket'],
      });
      return z.NEVER;
    }
    return { fromMs: alignedFrom, toMs, bucketMs };
  });

function sourceParam(name: string): LogSource {
  if (!isLogSource(name)) {
    throw new AppError(
      400,
      'INVALID_INPUT',
      `Unknown log source "${name.slice(0, 100)}"`,
      `Use one of: ${SOURCE_NAMES.join(', ')}`,
    );
  }
  return name;
}

export function logsRoutes(provider: LogProvider): Router {
  const router = Router();
  router.use(requireAdmin);

  router.get('/sources', async (_req, res) => {
    res.json(await provider.sources());
  });

  router.get('/stats', async (req, res) => {
    res.json(await provider.stats(statsQuery.parse(req.query)));
  });

  router.get('/search', async (req, res) => {
    const q = searchQuery.parse(req.query);
    res.json(
      await provider.search({
        q: q.q,
        source: q.source === undefined ? undefined : sourceParam(q.source),
        level: q.level,
        fromMs: q.from,
        toMs: q.to,
        limit: q.limit,
        offset: q.offset,
      }),
    );
  });

  router.get('/:source', async (req, res) => {
    const source = sourceParam(req.params.source);
    const q = listQuery.parse(req.query);
    res.json(await provider.list(source, { limit: q.limit, beforeMs: q.before_timestamp }));
  });

  return router;
}

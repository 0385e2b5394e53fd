import { z } from 'zod';

/** The log sources Kiln writes. */
export const LOG_SOURCE_NAMES = [
  'kiln.logs',
  'function.logs',
  'auth.logs',
  'postgres.logs',
] as const;
export const logSourceSchema = z.enum(LOG_SOURCE_NAMES);
export type LogSourceName = z.infer<typeof logSourceSchema>;

/** winston's npm levels, most severe first. */
export const LOG_LEVELS = ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'] as const;
export const logLevelSchema = z.enum(LOG_LEVELS);

/** An instant: ISO 8601 with a zone (or Z), or epoch milliseconds; parsed to epoch ms. */
export const logInstantSchema = z
  .string()
  .trim()
  .refine((v) => /^\d{1,15}$/.test(v) || z.iso.datetime({ offset: true }).safeParse(v).success, {
    error: 'must be an ISO 8601 date-time with a zone (2026-01-31T12:00:00Z) or epoch milliseconds',
  })
  .transform((v) => (/^\d+$/.test(v) ? Number(v) : Date.parse(v)));

const logLimitSchema = z.coerce.number().int().min(1).max(1000).default(100);

/** Deeper pages than this cost a scan per request: page with `to` instead. */
export const LOG_MAX_OFFSET = 100_000;

/** `{source}` in the path: one of LOG_SOURCE_NAMES (checked by the route, 400 otherwise). */
export const logSourceParamsSchema = z.object({
  source: z.string().describe(`One of ${LOG_SOURCE_NAMES.join(', ')}`),
});

/** GET /api/logs/{source} */
export const listLogsQuerySchema = z.object({
  limit: logLimitSchema,
  /** Only entries strictly older than this. */
  before_timestamp: logInstantSchema.optional(),
});

/** GET /api/logs/search */
export const searchLogsQuerySchema = z
  .object({
    q: z
      .string()
      .max(500)
      .optional()
      .transform((v) => v || undefined),
    /** One of LOG_SOURCE_NAMES (checked by the route); all sources when absent. */
    source: z.string().max(100).optional(),
    level: logLevelSchema.optional(),
    from: logInstantSchema.optional(),
    to: logInstantSchema.optional(),
    limit: logLimitSchema,
    offset: z.coerce.number().int().min(0).max(LOG_MAX_OFFSET).default(0),
  })
  .refine((q) => q.from === undefined || q.to === undefined || q.from < q.to, {
    error: 'from must be before to',
    path: ['from'],
  });

const BUCKET_UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3600_000, d: 86_400_000 };
const MAX_BUCKETS = 1000;
/** Picked when no bucket is given: the smallest giving at most 100 buckets. */
const AUTO_BUCKETS = [60, 300, 900, 3600, 6 * 3600, 86_400, 7 * 86_400].map((s) => s * 1000);

/**
 * GET /api/logs/stats/histogram: `from`/`to` (default: the last 24 hours) and a bucket size (300, 300s,
 * 5m, 1h, 1d; picked when absent). Parses to aligned `{fromMs, toMs, bucketMs}`.
 */
export const logStatsQuerySchema = z
  .object({
    from: logInstantSchema.optional(),
    to: logInstantSchema.optional(),
    bucket: z
      .string()
      .regex(/^\d{1,7}[smhd]?$/, 'must look like 300, 300s, 5m, 1h or 1d')
      .transform((v) => {
        const [, n, unit] = /^(\d+)([smhd]?)$/.exec(v)!;
        return Number(n) * BUCKET_UNITS[unit || 's']!;
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

export const logEntrySchema = z.object({
  /** Derived from the source and the line's text (the same line always has the same id). */
  id: z.string(),
  source: logSourceSchema,
  timestamp: z.iso.datetime(),
  level: z.string(),
  message: z.string(),
  /** Every other field of the line (service, requestId, status, …). */
  metadata: z.record(z.string(), z.unknown()),
  /** InsForge's name for `message`. */
  eventMessage: z.string(),
  /** InsForge's view of the line's fields: `metadata` with `level`. */
  body: z.record(z.string(), z.unknown()),
});
export type LogEntry = z.infer<typeof logEntrySchema>;

/** GET /api/logs/{source} and /api/logs/search. */
export const logPageSchema = z.object({
  logs: z.array(logEntrySchema),
  /** List: every entry the source holds. Search: the matches, exact when `totalExact`. */
  total: z.number().int(),
  totalExact: z.boolean(),
  hasMore: z.boolean(),
});
export type LogPage = z.infer<typeof logPageSchema>;

/** GET /api/logs/sources */
export const logSourcesResponseSchema = z.object({
  provider: z.enum(['file', 'cloudwatch']),
  logGroup: z.string().optional(),
  logGroupBytes: z.number().nullable().optional(),
  sources: z.array(
    z.object({
      name: logSourceSchema,
      description: z.string(),
      available: z.boolean(),
      sizeBytes: z.number().nullable(),
      lastEventAt: z.iso.datetime().nullable(),
      files: z.number().int().optional(),
    }),
  ),
});
export type LogSourcesResponse = z.infer<typeof logSourcesResponseSchema>;

/**
 * GET /api/logs/stats (InsForge's shape): one row per source that has written anything — its
 * entries of the last 24 hours and its newest write.
 */
export const logSourceStatsResponseSchema = z.array(
  z.object({
    source: logSourceSchema,
    /** Entries of the last 24 hours. */
    count: z.number().int(),
    /** The source's newest write (file) or event (CloudWatch). */
    lastActivity: z.iso.datetime(),
  }),
);
export type LogSourceStatsResponse = z.infer<typeof logSourceStatsResponseSchema>;

/** GET /api/logs/stats/histogram */
export const logStatsResponseSchema = z.object({
  from: z.iso.datetime(),
  to: z.iso.datetime(),
  bucketSeconds: z.number(),
  /** Start of each bucket; bucket i covers [buckets[i], buckets[i+1]). */
  buckets: z.array(z.iso.datetime()),
  series: z.array(
    z.object({
      source: logSourceSchema,
      level: z.string(),
      total: z.number().int(),
      counts: z.array(z.number().int()),
    }),
  ),
  totals: z.object({
    all: z.number().int(),
    bySource: z.record(z.string(), z.number().int()),
    byLevel: z.record(z.string(), z.number().int()),
  }),
});
export type LogStatsResponse = z.infer<typeof logStatsResponseSchema>;

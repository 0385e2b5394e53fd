import { z } from 'zod';
import { paginationQuerySchema, paginationSchema } from './common.js';

/** A queue's name: letters, digits, `_ . : -`, up to 100 characters. */
export const queueNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/, 'letters, digits, _ . : - (up to 100 characters)');

/** Where a queue's jobs (and a schedule's ticks) go. */
export const jobTargetSchema = z.discriminatedUnion('type', [
  z.object({
    /** POST to the edge function, the payload as JSON, X-Job-Id, X-Job-Attempt and X-Job-Queue headers. */
    type: z.literal('function'),
    slug: z.string().min(1).max(100),
  }),
  z.object({
    /** A signed POST (X-Kiln-Timestamp, X-Kiln-Signature) to the URL. */
    type: z.literal('http'),
    url: z.url({ protocol: /^https?$/ }).max(2048),
  }),
  z.object({
    /** `SELECT fn(payload jsonb)` in its own transaction, as `role`. */
    type: z.literal('sql'),
    function: z
      .string()
      .regex(
        /^[A-Za-z_][A-Za-z0-9_$]{0,62}(\.[A-Za-z_][A-Za-z0-9_$]{0,62})?$/,
        'a function name: name or schema.name',
      ),
    role: z.enum(['project_admin', 'authenticated', 'anon']).default('project_admin'),
  }),
]);
export type JobTarget = z.infer<typeof jobTargetSchema>;

/** PUT /api/jobs/queues/{name}: creates or replaces the queue's settings. */
export const putQueueRequestSchema = z.object({
  target: jobTargetSchema,
  /** Attempts before a job is dead (default 5). */
  maxAttempts: z.number().int().min(1).max(100).default(5),
  /** First retry delay; doubles each attempt, with jitter (half to all of it). */
  backoffMs: z.number().int().min(0).max(86_400_000).default(1000),
  backoffMaxMs: z.number().int().min(0).max(86_400_000).default(3_600_000),
  /** Per attempt. */
  timeoutMs: z.number().int().min(100).max(3_600_000).default(30_000),
  /** Jobs of this queue running at once, across every instance (null: no limit). */
  concurrency: z.number().int().min(1).max(1000).nullable().default(null),
  /** Signed-in users may enqueue (and see the jobs they enqueued). */
  userEnqueue: z.boolean().default(false),
});
export type PutQueueRequest = z.infer<typeof putQueueRequestSchema>;

export const jobCountsSchema = z.object({
  queued: z.number().int(),
  running: z.number().int(),
  succeeded: z.number().int(),
  failed: z.number().int(),
  dead: z.number().int(),
  cancelled: z.number().int(),
});

export const queueSchema = z.object({
  name: z.string(),
  target: jobTargetSchema,
  maxAttempts: z.number().int(),
  backoffMs: z.number().int(),
  backoffMaxMs: z.number().int(),
  timeoutMs: z.number().int(),
  concurrency: z.number().int().nullable(),
  userEnqueue: z.boolean(),
  counts: jobCountsSchema,
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
export type Queue = z.infer<typeof queueSchema>;

export const listQueuesResponseSchema = z.object({ queues: z.array(queueSchema) });
export const queueParamsSchema = z.object({ name: z.string() });

/** POST /api/jobs/queues/{name}/jobs */
export const enqueueJobRequestSchema = z
  .object({
    payload: z.unknown().default({}),
    /** When to run (default now); or `delaySeconds` from now. */
    runAt: z.iso.datetime({ offset: true }).optional(),
    delaySeconds: z
      .number()
      .min(0)
      .max(365 * 86_400)
      .optional(),
    /** Higher runs first (default 0). */
    priority: z.number().int().min(-1000).max(1000).optional(),
    maxAttempts: z.number().int().min(1).max(100).optional(),
    backoffMs: z.number().int().min(0).max(86_400_000).optional(),
    timeoutMs: z.number().int().min(100).max(3_600_000).optional(),
    /** While an unfinished job of the queue has this key, enqueueing it again returns that job. */
    dedupKey: z.string().min(1).max(200).optional(),
  })
  .strict();
export type EnqueueJobRequest = z.infer<typeof enqueueJobRequestSchema>;

export const jobStatusSchema = z.enum([
  'queued',
  'running',
  'failed',
  'succeeded',
  'dead',
  'cancelled',
]);
export type JobStatus = z.infer<typeof jobStatusSchema>;

export const jobSchema = z.object({
  id: z.uuid(),
  queue: z.string(),
  payload: z.unknown(),
  status: jobStatusSchema,
  priority: z.number().int(),
  runAt: z.iso.datetime(),
  attempts: z.number().int(),
  maxAttempts: z.number().int(),
  dedupKey: z.string().nullable(),
  lastError: z.string().nullable(),
  /** Who enqueued it (a user's id; admins' sessions have ids too); null from SQL without one. */
  createdBy: z.string().nullable(),
  createdAt: z.iso.datetime(),
  startedAt: z.iso.datetime().nullable(),
  finishedAt: z.iso.datetime().nullable(),
});
export type Job = z.infer<typeof jobSchema>;

export const enqueueJobResponseSchema = z.object({
  job: jobSchema,
  /** False when an unfinished job with the same dedupKey already existed (that job is `job`). */
  created: z.boolean(),
});

export const listJobsQuerySchema = paginationQuerySchema.extend({
  queue: z.string().optional(),
  status: jobStatusSchema.optional(),
});
export const listJobsResponseSchema = z.object({
  data: z.array(jobSchema),
  pagination: paginationSchema,
});
export const jobParamsSchema = z.object({ id: z.uuid() });

/** DELETE /api/jobs/jobs: finished jobs (succeeded, dead, cancelled) only. */
export const purgeJobsQuerySchema = z.object({
  queue: z.string().optional(),
  status: z.enum(['succeeded', 'dead', 'cancelled']).optional(),
  /** Only jobs finished before this time. */
  before: z.iso.datetime({ offset: true }).optional(),
});
export const purgeJobsResponseSchema = z.object({ deleted: z.number().int() });

export const recentFailuresQuerySchema = z.object({
  queue: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(200).default(20),
});
export const recentFailuresResponseSchema = z.object({ failures: z.array(jobSchema) });
export const deletedQueueResponseSchema = z.object({ message: z.string() });

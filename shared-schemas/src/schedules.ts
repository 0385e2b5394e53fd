import { z } from 'zod';

/**
 * Schedules: InsForge's API (`/api/schedules`, its field names and answers) plus Kiln's
 * additions: 6-field cron (seconds first), a time zone, targets beyond a URL (an edge function,
 * SQL, a job queue), an overlap policy, run now.
 */
const httpMethodSchema = z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);

/** A cron expression (5 fields, or 6 with seconds first) or InsForge's "N seconds" (1–59). */
export const cronScheduleSchema = z.string().trim().min(1).max(200);

/** Where a tick goes besides `functionUrl` (Kiln's addition). */
export const scheduleTargetSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('function'), slug: z.string().min(1).max(100) }),
  z.object({
    type: z.literal('sql'),
    function: z
      .string()
      .regex(
        /^[A-Za-z_][A-Za-z0-9_$]{0,62}(\.[A-Za-z_][A-Za-z0-9_$]{0,62})?$/,
        'a function name: name or schema.name',
      ),
    role: z.enum(['project_admin', 'authenticated', 'anon']).default('project_admin'),
  }),
  z.object({ type: z.literal('queue'), queue: z.string().min(1).max(100) }),
]);
export type ScheduleTarget = z.infer<typeof scheduleTargetSchema>;

const headersSchema = z
  .record(z.string().max(200), z.string().max(8192))
  .refine((h) => Object.keys(h).length <= 50, 'at most 50 headers');

const scheduleFields = {
  name: z.string().min(3, 'Schedule name must be at least 3 characters long').max(200),
  cronSchedule: cronScheduleSchema,
  /** The URL called on every tick (InsForge's target); or give `target`. */
  functionUrl: z.url({ protocol: /^https?$/ }).max(2048),
  httpMethod: httpMethodSchema,
  /** Header values may reference secrets as ${{secrets.NAME}}, resolved at every run. */
  headers: headersSchema,
  /** JSON sent with the request (the payload for SQL and queue targets). */
  body: z.record(z.string(), z.unknown()),
  /** IANA time zone the cron expression is read in (default UTC). */
  timeZone: z.string().min(1).max(100),
  target: scheduleTargetSchema,
  /** A tick while the previous run is still going: skipped (default) or queued behind it. */
  overlap: z.enum(['skip', 'queue']),
  isActive: z.boolean(),
};

/** POST /api/schedules: `functionUrl` or `target`. */
export const createScheduleRequestSchema = z
  .object({
    name: scheduleFields.name,
    cronSchedule: scheduleFields.cronSchedule,
    functionUrl: scheduleFields.functionUrl.optional(),
    httpMethod: scheduleFields.httpMethod.default('POST'),
    headers: scheduleFields.headers.optional(),
    body: scheduleFields.body.optional(),
    timeZone: scheduleFields.timeZone.default('UTC'),
    target: scheduleFields.target.optional(),
    overlap: scheduleFields.overlap.default('skip'),
    isActive: scheduleFields.isActive.default(true),
  })
  .refine((v) => (v.functionUrl === undefined) !== (v.target === undefined), {
    message: 'give either functionUrl or target',
  });
export type CreateScheduleRequest = z.infer<typeof createScheduleRequestSchema>;

/** PATCH /api/schedules/{id}: any subset (isActive false pauses, true resumes). */
export const updateScheduleRequestSchema = z
  .object({
    name: scheduleFields.name,
    cronSchedule: scheduleFields.cronSchedule,
    functionUrl: scheduleFields.functionUrl,
    httpMethod: scheduleFields.httpMethod,
    headers: scheduleFields.headers,
    body: scheduleFields.body,
    timeZone: scheduleFields.timeZone,
    target: scheduleFields.target,
    overlap: scheduleFields.overlap,
    isActive: scheduleFields.isActive,
  })
  .partial()
  .refine((v) => !(v.functionUrl !== undefined && v.target !== undefined), {
    message: 'give either functionUrl or target',
  });
export type UpdateScheduleRequest = z.infer<typeof updateScheduleRequestSchema>;

export const scheduleSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  cronSchedule: z.string(),
  /** The URL a tick calls (for a function target, the function's URL); null for SQL and queues. */
  functionUrl: z.string().nullable(),
  httpMethod: httpMethodSchema,
  headers: z.record(z.string(), z.string()).nullable(),
  body: z.union([z.string(), z.record(z.string(), z.unknown())]).nullable(),
  /** InsForge's pg_cron job id; Kiln answers the schedule's id. */
  cronJobId: z.string().nullable(),
  lastExecutedAt: z.iso.datetime().nullable(),
  isActive: z.boolean(),
  nextRun: z.iso.datetime().nullable(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  timeZone: z.string(),
  /** Null: the tick calls functionUrl. */
  target: scheduleTargetSchema.nullable(),
  overlap: z.enum(['skip', 'queue']),
});
export type Schedule = z.infer<typeof scheduleSchema>;

export const listSchedulesResponseSchema = z.array(scheduleSchema);
export const scheduleParamsSchema = z.object({ id: z.uuid() });

export const scheduleChangedResponseSchema = z.object({
  id: z.uuid(),
  cronJobId: z.string(),
  message: z.string(),
});
export const scheduleDeletedResponseSchema = z.object({ message: z.string() });

export const scheduleRunStatusSchema = z.enum([
  'queued',
  'running',
  'succeeded',
  'failed',
  'skipped',
]);

/** One run (InsForge's execution log, plus Kiln's status, tick and whether it was run now). */
export const scheduleLogSchema = z.object({
  id: z.uuid(),
  scheduleId: z.uuid(),
  executedAt: z.iso.datetime(),
  /** HTTP status of the answer (SQL: 200 / 500; not finished: 0). */
  statusCode: z.number().int(),
  success: z.boolean(),
  durationMs: z.number().int(),
  /** The start of the answer, the error, or why the tick was skipped. */
  message: z.string().nullable(),
  status: scheduleRunStatusSchema,
  tick: z.iso.datetime().nullable(),
});
export type ScheduleLog = z.infer<typeof scheduleLogSchema>;

export const scheduleLogsQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});
export const listScheduleLogsResponseSchema = z.object({
  logs: z.array(scheduleLogSchema),
  totalCount: z.number().int(),
  limit: z.number().int(),
  offset: z.number().int(),
});

export const schedulesConfigSchema = z.object({
  retentionDays: z.number().int().positive().nullable(),
});
export const updateSchedulesConfigRequestSchema = schedulesConfigSchema;
export const schedulesConfigUpdatedResponseSchema = z.object({ message: z.string() });

/** GET /api/schedules/preview?cronSchedule&timeZone: the next runs of an expression. */
export const schedulePreviewQuerySchema = z.object({
  cronSchedule: cronScheduleSchema,
  timeZone: z.string().min(1).max(100).default('UTC'),
  count: z.coerce.number().int().min(1).max(20).default(5),
});
export const schedulePreviewResponseSchema = z.object({ nextRuns: z.array(z.iso.datetime()) });

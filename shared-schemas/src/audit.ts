import { z } from 'zod';
import { paginationSchema } from './common.js';

/** GET /api/logs/audits */
export const listAuditLogsQuerySchema = z.object({
  actor: z.string().max(320).optional(),
  action: z.string().max(200).optional(),
  module: z.string().max(100).optional(),
  /** Records at or after this instant. */
  from: z.iso.datetime({ offset: true }).optional(),
  /** Records before this instant. */
  to: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});
export type ListAuditLogsQuery = z.infer<typeof listAuditLogsQuerySchema>;

/** One admin action. `details` holds method, path, status, target and the redacted input. */
export const auditLogEntrySchema = z.object({
  id: z.string(),
  actor: z.string(),
  actorId: z.string().nullable(),
  action: z.string(),
  module: z.string(),
  details: z.record(z.string(), z.unknown()),
  ip: z.string().nullable(),
  /** The same as `ip` (InsForge's name). */
  ipAddress: z.string().nullable(),
  createdAt: z.iso.datetime(),
  /** Records are never changed: always `createdAt` (InsForge's clients read it). */
  updatedAt: z.iso.datetime(),
});
export type AuditLogEntry = z.infer<typeof auditLogEntrySchema>;

export const listAuditLogsResponseSchema = z.object({
  data: z.array(auditLogEntrySchema),
  pagination: paginationSchema,
});
export type ListAuditLogsResponse = z.infer<typeof listAuditLogsResponseSchema>;

/** GET /api/logs/audits/stats */
export const auditStatsQuerySchema = z.object({
  days: z.coerce.number().int().min(1).max(365).default(7),
});

export const auditStatsResponseSchema = z.object({
  days: z.number().int(),
  total: z.number().int(),
  byModule: z.array(z.object({ module: z.string(), count: z.number().int() })),
  /** Days with records only, oldest first (YYYY-MM-DD, UTC). */
  byDay: z.array(z.object({ day: z.string(), count: z.number().int() })),
  /** InsForge's names for the same period: `total`, distinct actors and modules. */
  totalLogs: z.number().int(),
  uniqueActors: z.number().int(),
  uniqueModules: z.number().int(),
  /** `byModule` as an object, module → count. */
  actionsByModule: z.record(z.string(), z.number().int()),
  /** The 10 newest records of the period, newest first. */
  recentActivity: z.array(auditLogEntrySchema),
});
export type AuditStatsResponse = z.infer<typeof auditStatsResponseSchema>;

/** DELETE /api/logs/audits: records before `before`, or (without it) past the retention period. */
export const purgeAuditLogsQuerySchema = z.object({
  before: z.iso.datetime({ offset: true }).optional(),
});

export const purgeAuditLogsResponseSchema = z.object({ deletedCount: z.number().int() });
export type PurgeAuditLogsResponse = z.infer<typeof purgeAuditLogsResponseSchema>;

/** The audit trail's admin API, mounted at /api/logs/audits (before /api/logs). */
import {
  auditStatsQuerySchema,
  auditStatsResponseSchema,
  listAuditLogsQuerySchema,
  listAuditLogsResponseSchema,
  purgeAuditLogsQuerySchema,
  purgeAuditLogsResponseSchema,
} from '@kiln/shared-schemas';
import { route, type RouteGroup } from '../core/route.js';
import type { AuditLog } from './service.js';

export function auditRoutes(audit: AuditLog, retentionDays: number): RouteGroup {
  return {
    tag: 'audit',
    access: 'admin',
    routes: [
      route({
        method: 'get',
        path: '/',
        summary: 'Admin actions, newest first (filter by actor, action, module, from/to)',
        query: listAuditLogsQuerySchema,
        responses: { 200: listAuditLogsResponseSchema },
        handler: ({ query }) => audit.list(query),
      }),
      route({
        method: 'get',
        path: '/stats',
        summary: 'Admin actions of the last days: in all, per module, per day',
        query: auditStatsQuerySchema,
        responses: { 200: auditStatsResponseSchema },
        handler: ({ query }) => audit.stats(query.days),
      }),
      route({
        method: 'delete',
        path: '/',
        summary: 'Purge records before an instant (default: past the retention period)',
        description:
          'The purge itself is recorded afterwards: the trail always says who emptied it.',
        query: purgeAuditLogsQuerySchema,
        responses: { 200: purgeAuditLogsResponseSchema },
        handler: async ({ query }) => ({
          deletedCount: query.before
            ? await audit.purgeBefore(query.before)
            : await audit.prune(retentionDays),
        }),
      }),
    ],
  };
}

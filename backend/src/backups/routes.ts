/** Backups of the embedded PostgreSQL (admin), mounted at /api/backups. See README "Backups and restore". */
import {
  backupIdParamsSchema,
  backupJobParamsSchema,
  backupJobSchema,
  deleteBackupResponseSchema,
  listBackupsResponseSchema,
  restoreBackupRequestSchema,
} from '@kiln/shared-schemas';
import { pipeline } from 'node:stream/promises';
import { auditActor } from '../audit/middleware.js';
import { AppError } from '../core/errors.js';
import { route, type RouteGroup } from '../core/route.js';
import { parseRestoreTarget } from './pitr.js';
import type { BackupService } from './service.js';

export function backupsRoutes(backups: BackupService): RouteGroup {
  return {
    tag: 'backups',
    access: 'admin',
    routes: [
      route({
        method: 'get',
        path: '/',
        summary: 'Base backups, the restorable range and recent backup jobs',
        responses: { 200: listBackupsResponseSchema },
        handler: () => backups.list(),
      }),
      route({
        method: 'post',
        path: '/',
        summary: 'Take a base backup now; answers 202 with a job to poll',
        responses: { 202: backupJobSchema },
        errors: { 409: ['BACKUPS_UNAVAILABLE', 'BACKUP_RUNNING'] },
        handler: () => backups.start(),
      }),
      route({
        method: 'get',
        path: '/jobs/:id',
        summary: 'A backup job: running, done (with the backup) or failed (with the error)',
        params: backupJobParamsSchema,
        responses: { 200: backupJobSchema },
        errors: { 404: ['NOT_FOUND'] },
        handler: ({ params }) => backups.job(params.id),
      }),
      route({
        method: 'post',
        path: '/restore',
        summary:
          'Restore the embedded PostgreSQL to a point in time while Kiln keeps running; answers 202 with a job to poll (requests answer 503 RESTORING meanwhile)',
        body: restoreBackupRequestSchema,
        responses: { 202: backupJobSchema },
        errors: {
          400: ['INVALID_INPUT'],
          409: ['RESTORE_NEEDS_CLI', 'RESTORE_UNAVAILABLE', 'BACKUP_RUNNING', 'RESTORE_RUNNING'],
        },
        handler: ({ body, principal, req }) => {
          const at = new Date();
          const target = parseRestoreTarget(body.to);
          if (!target) {
            throw new AppError(
              400,
              'INVALID_INPUT',
              `"to" must be a date and time like "2026-12-01 10:15:00" (UTC unless a zone is given)`,
            );
          }
          // Recorded in the audit trail once the restore has ended (not by the middleware).
          return backups.restore(target, {
            ...(principal ? auditActor(principal) : { actor: 'admin', actorId: null }),
            ip: req.ip ?? null,
            at,
          });
        },
      }),
      route({
        method: 'delete',
        path: '/:id',
        summary: 'Delete a base backup',
        params: backupIdParamsSchema,
        responses: { 200: deleteBackupResponseSchema },
        errors: { 404: ['NOT_FOUND'] },
        handler: ({ params }) => {
          backups.delete(params.id);
          return { deleted: true as const, id: params.id };
        },
      }),
      route({
        method: 'get',
        path: '/:id/download',
        summary: 'A base backup as a tar stream (manifest.json and data/)',
        params: backupIdParamsSchema,
        responses: { 200: { description: 'tar archive', content: 'bytes' } },
        errors: { 404: ['NOT_FOUND'] },
        handler: async ({ params, res }) => {
          const { stream, name } = backups.download(params.id);
          res.setHeader('Content-Type', 'application/x-tar');
          res.setHeader('Content-Disposition', `attachment; filename="${name}"`);
          await pipeline(stream, res);
        },
      }),
    ],
  };
}

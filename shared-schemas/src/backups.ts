import { z } from 'zod';

/**
 * One backup (GET /api/backups): `physical`, a base backup of the embedded PostgreSQL (with the
 * WAL position fields); `logical`, a pg_dump of an external PostgreSQL plus the storage bytes.
 */
export const baseBackupSchema = z.object({
  id: z.string(),
  kind: z.enum(['physical', 'logical']),
  startedAt: z.iso.datetime(),
  /** The earliest time this backup can restore to. */
  finishedAt: z.iso.datetime(),
  /** Physical backups only. */
  startLsn: z.string().optional(),
  stopLsn: z.string().optional(),
  startWal: z.string().optional(),
  sizeBytes: z.number().int().nonnegative(),
  /** When a throwaway restore of it last succeeded (BACKUP_VERIFY). */
  verifiedAt: z.iso.datetime().optional(),
  /** Where it is: BACKUP_DIR, the off-site bucket (BACKUP_S3_URL) or both (GET /api/backups). */
  location: z.enum(['local', 's3', 'both']).optional(),
});
export type BaseBackupInfo = z.infer<typeof baseBackupSchema>;

/**
 * A backup taken, or a point-in-time restore run, through the API: poll
 * GET /api/backups/jobs/:id until it is done or failed.
 */
export const backupJobSchema = z.object({
  id: z.string(),
  kind: z.enum(['backup', 'restore']),
  /** The current step in words ("Stopping PostgreSQL", "Replaying WAL to …"); null once ended. */
  phase: z.string().nullable(),
  /** The time a restore goes back to; null for backups. */
  target: z.iso.datetime().nullable(),
  /** `verifying`: copied; a throwaway restore of it is running (BACKUP_VERIFY). */
  status: z.enum(['running', 'verifying', 'done', 'failed']),
  startedAt: z.iso.datetime(),
  finishedAt: z.iso.datetime().nullable(),
  /** Bytes copied so far: of the cluster (backup), of the base backup laid down (restore). */
  bytesCopied: z.number().int().nonnegative(),
  /** The backup taken, or the base backup a restore starts from (once chosen). */
  backup: baseBackupSchema.nullable(),
  error: z.string().nullable(),
});
export type BackupJob = z.infer<typeof backupJobSchema>;

export const listBackupsResponseSchema = z.object({
  /** False with an external PostgreSQL or BACKUP_SCHEDULE=off (WAL archiving off). */
  enabled: z.boolean(),
  backups: z.array(baseBackupSchema),
  /** Times a point-in-time restore can reach, or null without backups. */
  restorableRange: z
    .object({ from: z.iso.datetime(), archivedWalBytes: z.number().int().nonnegative() })
    .nullable(),
  /**
   * The off-site copy (BACKUP_S3_URL), or null without one: what is not yet in the bucket and
   * the last failed attempt (cleared once a pass succeeds; failures are retried with backoff).
   */
  offsite: z
    .object({
      target: z.string(),
      pendingWal: z.number().int().nonnegative(),
      pendingBackups: z.number().int().nonnegative(),
      lastUploadAt: z.iso.datetime().nullable(),
      lastError: z.string().nullable(),
      lastErrorAt: z.iso.datetime().nullable(),
    })
    .nullable()
    .optional(),
  /** Backup and restore jobs of this process's life (through the API or BACKUP_SCHEDULE), newest first. */
  jobs: z.array(backupJobSchema),
});
export type ListBackupsResponse = z.infer<typeof listBackupsResponseSchema>;

export const backupIdParamsSchema = z.object({ id: z.string().regex(/^[0-9TZ]{1,40}$/) });
export const backupJobParamsSchema = z.object({ id: z.string().uuid() });

export const restoreBackupRequestSchema = z.object({ to: z.string().min(1).max(100) });

export const deleteBackupResponseSchema = z.object({ deleted: z.literal(true), id: z.string() });

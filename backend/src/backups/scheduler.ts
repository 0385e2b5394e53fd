import { Cron } from 'croner';
import type { Logger } from '../core/logger.js';
import { postgresSystemUser } from '../core/embedded-postgres.js';
import { markVerified, pruneBackups, takeBaseBackup } from './pitr.js';
import { verifyBackup } from './verify.js';
import { pruneLogicalBackups, takeLogicalBackup } from './logical/backups.js';
import type { StorageProvider } from '../storage/providers/provider.js';

/**
 * Scheduled base backups of the embedded server (server.ts starts it when BACKUP_SCHEDULE is
 * not "off"): one backup at a time, then retention. A failed backup is logged and retried at
 * the next tick.
 */
export function scheduleBackups(options: {
  schedule: string;
  retention: number;
  backupDir: string;
  url: string;
  clusterDir: string;
  /** Restore each backup into a throwaway server before counting it (BACKUP_VERIFY). */
  verify: boolean;
  logger: Logger;
}): { stop(): void } {
  let running = false;
  const job = new Cron(options.schedule, { timezone: 'UTC', protect: true }, async () => {
    if (running) return;
    running = true;
    const started = Date.now();
    try {
      let backup = await takeBaseBackup(options);
      if (options.verify) {
        await verifyBackup({
          backupDir: options.backupDir,
          backup,
          password: decodeURIComponent(new URL(options.url).password),
          runAs: postgresSystemUser(),
        });
        backup = markVerified(options.backupDir, backup);
      }
      const removed = pruneBackups(options.backupDir, options.retention);
      options.logger.info('base backup taken', {
        id: backup.id,
        bytes: backup.sizeBytes,
        verified: Boolean(backup.verifiedAt),
        ms: Date.now() - started,
        removed,
      });
    } catch (err) {
      options.logger.error('base backup failed', { error: String(err) });
    } finally {
      running = false;
    }
  });
  return { stop: () => job.stop() };
}

/**
 * Scheduled logical backups of an external PostgreSQL (server.ts, when DATABASE_URL is set and
 * BACKUP_SCHEDULE is not "off"): pg_dump plus the stored objects' bytes, then retention.
 */
export function scheduleLogicalBackups(options: {
  schedule: string;
  retention: number;
  backupDir: string;
  url: string;
  storage: StorageProvider;
  logger: Logger;
}): { stop(): void } {
  let running = false;
  const job = new Cron(options.schedule, { timezone: 'UTC', protect: true }, async () => {
    if (running) return;
    running = true;
    const started = Date.now();
    try {
      const backup = await takeLogicalBackup(options);
      const removed = pruneLogicalBackups(options.backupDir, options.retention);
      options.logger.info('logical backup taken', {
        id: backup.id,
        bytes: backup.sizeBytes,
        objects: backup.storage.objects,
        ms: Date.now() - started,
        removed,
      });
    } catch (err) {
      options.logger.error('logical backup failed', { error: String(err) });
    } finally {
      running = false;
    }
  });
  return { stop: () => job.stop() };
}

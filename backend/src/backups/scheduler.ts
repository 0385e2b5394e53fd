import { Cron } from 'croner';
import type { Logger } from '../core/logger.js';
import { pruneBackups, takeBaseBackup } from './pitr.js';

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
  logger: Logger;
}): { stop(): void } {
  let running = false;
  const job = new Cron(options.schedule, { timezone: 'UTC', protect: true }, async () => {
    if (running) return;
    running = true;
    const started = Date.now();
    try {
      const backup = await takeBaseBackup(options);
      const removed = pruneBackups(options.backupDir, options.retention);
      options.logger.info('base backup taken', {
        id: backup.id,
        bytes: backup.sizeBytes,
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

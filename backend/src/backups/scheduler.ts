import crypto from 'node:crypto';
import os from 'node:os';
import { Cron } from 'croner';
import { AppError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { BackupService } from './service.js';
import { scheduledTick } from './ticks.js';

/**
 * Scheduled backups (BACKUP_SCHEDULE, UTC; app.ts starts it for server.ts): each tick starts a
 * backup through {@link BackupService.start}, exactly as POST /api/backups does, so a scheduled
 * run is a job in the admin API with its phase and progress, shares the one running slot with
 * manual backups and restores, and is taken, verified, pruned and copied off-site by the same
 * code. The service picks the kind: a base backup of the embedded server, or a logical backup
 * of an external PostgreSQL. A tick while a backup or restore runs is skipped (logged); a failed
 * backup is the job's error (and logged), and the next tick tries again.
 *
 * Every instance sharing the database runs the schedule; each tick's backup is taken once: the
 * instance that claims the tick in the database takes it, the others skip it (ticks.ts).
 */
export class BackupScheduler {
  private cron: Cron | undefined;
  /** This instance, as its tick claims name it. */
  private readonly instance = `${os.hostname()} pid ${process.pid} ${crypto.randomUUID()}`;

  constructor(
    private readonly options: {
      schedule: string;
      backups: BackupService;
      logger: Logger;
    },
  ) {}

  /** Starts ticking on the schedule. */
  start(): void {
    this.cron ??= new Cron(
      this.options.schedule,
      { timezone: 'UTC' },
      () => void this.runNow(scheduledTick(this.options.schedule, new Date())),
    );
  }

  stop(): void {
    this.cron?.stop();
    this.cron = undefined;
  }

  /**
   * The run of the tick scheduled for `tick` (what each tick does; every instance names a tick
   * by the same time): the job started, or undefined when it was skipped because another
   * instance took the tick or another job runs here, or failed to start (logged either way).
   */
  async runNow(tick: Date = new Date()): Promise<{ id: string } | undefined> {
    const { backups, logger } = this.options;
    try {
      const job = await backups.start({ tick, instance: this.instance });
      logger.info('scheduled backup started', { job: job.id, tick: tick.toISOString() });
      return job;
    } catch (err) {
      if (
        err instanceof AppError &&
        (err.code === 'BACKUP_RUNNING' || err.code === 'BACKUP_TICK_TAKEN')
      ) {
        logger.info('scheduled backup skipped', { reason: err.message });
      } else if (err instanceof AppError) {
        logger.warn('scheduled backup not taken', { code: err.code, reason: err.message });
      } else {
        logger.error('scheduled backup failed to start', { error: String(err) });
      }
      return undefined;
    }
  }
}

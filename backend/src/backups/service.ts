import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import pg from 'pg';
import type { BackupJob, ListBackupsResponse } from '@kiln/shared-schemas';
import { AppError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { SAFE_SEARCH_PATH_OPTIONS } from '../core/search-path.js';
import { tarDirectory } from './tar.js';
import { postgresSystemUser } from '../core/embedded-postgres.js';
import {
  deleteBackup,
  listBackups,
  markVerified,
  pruneBackups,
  takeBaseBackup,
  walDir,
} from './pitr.js';
import type { LiveRestore } from './live-restore.js';
import type { OffsiteCopier } from './offsite.js';
import { claimBackupTick } from './ticks.js';
import { verifyBackup } from './verify.js';
import {
  deleteLogicalBackup,
  findLogicalBackup,
  listLogicalBackups,
  logicalBackupInfo,
  pruneLogicalBackups,
  takeLogicalBackup,
} from './logical/backups.js';
import type { StorageProvider } from '../storage/providers/provider.js';
import type { AuditEntry } from '../audit/service.js';

/** Who asked for a restore, for its audit record (audit/middleware.ts auditActor). */
export interface RestoreRequester {
  actor: string;
  actorId: string | null;
  ip: string | null;
  /** When it was asked for. */
  at: Date;
}

/** Jobs listed by GET /api/backups (the newest; a running one is always among them). */
const JOBS_KEPT = 50;

/** A job as kept here: its progress object is shared with the copy that moves it. */
type Job = BackupJob & { progress: { bytes: number } };

/**
 * The admin API's side of backups (routes.ts). Backups are possible when Kiln's database is the
 * embedded server in this DATA_DIR (its data_directory is DATA_DIR/postgres) with WAL archiving
 * on; otherwise listing answers `enabled: false` and taking one answers 409.
 */
export class BackupService {
  private readonly jobs = new Map<string, Job>();
  private running: string | undefined;

  constructor(
    private readonly options: {
      databaseUrl: string;
      dataDir: string;
      backupDir: string;
      retention: number;
      /** Restore each backup into a throwaway server before calling it done (BACKUP_VERIFY). */
      verify: boolean;
      /** A logical backup fails after this long without a byte from the server (a hung connection). */
      dumpIdleTimeoutMs: number;
      logger: Logger;
      /** Point-in-time restores while running: only when this process started the server. */
      live?: LiveRestore;
      /** The off-site copy of BACKUP_DIR (BACKUP_S3_URL). */
      offsite?: OffsiteCopier;
      /**
       * The stored objects' bytes, for logical backups: taken instead of base backups when the
       * database is not the embedded server (logical/backups.ts).
       */
      storage?: StorageProvider;
      /**
       * The audit trail: a restore is recorded once it has ended, in the database it left
       * (a record written before would be rolled back by the restore itself).
       */
      audit?: { record(entry: AuditEntry): Promise<void> };
    },
  ) {}

  /** The embedded cluster's directory when backups are possible, else undefined. */
  private async cluster(): Promise<string | undefined> {
    const own = path.join(this.options.dataDir, 'postgres');
    if (!fs.existsSync(path.join(own, 'PG_VERSION'))) return undefined;
    const client = new pg.Client({
      connectionString: this.options.databaseUrl,
      options: SAFE_SEARCH_PATH_OPTIONS,
    });
    await client.connect();
    try {
      const { rows } = await client.query<{ dir: string; archive: string }>(
        `SELECT current_setting('data_directory') AS dir, current_setting('archive_mode') AS archive`,
      );
      const row = rows[0]!;
      return row.archive !== 'off' && row.dir === fs.realpathSync(own) ? row.dir : undefined;
    } catch {
      return undefined; // not a superuser: not Kiln's own server
    } finally {
      await client.end();
    }
  }

  private publicJob(job: Job): BackupJob {
    const { progress, ...rest } = job;
    // Base backups' manifests (pitr.ts) predate `kind`.
    const backup = rest.backup ? Object.assign({ kind: 'physical' as const }, rest.backup) : null;
    return { ...rest, backup, bytesCopied: progress.bytes };
  }

  async list(): Promise<ListBackupsResponse> {
    const enabled = (await this.cluster()) !== undefined;
    const backups = listBackups(this.options.backupDir);
    const wal = walDir(this.options.backupDir);
    const archivedWalBytes = fs.existsSync(wal)
      ? fs.readdirSync(wal).reduce((n, f) => n + fs.statSync(path.join(wal, f)).size, 0)
      : 0;
    const logical = listLogicalBackups(this.options.backupDir).map(logicalBackupInfo);
    // With an off-site copy: where each backup is, and base backups only the bucket holds.
    const offsite = this.options.offsite;
    const physical = [
      ...backups.map((b) => ({ ...b, location: offsite?.location('base', b.id, true) })),
      ...(offsite?.remoteOnlyBackups() ?? []).map((b) => ({ ...b, location: 's3' as const })),
    ].sort((a, b) => a.finishedAt.localeCompare(b.finishedAt));
    return {
      enabled: enabled || (await this.logicalPossible()),
      backups: [
        ...physical.map((b) => ({ ...b, kind: 'physical' as const })),
        ...logical.map((b) => ({ ...b, location: offsite?.location('logical', b.id, true) })),
      ],
      restorableRange: physical.length ? { from: physical[0]!.finishedAt, archivedWalBytes } : null,
      offsite: offsite?.status() ?? null,
      jobs: [...this.jobs.values()].reverse().map((j) => this.publicJob(j)),
    };
  }

  job(id: string): BackupJob {
    const job = this.jobs.get(id);
    if (!job) throw new AppError(404, 'NOT_FOUND', `No backup job ${id}`);
    return this.publicJob(job);
  }

  /**
   * Logical backups are taken when the database is not the embedded server of this DATA_DIR
   * (an external PostgreSQL; managed services do point-in-time recovery themselves).
   */
  private async logicalPossible(): Promise<boolean> {
    if (!this.options.storage) return false;
    const own = path.join(this.options.dataDir, 'postgres');
    if (!fs.existsSync(path.join(own, 'PG_VERSION'))) return true;
    const client = new pg.Client({
      connectionString: this.options.databaseUrl,
      options: SAFE_SEARCH_PATH_OPTIONS,
    });
    await client.connect();
    try {
      const { rows } = await client.query<{ dir: string }>(
        `SELECT current_setting('data_directory') AS dir`,
      );
      return rows[0]!.dir !== fs.realpathSync(own);
    } catch {
      return true; // not a superuser: not Kiln's own server
    } finally {
      await client.end();
    }
  }

  /** Starts a logical backup (pg_dump and the storage bytes); answers at once with the job. */
  private startLogical(storage: StorageProvider): BackupJob {
    return this.launch(
      { kind: 'backup', phase: 'Dumping the database and copying stored objects' },
      'logical backup failed',
      async (job) => {
        const manifest = await takeLogicalBackup({
          url: this.options.databaseUrl,
          backupDir: this.options.backupDir,
          storage,
          progress: job.progress,
          idleTimeoutMs: this.options.dumpIdleTimeoutMs,
        });
        job.backup = logicalBackupInfo(manifest);
        pruneLogicalBackups(this.options.backupDir, this.options.retention);
      },
    );
  }

  /**
   * Records a job, runs `work` in the background (it moves the job's phase and progress and sets
   * its backup) and answers at once with the job to poll: done when `work` resolves, failed with
   * its error when it throws. One job runs at a time (409 BACKUP_RUNNING).
   */
  private launch(
    start: {
      kind: BackupJob['kind'];
      phase: string;
      target?: string;
      backup?: BackupJob['backup'];
    },
    failure: string,
    work: (job: Job) => Promise<void>,
  ): BackupJob {
    this.refuseWhileRunning();
    const job: Job = {
      id: crypto.randomUUID(),
      kind: start.kind,
      phase: start.phase,
      target: start.target ?? null,
      status: 'running',
      startedAt: new Date().toISOString(),
      finishedAt: null,
      bytesCopied: 0,
      backup: start.backup ?? null,
      error: null,
      progress: { bytes: 0 },
    };
    this.jobs.set(job.id, job);
    // Scheduled runs add up over a process's life: the newest JOBS_KEPT stay listed.
    for (const id of [...this.jobs.keys()].slice(0, Math.max(0, this.jobs.size - JOBS_KEPT)))
      this.jobs.delete(id);
    this.running = job.id;
    void work(job)
      .then(() => {
        job.status = 'done';
        this.options.logger.info(`${job.kind} job done`, {
          job: job.id,
          backup: job.backup?.id,
          kind: job.backup?.kind,
          bytes: job.progress.bytes,
          verified: Boolean(job.backup?.verifiedAt),
          ms: Date.now() - Date.parse(job.startedAt),
        });
      })
      .catch((err: unknown) => {
        job.status = 'failed';
        job.error = err instanceof Error ? err.message : String(err);
        this.options.logger.error(failure, { error: job.error });
      })
      .finally(() => {
        job.finishedAt = new Date().toISOString();
        job.phase = null;
        this.running = undefined;
      });
    return this.publicJob(job);
  }

  /** 409 BACKUP_RUNNING while any job (backup or restore) holds the running slot. */
  private refuseWhileRunning(): void {
    if (this.running) {
      throw new AppError(409, 'BACKUP_RUNNING', `Backup job ${this.running} is still running`);
    }
  }

  /**
   * Starts a backup, through the API or on BACKUP_SCHEDULE (scheduler.ts): a base backup of the
   * embedded server (verified when BACKUP_VERIFY), or a logical one of an external PostgreSQL;
   * then retention. Answers at once with the job to poll. A scheduled run names its tick: it
   * starts only if this instance claims the tick (409 BACKUP_TICK_TAKEN otherwise).
   */
  async start(scheduled?: { tick: Date; instance: string }): Promise<BackupJob> {
    // Before anything touches the database (a restore may have it stopped).
    this.refuseWhileRunning();
    const clusterDir = await this.cluster();
    const logical = !clusterDir && this.options.storage && (await this.logicalPossible());
    if (!clusterDir && !logical) {
      throw new AppError(
        409,
        'BACKUPS_UNAVAILABLE',
        'Base backups need the embedded PostgreSQL with WAL archiving on (no DATABASE_URL, BACKUP_SCHEDULE not "off")',
      );
    }
    // A scheduled tick is taken by one instance of those sharing the database (ticks.ts).
    if (
      scheduled &&
      !(await claimBackupTick(
        this.options.databaseUrl,
        scheduled.tick,
        clusterDir ? 'physical' : 'logical',
        scheduled.instance,
      ))
    ) {
      throw new AppError(
        409,
        'BACKUP_TICK_TAKEN',
        `The scheduled backup of ${scheduled.tick.toISOString()} is taken by another instance`,
      );
    }
    if (!clusterDir) return this.startLogical(this.options.storage!);
    return this.launch(
      { kind: 'backup', phase: 'Copying the cluster' },
      'base backup failed',
      async (job) => {
        let backup = await takeBaseBackup({
          url: this.options.databaseUrl,
          clusterDir,
          backupDir: this.options.backupDir,
          progress: job.progress,
        });
        if (this.options.verify) {
          job.status = 'verifying';
          job.phase = 'Verifying: restoring the backup into a throwaway server';
          await verifyBackup({
            backupDir: this.options.backupDir,
            backup,
            password: decodeURIComponent(new URL(this.options.databaseUrl).password),
            runAs: postgresSystemUser(),
          });
          backup = markVerified(this.options.backupDir, backup);
        }
        job.backup = { ...backup, kind: 'physical' };
        pruneBackups(this.options.backupDir, this.options.retention);
      },
    );
  }

  /**
   * Starts a point-in-time restore to `target` while Kiln keeps running (live-restore.ts);
   * answers at once with the job to poll. Refused before anything stops: 409 without a server of
   * this process's own or while a backup or restore runs, 400 outside the restorable range.
   */
  async restore(target: Date, requester?: RestoreRequester): Promise<BackupJob> {
    const live = this.options.live;
    if (!live) {
      if (await this.cluster().catch(() => undefined)) {
        throw new AppError(
          409,
          'RESTORE_NEEDS_CLI',
          'This PostgreSQL was not started by this Kiln process, so it cannot be restored while running',
          `Stop Kiln, then run: pnpm kiln restore --to "${target.toISOString()}"`,
        );
      }
      throw new AppError(
        409,
        'RESTORE_UNAVAILABLE',
        'Point-in-time restore covers the embedded PostgreSQL only: with an external database (DATABASE_URL), restore with your provider’s point-in-time recovery',
        'Use your provider’s PITR, or restore a logical backup into an empty database: pnpm kiln restore --logical <id> --database-url <url>',
      );
    }
    this.refuseWhileBusy();
    // The range the listing shows: base backups here and those only the bucket holds (the
    // restore fetches what BACKUP_DIR lacks).
    const backups = [
      ...listBackups(this.options.backupDir),
      ...(this.options.offsite?.remoteOnlyBackups() ?? []),
    ].sort((a, b) => a.finishedAt.localeCompare(b.finishedAt));
    const from = backups[0]?.finishedAt;
    if (!from || target.getTime() <= Date.parse(from) || target.getTime() > Date.now()) {
      throw new AppError(
        400,
        'INVALID_INPUT',
        from
          ? `${target.toISOString()} is outside the restorable range: from ${from} to now`
          : 'There are no base backups to restore from',
        from ? undefined : 'Take a base backup first: POST /api/backups',
      );
    }
    const base = backups.filter((b) => Date.parse(b.finishedAt) < target.getTime()).at(-1)!;
    return this.launch(
      {
        kind: 'restore',
        phase: 'Starting',
        target: target.toISOString(),
        backup: { ...base, kind: 'physical' },
      },
      'point-in-time restore failed',
      async (job) => {
        live.begin(job.id);
        let error: string | undefined;
        try {
          await live.run(target, {
            get bytes() {
              return job.progress.bytes;
            },
            set bytes(n: number) {
              job.progress.bytes = n;
            },
            setPhase: (phase) => {
              job.phase = phase;
            },
          });
        } catch (err) {
          error = err instanceof Error ? err.message : String(err);
          throw err;
        } finally {
          // The job ends once its record is written: a poll that sees it ended finds the record.
          if (requester) await this.recordRestore(job, base.id, requester, error);
        }
      },
    );
  }

  /** The audit record of a restore that has ended, in the database as the restore left it. */
  private async recordRestore(
    job: Job,
    backupId: string,
    requester: RestoreRequester,
    error: string | undefined,
  ): Promise<void> {
    await this.options.audit?.record({
      actor: requester.actor,
      actorId: requester.actorId,
      module: 'backups',
      action: 'RESTORE_DATABASE',
      ip: requester.ip,
      at: requester.at,
      details: {
        method: 'POST',
        path: '/api/backups/restore',
        target: job.target,
        job: job.id,
        backup: backupId,
        outcome: error === undefined ? 'done' : 'failed',
        ...(error === undefined ? {} : { error }),
        requestedAt: requester.at.toISOString(),
        endedAt: new Date().toISOString(),
      },
    });
  }

  /** 409 while a backup (through the API or scheduled) or a restore runs. */
  private refuseWhileBusy(): void {
    const running = this.running ? this.jobs.get(this.running) : undefined;
    if (running?.kind === 'restore') {
      throw new AppError(409, 'RESTORE_RUNNING', `Restore job ${running.id} is still running`);
    }
    this.refuseWhileRunning();
  }

  delete(id: string): void {
    const offsite = this.options.offsite;
    const inBucket = (kind: string) => offsite?.location(kind, id, false) === 's3';
    let kind = 'logical';
    if (!deleteLogicalBackup(this.options.backupDir, id) && !inBucket(kind)) {
      kind = 'base';
      if (!deleteBackup(this.options.backupDir, id) && !inBucket(kind)) {
        throw new AppError(404, 'NOT_FOUND', `No backup ${id}`);
      }
    }
    // The bucket's copy goes too, in the background (a failure is logged).
    if (inBucket(kind)) {
      void offsite!.deleteBackup(kind, id).catch((err: unknown) => {
        this.options.logger.error('deleting the off-site copy of a backup failed', {
          id,
          error: String(err),
        });
      });
    }
  }

  /** A tar stream of one base backup (manifest.json and data/). */
  download(id: string): { stream: Readable; name: string } {
    const logical = findLogicalBackup(this.options.backupDir, id);
    if (logical) {
      const name = `kiln-logical-backup-${id}`;
      return { stream: tarDirectory(logical, name), name: `${name}.tar` };
    }
    const dir = path.join(this.options.backupDir, 'base', id);
    if (!/^[0-9TZ]+$/.test(id) || !fs.existsSync(path.join(dir, 'manifest.json'))) {
      throw new AppError(404, 'NOT_FOUND', `No backup ${id}`);
    }
    return { stream: tarDirectory(dir, `kiln-backup-${id}`), name: `kiln-backup-${id}.tar` };
  }
}

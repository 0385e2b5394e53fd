/**
 * Point-in-time restore while Kiln keeps running (POST /api/backups/restore), possible when the
 * database is the embedded PostgreSQL this process started (server.ts hands over an
 * {@link EmbeddedServerControl}). The steps, each shown as the job's `phase`:
 *
 * 1. the {@link MaintenanceGate} closes: every request but health, the job poll (and another
 *    restore request, answered 409) and the built pages answers 503 `RESTORING` with Retry-After, and `/health/ready` is 503; requests already
 *    in flight get a bounded time to finish;
 * 2. a transaction commits after the target and the WAL is switched and archived, so that the
 *    archive holds everything up to the target (recovery needs a commit past the target to stop
 *    at it);
 * 3. the embedded server stops (scheduled backups wait: the restore holds BackupService's one
 *    running slot, so a tick meanwhile is skipped); pitr.ts `restoreToTime` lays down the base
 *    backup, replays the archived WAL to the target and promotes, on a port of its own (a failed
 *    recovery puts the previous data directory back); the server starts again on its own port;
 * 4. whatever caches database state reloads (`afterRestart`), and the gate opens.
 *
 * Nothing keeps a connection to the old server: stopping PostgreSQL ends every connection. The
 * pools drop the dead idle clients and open new ones on demand; the LISTEN connections (realtime,
 * schema cache, credentials) and the job workers ride the outage out and reconnect by themselves
 * with backoff (core/listener.ts; the same path as any PostgreSQL restart, tested in
 * realtime-outage.test.ts).
 */
import net from 'node:net';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import pg from 'pg';
import { AppError } from '../core/errors.js';
import type { RunAs } from '../core/embedded-postgres.js';
import type { Logger } from '../core/logger.js';
import { SAFE_SEARCH_PATH_OPTIONS } from '../core/search-path.js';
import { restoreToTime } from './pitr.js';

/** What server.ts lets a live restore do with the embedded server it started. */
export interface EmbeddedServerControl {
  /** DATA_DIR/postgres. */
  dataDir: string;
  backupDir: string;
  port: number;
  password: string;
  runAs: RunAs | undefined;
  /** A superuser URL of the running server (WAL switch, archiver status). */
  superuserUrl: string;
  onLog?: (line: string) => void;
  /** Stops the server. */
  stop(): Promise<void>;
  /** Starts the server again with its usual settings. */
  start(): Promise<void>;
}

/** Seconds a client is told to wait before trying again while a restore runs. */
const RETRY_AFTER_SECONDS = 5;
/** Paths answered as usual while a restore runs (no database behind them). */
const OPEN_PATHS = /^\/(?:api\/health|health\/live)\/?$/;
const JOB_POLL = /^\/api\/backups\/jobs\/[^/]+\/?$/;
const RESTORE = /^\/api\/backups\/restore\/?$/;
const PAGES = /^\/(?:dashboard|auth)(?:\/|$)/;

/**
 * While closed, requests answer 503 `RESTORING` (the contract's envelope, or PostgREST's shape on
 * the records paths, through the usual error handlers) except the few that need no database.
 * Counts the requests it lets through, so a restore can wait for them before the server stops.
 */
export class MaintenanceGate {
  private closedFor: string | undefined;
  private inFlight = 0;
  private idle: (() => void)[] = [];

  /** The restore job that holds the gate closed, if any. */
  get closedBy(): string | undefined {
    return this.closedFor;
  }

  close(jobId: string): void {
    this.closedFor = jobId;
  }

  open(): void {
    this.closedFor = undefined;
  }

  /** Resolves when no request let through before is still running, or after `timeoutMs`. */
  async drained(timeoutMs: number): Promise<boolean> {
    if (this.inFlight === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const done = await Promise.race([
      new Promise<boolean>((resolve) => this.idle.push(() => resolve(true))),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    return done;
  }

  /**
   * The 503 RESTORING answer while closed, else undefined: for HTTP requests (the middleware)
   * and new realtime connections (realtime/server.ts refuses their handshakes with it).
   */
  refusal(): AppError | undefined {
    if (this.closedFor === undefined) return undefined;
    return new AppError(
      503,
      'RESTORING',
      'A point-in-time restore of the database is running; Kiln answers again when it ends',
      `Wait ${RETRY_AFTER_SECONDS} s (the Retry-After header), then try again (restore job ${this.closedFor}: GET /api/backups/jobs/${this.closedFor})`,
    );
  }

  readonly middleware: RequestHandler = (req: Request, res: Response, next: NextFunction) => {
    const refused = this.refusal();
    if (refused && !this.passes(req)) {
      res.setHeader('Retry-After', String(RETRY_AFTER_SECONDS));
      if (req.path === '/health/ready') {
        res.status(503).json({ status: 'unavailable', database: 'unknown', reason: 'restoring' });
        return;
      }
      next(refused);
      return;
    }
    this.inFlight += 1;
    res.once('close', () => {
      this.inFlight -= 1;
      if (this.inFlight === 0) for (const resolve of this.idle.splice(0)) resolve();
    });
    next();
  };

  private passes(req: Request): boolean {
    const p = req.path;
    if (OPEN_PATHS.test(p)) return true;
    // Another restore is answered by the service, without the database (409 RESTORE_RUNNING).
    if (req.method === 'POST' && RESTORE.test(p)) return true;
    const read = req.method === 'GET' || req.method === 'HEAD';
    return read && (JOB_POLL.test(p) || PAGES.test(p));
  }
}

/** How long the WAL switched before a restore may take to reach the archive. */
const ARCHIVE_TIMEOUT_MS = 60_000;

/**
 * Makes the archive hold everything up to `target`: waits until PostgreSQL's clock is past it,
 * commits a transaction (recovery to a time stops at the first commit after it, and fails if
 * the archive ends before one), switches to a new WAL file and waits until the finished one is
 * archived.
 */
async function archiveUpTo(url: string, target: Date): Promise<void> {
  const client = new pg.Client({ connectionString: url, options: SAFE_SEARCH_PATH_OPTIONS });
  await client.connect();
  try {
    for (;;) {
      const { rows } = await client.query<{ past: boolean }>(
        `SELECT pg_catalog.clock_timestamp() > $1::timestamptz AS past`,
        [target.toISOString()],
      );
      if (rows[0]!.past) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await client.query('SELECT pg_catalog.pg_current_xact_id()');
    const { rows } = await client.query<{ wal: string }>(
      `SELECT pg_catalog.pg_walfile_name(pg_catalog.pg_switch_wal()) AS wal`,
    );
    const wal = rows[0]!.wal;
    const deadline = Date.now() + ARCHIVE_TIMEOUT_MS;
    for (;;) {
      const { rows: archiver } = await client.query<{ last: string | null; failed: string | null }>(
        `SELECT last_archived_wal AS last, last_failed_wal AS failed FROM pg_catalog.pg_stat_archiver`,
      );
      const last = archiver[0]?.last;
      if (last && last >= wal) return;
      if (Date.now() > deadline) {
        throw new Error(
          `WAL file ${wal} was not archived within ${ARCHIVE_TIMEOUT_MS / 1000} s` +
            (archiver[0]?.failed ? ` (archiving ${archiver[0].failed} failed)` : ''),
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A free loopback port, for the recovery server. */
function loopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface RestoreProgress {
  /** Bytes of the base backup laid down so far. */
  bytes: number;
  setPhase(phase: string): void;
}

/** Runs live restores: see the file's comment. One at a time (BackupService enforces it). */
export class LiveRestore {
  constructor(
    private readonly options: {
      control: EmbeddedServerControl;
      gate: MaintenanceGate;
      /** Longest wait for in-flight requests before the server stops anyway. */
      drainMs: number;
      /** Reloads what caches database state (schema cache, keys, settings). */
      afterRestart: () => Promise<void>;
      logger: Logger;
    },
  ) {}

  /** Closes the gate at once (synchronously): requests after this call answer 503. */
  begin(jobId: string): void {
    this.options.gate.close(jobId);
  }

  /**
   * Runs the restore the gate was closed for by {@link begin}; the gate opens when it ends, also
   * when it fails (a failed recovery leaves the previous data, and the server is started again).
   */
  async run(target: Date, progress: RestoreProgress): Promise<void> {
    const { control, gate, logger } = this.options;
    let stopped = false;
    try {
      progress.setPhase('Waiting for requests in flight to finish');
      if (!(await gate.drained(this.options.drainMs)))
        logger.warn('restore: requests still running after the drain time; stopping anyway');
      progress.setPhase('Archiving the latest WAL');
      await archiveUpTo(control.superuserUrl, target);
      progress.setPhase('Stopping PostgreSQL');
      stopped = true;
      await control.stop();
      let failure: unknown;
      const result = await restoreToTime({
        dataDir: control.dataDir,
        backupDir: control.backupDir,
        target,
        // Recovery runs on a port of its own: Kiln's pools and listeners, retrying meanwhile,
        // cannot reach the half-recovered server (nor fill its log with their attempts).
        port: await loopbackPort(),
        password: control.password,
        runAs: control.runAs,
        onLog: control.onLog,
        progress,
        onPhase: (phase) => progress.setPhase(phase),
      }).catch((err: unknown) => {
        failure = err;
        return undefined;
      });
      progress.setPhase('Starting PostgreSQL');
      await control.start();
      stopped = false;
      progress.setPhase('Reloading the schema cache and settings');
      await this.options.afterRestart();
      if (failure) throw failure;
      logger.info('restored to a point in time', {
        target: result!.target,
        backup: result!.backup.id,
        previousDataDir: result!.previousDataDir,
      });
    } finally {
      if (stopped) {
        // Stopped and not started again (a start failed): try once more so Kiln serves.
        await control
          .start()
          .catch((err: unknown) =>
            logger.error('restore: PostgreSQL did not start again', { error: String(err) }),
          );
      }
      gate.open();
    }
  }
}

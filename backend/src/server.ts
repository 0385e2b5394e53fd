/**
 * Process entry: config → (embedded PostgreSQL when no DATABASE_URL) → createApp → listen →
 * graceful shutdown on SIGINT/SIGTERM, and on an uncaught exception (core/process-errors.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import dotenv from 'dotenv';
import { createApp, type KilnApp } from './app.js';
import { ConfigError, loadConfig } from './core/config.js';
import { walArchiveSettings } from './backups/pitr.js';
import type { EmbeddedServerControl } from './backups/live-restore.js';
import {
  postgresSystemUser,
  startEmbeddedPostgres,
  type RunningPostgres,
} from './core/embedded-postgres.js';
import { claimDataDir, loadOrCreateLocalSecrets, secureDataDir } from './core/local-state.js';
import { createLogger, closeLogger } from './core/logger.js';
import { installProcessErrorPolicy, processErrorPolicy } from './core/process-errors.js';
import { postgresOutput, sourceLogger } from './logs/index.js';

function readVersion(): string {
  const pkg = fileURLToPath(new URL('../package.json', import.meta.url));
  return (JSON.parse(fs.readFileSync(pkg, 'utf8')) as { version: string }).version;
}

async function main(): Promise<void> {
  dotenv.config({ quiet: true });
  let config;
  try {
    config = loadConfig(process.env, readVersion());
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }

  // Everything Kiln (and the Deno processes it starts) creates is its own user's alone: files
  // 0600, folders 0700. An older DATA_DIR with wider modes is tightened before anything is
  // written to it (the embedded PostgreSQL cluster keeps its own modes).
  process.umask(0o077);
  let secured: ReturnType<typeof secureDataDir>;
  try {
    secured = secureDataDir(config.dataDir);
  } catch (err) {
    console.error(`DATA_DIR ${config.dataDir} cannot be prepared: ${String(err)}`);
    process.exit(1);
  }

  const logger = createLogger({
    level: config.logLevel,
    dir: path.join(config.dataDir, 'logs'),
    stdout: config.logToStdout,
    maxBytes: config.logs.fileMaxBytes,
    maxFiles: config.logs.fileMaxFiles,
  });
  if (secured.tightened)
    logger.info(
      `DATA_DIR: took group and other permissions off ${secured.tightened} files and folders (Kiln's files are 0600, folders 0700)`,
    );
  if (secured.failed.length)
    logger.warn('DATA_DIR: could not make these private to Kiln’s user', {
      paths: secured.failed.slice(0, 20),
    });
  // The embedded server's own output: postgres.logs (DATA_DIR/logs/postgres.log).
  const postgresLogger = sourceLogger(config, 'postgres.logs');

  let embedded: RunningPostgres | undefined;
  let embeddedControl: EmbeddedServerControl | undefined;
  let releaseDataDir: (() => void) | undefined;
  let app: KilnApp | undefined;
  let stopping = false;

  const shutdown = async (signal: string, code = 0) => {
    if (stopping) {
      logger.warn('second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info('shutting down', { signal });
    try {
      await app?.close();
      await embedded?.stop();
      await closeLogger(postgresLogger);
      logger.info('stopped');
    } catch (err) {
      logger.error('error during shutdown', { error: String(err) });
      code = 1;
    } finally {
      releaseDataDir?.();
      await closeLogger(logger);
      process.exit(code);
    }
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  // What no code caught: an exception ends the process after this shutdown, a rejection is
  // logged (core/process-errors.ts).
  installProcessErrorPolicy(
    processErrorPolicy({
      logger,
      shutdown,
      // The shutdown drains requests, the scheduler and the jobs worker for up to the timeout each.
      forceExitMs: 3 * config.shutdownTimeoutMs + 5000,
    }),
  );

  try {
    const local = loadOrCreateLocalSecrets(config.dataDir);
    config = {
      ...config,
      jwtSecret: config.jwtSecret ?? local.jwtSecret,
      adminPassword: config.adminPassword ?? local.adminPassword,
    };

    if (!config.databaseUrl) {
      releaseDataDir = claimDataDir(config.dataDir);
      const started = Date.now();
      const embeddedOptions = {
        dataDir: path.join(config.dataDir, 'postgres'),
        port: config.embeddedPostgresPort,
        password: local.postgresPassword,
        database: 'kiln',
        onLog: postgresOutput(postgresLogger),
        // Continuous WAL archiving: with the scheduled base backups, restore to any time.
        settings: config.backupSchedule
          ? walArchiveSettings(config.backupDir, postgresSystemUser())
          : {},
      };
      embedded = await startEmbeddedPostgres(embeddedOptions);
      // A point-in-time restore through the admin API stops and starts this server
      // (backups/live-restore.ts); it needs WAL archiving, as backups do.
      if (config.backupSchedule) {
        const running = embedded;
        embeddedControl = {
          dataDir: embeddedOptions.dataDir,
          backupDir: config.backupDir,
          port: embeddedOptions.port,
          password: embeddedOptions.password,
          runAs: running.runAs,
          superuserUrl: running.urlFor('postgres'),
          onLog: embeddedOptions.onLog,
          stop: async () => {
            const server = embedded;
            embedded = undefined;
            await server?.stop();
          },
          start: async () => {
            if (embedded) return;
            embedded = await startEmbeddedPostgres(embeddedOptions);
          },
        };
      }
      config = { ...config, databaseUrl: embedded.url };
      logger.info('embedded PostgreSQL ready', {
        port: config.embeddedPostgresPort,
        dataDir: path.join(config.dataDir, 'postgres'),
        ms: Date.now() - started,
      });
    }

    app = await createApp(config, {
      logger,
      postgresLogger,
      embeddedPostgres: embeddedControl,
      // BACKUP_SCHEDULE: base backups of the embedded server, or logical backups of an external
      // PostgreSQL, as jobs of the admin API's backup service (backups/scheduler.ts).
      scheduleBackups: true,
    });
    const address = await app.listen();
    logger.info(`Kiln ${config.version} listening on ${config.apiBaseUrl}`, {
      host: address.address,
      port: address.port,
      dashboard: `${config.apiBaseUrl}/dashboard`,
      admin: config.adminEmail,
    });
    if (!process.env.ADMIN_PASSWORD) {
      logger.info(
        `Admin sign-in: ${config.adminEmail} with the generated password in ${path.join(config.dataDir, 'secrets.json')} (set ADMIN_PASSWORD to choose one)`,
      );
    }
  } catch (err) {
    logger.error(`Kiln failed to start: ${err instanceof Error ? err.message : String(err)}`);
    if (!stopping) await shutdown('startup-failure', 1);
  }
}

void main();

/** Chooses the log provider from config and makes the per-source file loggers. */
import path from 'node:path';
import type { Config } from '../core/config.js';
import { createLogger, type Logger } from '../core/logger.js';
import { CloudWatchLogProvider } from './providers/cloudwatch.js';
import { FileLogProvider } from './providers/file.js';
import { LOG_SOURCES, type LogProvider, type LogSource } from './types.js';

export type { LogProvider, LogSource } from './types.js';
export { logsRoutes } from './routes.js';

/** The file provider (default) or CloudWatch Logs (LOG_PROVIDER=cloudwatch). */
export function createLogProvider(config: Config, logger: Logger): LogProvider {
  if (config.logs.provider === 'cloudwatch') {
    return new CloudWatchLogProvider({
      group: config.logs.cloudwatchGroup,
      region: config.logs.awsRegion,
      endpoint: config.logs.cloudwatchEndpoint,
      accessKeyId: config.logs.awsAccessKeyId,
      secretAccessKey: config.logs.awsSecretAccessKey,
      onError: (message, error) => logger.warn(message, { error: String(error) }),
    });
  }
  return new FileLogProvider(path.join(config.dataDir, 'logs'));
}

/**
 * A logger writing one source's JSON lines to its file under DATA_DIR/logs, rotated by
 * LOG_FILE_MAX_MB / LOG_FILE_MAX_FILES (the CloudWatch provider ships the same lines).
 */
export function sourceLogger(
  config: Config,
  source: Exclude<LogSource, 'kiln.logs'>,
  level = 'info',
): Logger {
  return createLogger({
    level,
    dir: path.join(config.dataDir, 'logs'),
    file: LOG_SOURCES[source].file,
    stdout: false,
    maxBytes: config.logs.fileMaxBytes,
    maxFiles: config.logs.fileMaxFiles,
  });
}

/**
 * Turns the embedded PostgreSQL's output (chunks of text) into postgres.logs lines, with the
 * level taken from PostgreSQL's severity.
 */
export function postgresOutput(logger: Logger): (chunk: string) => void {
  let partial = '';
  return (chunk) => {
    const lines = (partial + chunk).split(/\r?\n/);
    partial = lines.pop() ?? '';
    if (partial.length > 64 * 1024) {
      lines.push(partial);
      partial = '';
    }
    for (const raw of lines) {
      const line = raw.trim();
      if (!line) continue;
      const level = /\b(ERROR|FATAL|PANIC):/.test(line)
        ? 'error'
        : /\bWARNING:/.test(line)
          ? 'warn'
          : 'info';
      logger.log(level, line);
    }
  };
}

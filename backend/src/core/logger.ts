import fs from 'node:fs';
import path from 'node:path';
import winston from 'winston';

export type Logger = winston.Logger;

export interface LoggerOptions {
  level: string;
  /** Directory for JSON-lines log files; omitted = no file output. */
  dir?: string;
  stdout: boolean;
  /** Stdout may be quieter than the file (tests print only errors). Default: `level`. */
  stdoutLevel?: string;
  /** File name inside `dir`. Default: kiln.log. */
  file?: string;
  /** Rotate the file beyond this size (LOG_FILE_MAX_MB). Default: 20 MiB. */
  maxBytes?: number;
  /** Rotated files kept, the live one included (LOG_FILE_MAX_FILES). Default: 5. */
  maxFiles?: number;
}

/**
 * JSON lines to stdout and to `<dir>/kiln.log` (or `file`), rotated by size the tailable way:
 * the live file keeps its name, older ones are kiln1.log (newest) … kiln<maxFiles-1>.log.
 */
export function createLogger(options: LoggerOptions): Logger {
  const format = winston.format.combine(
    winston.format.timestamp(),
    winston.format.errors({ stack: true }),
    winston.format.json(),
  );
  const transports: winston.transport[] = [];
  if (options.stdout)
    transports.push(new winston.transports.Console({ level: options.stdoutLevel }));
  if (options.dir) {
    // Logs hold requests, function output and errors: Kiln's user only (files 0600, folder 0700),
    // whatever the process umask.
    fs.mkdirSync(options.dir, { recursive: true, mode: 0o700 });
    transports.push(
      new winston.transports.File({
        filename: path.join(options.dir, options.file ?? 'kiln.log'),
        maxsize: options.maxBytes ?? 20 * 1024 * 1024,
        maxFiles: options.maxFiles ?? 5,
        tailable: true,
        // Passed to fs.createWriteStream for every file the transport opens (rotation renames).
        options: { flags: 'a', mode: 0o600 },
      }),
    );
  }
  if (transports.length === 0) transports.push(new winston.transports.Console({ silent: true }));
  return skipUnwanted(
    winston.createLogger({
      level: options.level,
      format,
      defaultMeta: { service: 'kiln' },
      transports,
    }),
  );
}

/**
 * winston formats every line (timestamp, JSON) before its transports look at the level, so a
 * debug line nobody writes cost as much as one written: graphile-worker's per-job lines were a
 * measurable part of running a job. The level methods return at once when no transport would
 * write the line (a transport's own level, else the logger's; read at each call, so changing
 * either later still applies).
 */
function skipUnwanted(logger: Logger): Logger {
  const rank = logger.levels;
  const wanted = (level: string) =>
    logger.transports.some(
      (t) => !t.silent && (rank[t.level ?? logger.level] ?? -1) >= (rank[level] ?? Infinity),
    );
  for (const level of Object.keys(rank)) {
    const method = (logger as unknown as Record<string, (...args: unknown[]) => Logger>)[level];
    if (typeof method !== 'function') continue;
    // `this`, as winston's own methods: a child logger (Object.create of this one) adds its
    // fields in its own write.
    (logger as unknown as Record<string, unknown>)[level] = function (
      this: Logger | undefined,
      ...args: unknown[]
    ) {
      const self = this ?? logger;
      return wanted(level) ? method.apply(self, args) : self;
    };
  }
  return logger;
}

/** Resolves once every transport has flushed what it was given. */
export async function closeLogger(logger: Logger): Promise<void> {
  await new Promise<void>((resolve) => {
    const done = () => resolve();
    logger.on('finish', done);
    logger.end();
    setTimeout(done, 2000).unref();
  });
}

/**
 * The log sources Kiln writes and the shapes every log provider answers with. A source is one
 * stream of winston JSON lines (`{timestamp, level, message, …fields}`): a file under
 * DATA_DIR/logs for the file provider, a log stream of the same name in CloudWatch.
 */
import crypto from 'node:crypto';
import { LOG_LEVELS, type LogSourceName } from '@kiln/shared-schemas';
import type { Logger } from '../core/logger.js';

export const LOG_SOURCES = {
  'kiln.logs': { file: 'kiln.log', description: 'API access lines and application logs' },
  'function.logs': { file: 'functions.log', description: 'Edge function output and errors' },
  'auth.logs': { file: 'auth.log', description: 'Authentication events' },
  'postgres.logs': { file: 'postgres.log', description: 'The embedded PostgreSQL server' },
} as const satisfies Record<LogSourceName, { file: string; description: string }>;

export type LogSource = keyof typeof LOG_SOURCES;
export const SOURCE_NAMES = Object.keys(LOG_SOURCES) as LogSource[];

export function isLogSource(name: string): name is LogSource {
  return Object.prototype.hasOwnProperty.call(LOG_SOURCES, name);
}

/** winston's npm levels, most severe first (declared with the API's schemas). */
export { LOG_LEVELS };
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LogEntry {
  /** Derived from the source and the line's text: the same line has the same id. */
  id: string;
  source: LogSource;
  /** ISO 8601, millisecond precision. */
  timestamp: string;
  level: string;
  message: string;
  /** Every other field of the line (service, requestId, status, …). */
  metadata: Record<string, unknown>;
  /** InsForge's names: `message`, and the line's fields with `level` among them. */
  eventMessage: string;
  body: Record<string, unknown>;
}

/** An entry with InsForge's fields beside Kiln's; `line` is the text it was read from. */
export function logEntry(
  source: LogSource,
  line: string,
  fields: { timestamp: string; level: string; message: string; metadata: Record<string, unknown> },
): LogEntry {
  const id = crypto.createHash('sha256').update(source).update('\n').update(line).digest('hex');
  return {
    id: id.slice(0, 32),
    source,
    ...fields,
    eventMessage: fields.message,
    body: { level: fields.level, ...fields.metadata },
  };
}

export interface LogPage {
  logs: LogEntry[];
  /**
   * List (`/:source`): every entry the source holds. Search: the entries matching the query;
   * exact when `totalExact`, otherwise an estimate (see the README's Logs section).
   */
  total: number;
  totalExact: boolean;
  /** More entries exist past this page (older for a list, further offsets for a search). */
  hasMore: boolean;
}

export interface SourceInfo {
  name: LogSource;
  description: string;
  available: boolean;
  /** Bytes on disk (all files of the source) or stored in CloudWatch; null when unknown. */
  sizeBytes: number | null;
  /** Newest write (file mtime) or newest event (CloudWatch); null when nothing yet. */
  lastEventAt: string | null;
  /** File provider: how many files (live + rotated) the source spans. */
  files?: number;
}

export interface SourcesResult {
  provider: 'file' | 'cloudwatch';
  /** CloudWatch only: the log group and the bytes it stores. */
  logGroup?: string;
  logGroupBytes?: number | null;
  sources: SourceInfo[];
}

export interface ListQuery {
  limit: number;
  /** Only entries strictly older than this (epoch ms). */
  beforeMs?: number;
}

export interface SearchQuery {
  q?: string;
  source?: LogSource;
  level?: LogLevel;
  /** Inclusive lower bound, epoch ms. */
  fromMs?: number;
  /** Exclusive upper bound, epoch ms. */
  toMs?: number;
  limit: number;
  offset: number;
}

export interface StatsQuery {
  fromMs: number;
  toMs: number;
  bucketMs: number;
}

export interface StatsResult {
  from: string;
  to: string;
  bucketSeconds: number;
  /** Start of each bucket (ISO); bucket i covers [buckets[i], buckets[i+1]). */
  buckets: string[];
  /** One series per (source, level) with at least one entry; `counts[i]` belongs to `buckets[i]`. */
  series: { source: LogSource; level: string; total: number; counts: number[] }[];
  totals: {
    all: number;
    bySource: Record<string, number>;
    byLevel: Record<string, number>;
  };
}

export interface LogProvider {
  readonly kind: 'file' | 'cloudwatch';
  /**
   * Sends what `logger` writes to this provider under `source`. The file provider reads the
   * files the loggers write already, so this is a no-op there; CloudWatch adds a transport.
   */
  attach(source: LogSource, logger: Logger): void;
  sources(): Promise<SourcesResult>;
  /** Newest first; entries sharing the oldest timestamp of a full page all come with it. */
  list(source: LogSource, query: ListQuery): Promise<LogPage>;
  /** Newest first across the chosen sources. */
  search(query: SearchQuery): Promise<LogPage>;
  stats(query: StatsQuery): Promise<StatsResult>;
  /** Ships what is still buffered and detaches. */
  close(): Promise<void>;
}

/** Splits a parsed winston line (`raw`, parsed from `line`) into an entry; undefined when it is not one. */
export function toEntry(source: LogSource, raw: unknown, line: string): LogEntry | undefined {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return undefined;
  const { timestamp, level, message, ...metadata } = raw as Record<string, unknown>;
  if (typeof timestamp !== 'string') return undefined;
  const ms = Date.parse(timestamp);
  if (Number.isNaN(ms)) return undefined;
  return logEntry(source, line, {
    timestamp: new Date(ms).toISOString(),
    level: typeof level === 'string' ? level : 'info',
    message: typeof message === 'string' ? message : JSON.stringify(message ?? ''),
    metadata,
  });
}

/** Chooses bucket-start strings and an index function for a stats range. */
export function bucketStarts(query: StatsQuery): string[] {
  const n = Math.max(1, Math.ceil((query.toMs - query.fromMs) / query.bucketMs));
  return Array.from({ length: n }, (_, i) =>
    new Date(query.fromMs + i * query.bucketMs).toISOString(),
  );
}

/** Builds the stats answer from counts[source][level][bucket]. */
export function statsResult(
  query: StatsQuery,
  buckets: string[],
  counts: Map<LogSource, Map<string, number[]>>,
): StatsResult {
  const series: StatsResult['series'] = [];
  const bySource: Record<string, number> = {};
  const byLevel: Record<string, number> = {};
  let all = 0;
  for (const source of SOURCE_NAMES) {
    bySource[source] = 0;
    const levels = counts.get(source);
    if (!levels) continue;
    const ordered = [...levels.keys()].sort(
      (a, b) => levelRank(a) - levelRank(b) || a.localeCompare(b),
    );
    for (const level of ordered) {
      const c = levels.get(level)!;
      const total = c.reduce((a, b) => a + b, 0);
      if (!total) continue;
      series.push({ source, level, total, counts: c });
      bySource[source] += total;
      byLevel[level] = (byLevel[level] ?? 0) + total;
      all += total;
    }
  }
  return {
    from: new Date(query.fromMs).toISOString(),
    to: new Date(query.toMs).toISOString(),
    bucketSeconds: query.bucketMs / 1000,
    buckets,
    series,
    totals: { all, bySource, byLevel },
  };
}

function levelRank(level: string): number {
  const i = (LOG_LEVELS as readonly string[]).indexOf(level);
  return i < 0 ? LOG_LEVELS.length : i;
}

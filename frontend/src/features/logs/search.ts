/**
 * The Logs area's URL state: the tab; the explorer's source, text, level, time range and the
 * line whose detail is open; the audit trail's filters and page. Loaded with the route tree: no
 * runtime imports of shared-schemas.
 */
import { optionalEnum, optionalInt, optionalString } from '../../lib/search';

export const logsTabs = ['lines', 'audit'] as const;
export type LogsTab = (typeof logsTabs)[number];

/** The sources Kiln writes (the same names as shared-schemas' LOG_SOURCE_NAMES). */
export const logSources = ['kiln.logs', 'function.logs', 'auth.logs', 'postgres.logs'] as const;
export type LogSource = (typeof logSources)[number];

/** winston's npm levels, most severe first (shared-schemas' LOG_LEVELS). */
export const logLevels = ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'] as const;
export type LogLevel = (typeof logLevels)[number];

export const timeRanges = ['15m', '1h', '24h', '7d'] as const;
export type TimeRange = (typeof timeRanges)[number];
export const timeRangeMs: Record<TimeRange, number> = {
  '15m': 15 * 60_000,
  '1h': 3600_000,
  '24h': 86_400_000,
  '7d': 7 * 86_400_000,
};
export const timeRangeLabels: Record<TimeRange, string> = {
  '15m': 'Last 15 minutes',
  '1h': 'Last hour',
  '24h': 'Last 24 hours',
  '7d': 'Last 7 days',
};
/** The explorer's range when none is in the URL. */
export const DEFAULT_RANGE: TimeRange = '1h';

export interface LogsSearch {
  tab?: LogsTab;
  /** Explorer: one source (all when absent). */
  source?: LogSource;
  /** Explorer: text matched against the line's JSON (a request id finds its lines). */
  q?: string;
  level?: LogLevel;
  range?: TimeRange;
  /** Explorer: live tail (the newest lines read again every 2 s). */
  live?: boolean;
  /** Explorer: the id of the line whose detail sheet is open. */
  line?: string;
  /** Audit: action, actor and time range filters, and the first record of the page. */
  action?: string;
  actor?: string;
  arange?: TimeRange;
  offset?: number;
}

export function logsSearch(s: Record<string, unknown>): LogsSearch {
  return {
    tab: optionalEnum(s.tab, logsTabs),
    source: optionalEnum(s.source, logSources),
    q: optionalString(s.q),
    level: optionalEnum(s.level, logLevels),
    range: optionalEnum(s.range, timeRanges),
    live: s.live === true || s.live === 'true' ? true : undefined,
    line: optionalString(s.line),
    action: optionalString(s.action),
    actor: optionalString(s.actor),
    arange: optionalEnum(s.arange, timeRanges),
    offset: optionalInt(s.offset),
  };
}

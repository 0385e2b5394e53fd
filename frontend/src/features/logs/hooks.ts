/**
 * The Logs area's reads: the sources, pages of lines (newest first, "load older" fetches the
 * next page of the same time window; live tail re-reads the newest page), the volume by level
 * over time, and pages of the audit trail.
 */
import { keepPreviousData, useInfiniteQuery, useQuery } from '@tanstack/react-query';
import type {
  AuditLogEntry,
  ListAuditLogsResponse,
  LogEntry,
  LogPage,
  LogSourcesResponse,
  LogStatsResponse,
} from '@kiln/shared-schemas';
import { api } from '../../lib/api';
import { queryKeys } from '../../lib/query';
import { timeRangeMs, type LogLevel, type LogSource, type TimeRange } from './search';

export type { AuditLogEntry, LogEntry };

export const LINES_PAGE_SIZE = 100;
export const AUDIT_PAGE_SIZE = 50;

export function useLogSources() {
  return useQuery({
    queryKey: queryKeys.logs.sources(),
    queryFn: ({ signal }) => api.get<LogSourcesResponse>('/api/logs/sources', undefined, signal),
  });
}

export interface LineFilters {
  source?: LogSource;
  q?: string;
  level?: LogLevel;
  range: TimeRange;
}

/** A page of lines with the window it was read in (so older pages keep the same `to`). */
type LinesPage = LogPage & { offset: number; to: number };
interface LinesParam {
  offset: number;
  /** The window's end, fixed by the first page. */
  to?: number;
}

/** Live tail: the newest page is read again every 2 s (older pages are not kept). */
export const LIVE_INTERVAL_MS = 2000;

export function useLogLines(f: LineFilters & { live?: boolean }) {
  return useInfiniteQuery({
    queryKey: queryKeys.logs.lines(f),
    refetchInterval: f.live ? LIVE_INTERVAL_MS : false,
    initialPageParam: { offset: 0 } as LinesParam,
    queryFn: async ({ pageParam, signal }): Promise<LinesPage> => {
      const to = pageParam.to ?? Date.now();
      const page = await api.get<LogPage>(
        '/api/logs/search',
        {
          source: f.source,
          q: f.q,
          level: f.level,
          from: to - timeRangeMs[f.range],
          to,
          limit: LINES_PAGE_SIZE,
          offset: pageParam.offset,
        },
        signal,
      );
      return { ...page, offset: pageParam.offset, to };
    },
    getNextPageParam: (last): LinesParam | undefined =>
      last.hasMore ? { offset: last.offset + last.logs.length, to: last.to } : undefined,
    // The previous lines stay while a changed filter loads (ui/DataTable must not go back to
    // `data: undefined` once it has rows: it re-renders without end, see the report).
    placeholderData: keepPreviousData,
  });
}

export interface AuditFilters {
  action?: string;
  actor?: string;
  range?: TimeRange;
  offset: number;
}

export function useAuditLog(f: AuditFilters) {
  return useQuery({
    queryKey: queryKeys.logs.audit(f),
    queryFn: ({ signal }) =>
      api.get<ListAuditLogsResponse>(
        '/api/logs/audits',
        {
          action: f.action,
          actor: f.actor,
          from: f.range ? new Date(Date.now() - timeRangeMs[f.range]).toISOString() : undefined,
          limit: AUDIT_PAGE_SIZE,
          offset: f.offset,
        },
        signal,
      ),
    placeholderData: keepPreviousData,
  });
}

/** Lines per bucket by source and level over the range (buckets picked by the server). */
export function useLogVolume(range: TimeRange, live?: boolean) {
  return useQuery({
    queryKey: queryKeys.logs.volume(range),
    queryFn: ({ signal }) => {
      const to = Date.now();
      return api.get<LogStatsResponse>(
        '/api/logs/stats/histogram',
        { from: to - timeRangeMs[range], to },
        signal,
      );
    },
    refetchInterval: live ? LIVE_INTERVAL_MS * 5 : false,
    placeholderData: keepPreviousData,
  });
}

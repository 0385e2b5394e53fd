/**
 * Admin log API, mounted at /api/logs (after /api/logs/audits):
 *   GET /sources                                            sources, sizes, availability
 *   GET /stats                                              per source: last 24 h, newest write
 *   GET /stats/histogram?from&to&bucket                     counts per source × level × bucket
 *   GET /search?q&source&level&from&to&limit&offset         {logs, total, totalExact, hasMore}
 *   GET /:source?limit&before_timestamp                     {logs, total, totalExact, hasMore}
 */
import {
  listLogsQuerySchema,
  logPageSchema,
  logSourceParamsSchema,
  logSourcesResponseSchema,
  logSourceStatsResponseSchema,
  logStatsQuerySchema,
  logStatsResponseSchema,
  searchLogsQuerySchema,
} from '@kiln/shared-schemas';
import { AppError } from '../core/errors.js';
import { route, type RouteGroup } from '../core/route.js';
import { isLogSource, SOURCE_NAMES, type LogProvider, type LogSource } from './types.js';

/**
 * A source named by the request (an unknown one with the list of known ones, not a zod enum
 * message): the path's `/:source` is a resource, so an unknown one is 404 LOG_NOT_FOUND; the
 * search's `?source=` is a filter, so an unknown one is 400 INVALID_INPUT.
 */
function sourceParam(name: string, status: 400 | 404): LogSource {
  if (!isLogSource(name)) {
    throw new AppError(
      status,
      status === 404 ? 'LOG_NOT_FOUND' : 'INVALID_INPUT',
      `Unknown log source "${name.slice(0, 100)}"`,
      `Use one of: ${SOURCE_NAMES.join(', ')}`,
    );
  }
  return name;
}

export function logsRoutes(provider: LogProvider): RouteGroup {
  return {
    tag: 'logs',
    access: 'admin',
    // CloudWatch Logs (LOG_PROVIDER=cloudwatch) failing or answering too slowly.
    errors: { 502: ['LOG_PROVIDER_ERROR'], 504: ['LOG_QUERY_TIMEOUT'] },
    routes: [
      route({
        method: 'get',
        path: '/sources',
        summary: 'Log sources: availability, size, newest event',
        responses: { 200: logSourcesResponseSchema },
        handler: () => provider.sources(),
      }),
      route({
        method: 'get',
        path: '/stats',
        summary: 'Per source: entries of the last 24 hours and the newest write',
        description: 'InsForge’s shape. Counts per level and time bucket: `/stats/histogram`.',
        responses: { 200: logSourceStatsResponseSchema },
        handler: async () => {
          const day = 86_400_000;
          const toMs = Date.now();
          const [sources, counts] = await Promise.all([
            provider.sources(),
            provider.stats({ fromMs: toMs - day, toMs, bucketMs: day }),
          ]);
          return sources.sources.flatMap((s) =>
            s.lastEventAt === null
              ? []
              : [
                  {
                    source: s.name,
                    count: counts.totals.bySource[s.name] ?? 0,
                    lastActivity: s.lastEventAt,
                  },
                ],
          );
        },
      }),
      route({
        method: 'get',
        path: '/stats/histogram',
        summary: 'Entry counts per source, level and time bucket',
        query: logStatsQuerySchema,
        responses: { 200: logStatsResponseSchema },
        handler: ({ query }) => provider.stats(query),
      }),
      route({
        method: 'get',
        path: '/search',
        summary: 'Search entries across sources (newest first)',
        query: searchLogsQuerySchema,
        responses: { 200: logPageSchema },
        handler: ({ query: q }) =>
          provider.search({
            q: q.q,
            source: q.source === undefined ? undefined : sourceParam(q.source, 400),
            level: q.level,
            fromMs: q.from,
            toMs: q.to,
            limit: q.limit,
            offset: q.offset,
          }),
      }),
      route({
        method: 'get',
        path: '/:source',
        summary: 'One source’s entries, newest first (page with before_timestamp)',
        params: logSourceParamsSchema,
        query: listLogsQuerySchema,
        responses: { 200: logPageSchema },
        errors: { 404: ['LOG_NOT_FOUND'] },
        handler: ({ params, query }) =>
          provider.list(sourceParam(params.source, 404), {
            limit: query.limit,
            beforeMs: query.before_timestamp,
          }),
      }),
    ],
  };
}

import {
  healthResponseSchema,
  livenessResponseSchema,
  readinessResponseSchema,
} from '@kiln/shared-schemas';
import type { Database } from '../core/db.js';
import { reply, route, type RouteGroup } from '../core/route.js';

export interface HealthState {
  shuttingDown: boolean;
}

/** `/api/health` (contract shape), `/health/live` (process up), `/health/ready` (can serve). */
export function healthRoutes(db: Database, version: string, state: HealthState): RouteGroup {
  return {
    tag: 'health',
    access: 'anyone',
    routes: [
      route({
        method: 'get',
        path: '/api/health',
        summary: 'Health',
        responses: { 200: healthResponseSchema },
        handler: () => ({
          status: 'ok' as const,
          version,
          service: 'Kiln',
          timestamp: new Date().toISOString(),
        }),
      }),
      route({
        method: 'get',
        path: '/health/live',
        summary: 'Liveness: the process is up',
        responses: { 200: livenessResponseSchema },
        handler: () => ({ status: 'ok' as const }),
      }),
      route({
        method: 'get',
        path: '/health/ready',
        summary: 'Readiness: the database answers and the instance is not shutting down',
        responses: {
          200: { description: 'Ready', schema: readinessResponseSchema },
          503: { description: 'Not ready', schema: readinessResponseSchema },
        },
        handler: async () => {
          if (state.shuttingDown) {
            return reply(503, {
              status: 'unavailable' as const,
              database: 'unknown' as const,
              reason: 'shutting down',
            });
          }
          const ok = await db.ping(2000);
          return reply(ok ? 200 : 503, {
            status: ok ? ('ready' as const) : ('unavailable' as const),
            database: ok ? ('ok' as const) : ('unreachable' as const),
          });
        },
      }),
    ],
  };
}

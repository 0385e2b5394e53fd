import {
  healthResponseSchema,
  livenessResponseSchema,
  readinessResponseSchema,
} from '@kiln/shared-schemas';
import type { Database } from '../core/db.js';
import { reply, route, type RouteGroup } from '../core/route.js';

export interface HealthState {
  shuttingDown: boolean;
  /**
   * The instance's LISTEN connections (core/listener.ts) by name, and whether each listens now.
   * While one reconnects, the instance is not ready: realtime, webhooks or schema changes would
   * pass it by.
   */
  listeners?: () => Record<string, boolean>;
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
        summary:
          'Readiness: the database answers, every LISTEN connection listens, and the instance is not shutting down',
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
          const down = Object.entries(state.listeners?.() ?? {})
            .filter(([, listening]) => !listening)
            .map(([name]) => name);
          const ready = ok && !down.length;
          return reply(ready ? 200 : 503, {
            status: ready ? ('ready' as const) : ('unavailable' as const),
            database: ok ? ('ok' as const) : ('unreachable' as const),
            ...(ok && down.length ? { reason: `reconnecting: ${down.join(', ')}` } : {}),
          });
        },
      }),
    ],
  };
}

/** `GET /metrics`: the instance's metrics in Prometheus's text format (core/metrics.ts). */
import { requireAdmin } from '../core/auth/principal.js';
import { safeEqual } from '../core/crypto.js';
import type { Metrics } from '../core/metrics.js';
import { route, type RouteGroup } from '../core/route.js';

const noop = () => undefined;

/**
 * Who may scrape: an admin (admin JWT or the API key), or, when `token` is set (METRICS_TOKEN),
 * whoever sends it as `Authorization: Bearer <token>`, so a Prometheus server needs no admin
 * credential.
 */
export function metricsRoutes(metrics: Metrics, options: { token?: string }): RouteGroup {
  const { token } = options;
  return {
    tag: 'metrics',
    routes: [
      route({
        method: 'get',
        path: '/metrics',
        access: 'admin',
        // The guard is the rule below: an admin, or the metrics token when one is configured.
        guard: false,
        summary: 'Prometheus metrics of this instance',
        description:
          'Request rate and latency by route, database pool use, realtime sockets, webhook and ' +
          'job backlogs, and Node.js process metrics, in the Prometheus text format. An admin ' +
          'credential, or `Authorization: Bearer <METRICS_TOKEN>` when that setting is set.',
        responses: {
          200: { description: 'The metrics (text/plain; version=0.0.4)', content: 'text' },
        },
        authorize: ({ req }) => {
          if (token) {
            const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
            if (match && safeEqual(match[1]!, token)) return;
          }
          requireAdmin(req, req.res!, noop);
        },
        handler: async ({ res }) => {
          const { contentType, body } = await metrics.scrape();
          res.setHeader('Cache-Control', 'no-store');
          res.type(contentType).send(body);
        },
      }),
    ],
  };
}

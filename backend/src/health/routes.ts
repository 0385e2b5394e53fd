import { Router } from 'express';
import type { Database } from '../core/db.js';

export interface HealthState {
  shuttingDown: boolean;
}

/** `/api/health` (contract shape), `/health/live` (process up), `/health/ready` (can serve). */
export function healthRoutes(db: Database, version: string, state: HealthState): Router {
  const router = Router();
  router.get('/api/health', (_req, res) => {
    res.json({ status: 'ok', version, service: 'Kiln', timestamp: new Date().toISOString() });
  });
  router.get('/health/live', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/health/ready', async (_req, res) => {
    if (state.shuttingDown) {
      res.status(503).json({ status: 'unavailable', database: 'unknown', reason: 'shutting down' });
      return;
    }
    const ok = await db.ping(2000);
    res
      .status(ok ? 200 : 503)
      .json({ status: ok ? 'ready' : 'unavailable', database: ok ? 'ok' : 'unreachable' });
  });
  return router;
}

import { Router } from 'express';
import { rotateKeyRequestSchema } from '@kiln/shared-schemas';
import type { Database } from '../core/db.js';
import type { KeyKind, KeyStore } from '../core/auth/keys.js';
import { requireAdmin } from '../core/auth/principal.js';
import type { AuthService } from '../auth/service.js';

export interface MetadataRoutesOptions {
  version: string;
  defaultGraceSeconds: number;
}

/** Admin-only project facts: the keys, their rotation, and an overview for the dashboard. */
export function metadataRoutes(
  db: Database,
  keys: KeyStore,
  auth: AuthService,
  options: MetadataRoutesOptions,
): Router {
  const router = Router();
  router.use(requireAdmin);

  router.get('/', async (_req, res) => {
    const [config, tables, size] = await Promise.all([
      auth.getConfig(),
      db.query<{ table_name: string; record_count: number }>(
        `SELECT c.relname AS table_name, greatest(c.reltuples, 0)::bigint::int AS record_count
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY c.relname`,
      ),
      db.query<{ bytes: string }>('SELECT pg_database_size(current_database())::text AS bytes'),
    ]);
    const { createdAt: _c, updatedAt: _u, ...authConfig } = config;
    res.json({
      auth: { oAuthProviders: [], customOAuthProviders: [], ...authConfig },
      database: {
        tables: tables.rows.map((t) => ({ tableName: t.table_name, recordCount: t.record_count })),
        totalSizeInGB: Number(size.rows[0]?.bytes ?? 0) / 1024 ** 3,
      },
      storage: { buckets: [], totalSizeInGB: 0 },
      functions: [],
      version: options.version,
    });
  });

  const keyRoutes = (kind: KeyKind, path: string, field: 'apiKey' | 'anonKey') => {
    router.get(path, async (_req, res) => {
      res.json({ [field]: await keys.getActive(kind) });
    });
    router.post(`${path}/rotate`, async (req, res) => {
      const body = rotateKeyRequestSchema.parse(req.body ?? undefined);
      const grace = body?.graceSeconds ?? options.defaultGraceSeconds;
      const { key, previousValidUntil } = await keys.rotate(kind, grace);
      res.json({ [field]: key, previousKeyValidUntil: previousValidUntil?.toISOString() ?? null });
    });
  };
  keyRoutes('api', '/api-key', 'apiKey');
  keyRoutes('anon', '/anon-key', 'anonKey');

  return router;
}

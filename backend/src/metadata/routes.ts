import { Router } from 'express';
import { rotateKeyRequestSchema } from '@kiln/shared-schemas';
import type { Database } from '../core/db.js';
import type { KeyKind, KeyStore } from '../core/auth/keys.js';
import { requireAdmin } from '../core/auth/principal.js';
import type { AuthService } from '../auth/service.js';
import type { SchemaCache } from '../database/records/schema-cache.js';
import { describeProject, toMarkdown } from './describe.js';

export interface MetadataRoutesOptions {
  version: string;
  defaultGraceSeconds: number;
}

/** Admin-only project facts: the keys, their rotation, and an overview for the dashboard. */
export function metadataRoutes(
  db: Database,
  keys: KeyStore,
  auth: AuthService,
  cache: SchemaCache,
  options: MetadataRoutesOptions,
): Router {
  const router = Router();
  router.use(requireAdmin);

  router.get('/', async (req, res) => {
    const metadata = await describeProject(db, cache, auth, options.version);
    const wantsMarkdown =
      req.query.format === 'markdown' ||
      (req.query.format === undefined &&
        req.accepts(['application/json', 'text/markdown']) === 'text/markdown');
    if (wantsMarkdown) {
      res.type('text/markdown; charset=utf-8').send(toMarkdown(metadata));
      return;
    }
    res.json(metadata);
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

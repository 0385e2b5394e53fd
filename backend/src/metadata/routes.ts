import { z } from 'zod';
import {
  anonKeyResponseSchema,
  apiKeyResponseSchema,
  databaseMetadataSchema,
  metadataQuerySchema,
  projectMetadataSchema,
  projectOverviewSchema,
  rotateKeyRequestSchema,
  rotatedAnonKeyResponseSchema,
  rotatedApiKeyResponseSchema,
} from '@kiln/shared-schemas';
import type { Database } from '../core/db.js';
import type { KeyKind, KeyStore } from '../core/auth/keys.js';
import { route, type DeclaredRoute, type RouteGroup } from '../core/route.js';
import type { AuthService } from '../auth/service.js';
import type { SchemaCache } from '../database/records/schema-cache.js';
import { describeDatabase, describeProject, toMarkdown, type DescribeSources } from './describe.js';
import { projectOverview } from './overview.js';

export interface MetadataRoutesOptions extends DescribeSources {
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
): RouteGroup {
  const keyRoutes = (
    kind: KeyKind,
    path: string,
    label: string,
    responses: { key: z.ZodType; rotated: z.ZodType },
  ): DeclaredRoute[] => {
    const field = kind === 'api' ? 'apiKey' : 'anonKey';
    return [
      route({
        method: 'get',
        path,
        summary: `The ${label}`,
        responses: { 200: responses.key },
        handler: async () => ({ [field]: await keys.getActive(kind) }),
      }),
      route({
        method: 'post',
        path: `${path}/rotate`,
        summary: `Rotate the ${label} (the previous one keeps working for graceSeconds)`,
        body: rotateKeyRequestSchema,
        responses: { 200: responses.rotated },
        handler: async ({ body }) => {
          const grace = body?.graceSeconds ?? options.defaultGraceSeconds;
          const { key, previousValidUntil } = await keys.rotate(kind, grace);
          return {
            [field]: key,
            previousKeyValidUntil: previousValidUntil?.toISOString() ?? null,
          };
        },
      }),
    ];
  };

  return {
    tag: 'metadata',
    access: 'admin',
    routes: [
      route({
        method: 'get',
        path: '/',
        summary: 'Project description (JSON, or Markdown with ?format=markdown)',
        description: 'Markdown too when the request prefers `Accept: text/markdown`.',
        query: metadataQuerySchema,
        responses: {
          200: {
            description: 'The project',
            schema: projectMetadataSchema,
            content: ['json', 'markdown'],
          },
        },
        handler: async ({ query, req, res }) => {
          const metadata = await describeProject(db, cache, auth, options.version, options);
          const wantsMarkdown =
            query.format === 'markdown' ||
            (query.format === undefined &&
              req.accepts(['application/json', 'text/markdown']) === 'text/markdown');
          if (wantsMarkdown) {
            res.type('text/markdown; charset=utf-8').send(toMarkdown(metadata));
            return;
          }
          return metadata;
        },
      }),
      route({
        method: 'get',
        path: '/database',
        summary: 'The database part of the project description: tables, functions, size',
        responses: { 200: databaseMetadataSchema },
        handler: () => describeDatabase(db, cache),
      }),
      route({
        method: 'get',
        path: '/overview',
        summary: 'Counts for the dashboard: users, tables, buckets, functions, channels, size',
        responses: { 200: projectOverviewSchema },
        handler: () => projectOverview(db, cache.exposedSchemas),
      }),
      ...keyRoutes('api', '/api-key', 'API key', {
        key: apiKeyResponseSchema,
        rotated: rotatedApiKeyResponseSchema,
      }),
      ...keyRoutes('anon', '/anon-key', 'anon key', {
        key: anonKeyResponseSchema,
        rotated: rotatedAnonKeyResponseSchema,
      }),
    ],
  };
}

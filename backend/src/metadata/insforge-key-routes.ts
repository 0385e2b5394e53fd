/**
 * InsForge's paths for the project keys, answered with InsForge's shapes on top of the same key
 * store as /api/metadata: the deprecated anon-key read under /api/auth and the key rotations
 * under /api/secrets. Each route says its own access: the groups share their prefix with other
 * areas' routes, so a group guard would answer for paths that are not theirs.
 */
import {
  legacyAnonTokenResponseSchema,
  rotateAnonKeyHoursRequestSchema,
  rotateApiKeyHoursRequestSchema,
  rotatedAnonKeyHoursResponseSchema,
  rotatedApiKeyHoursResponseSchema,
} from '@kiln/shared-schemas';
import type { KeyKind, KeyStore } from '../core/auth/keys.js';
import { route, type RouteGroup } from '../core/route.js';

/** Mounted at /api/auth. */
export function legacyAnonTokenRoutes(keys: KeyStore): RouteGroup {
  return {
    tag: 'auth',
    routes: [
      route({
        method: 'post',
        path: '/tokens/anon',
        access: 'admin',
        summary: 'The anon key (deprecated: use GET /api/metadata/anon-key)',
        description:
          "InsForge's older path: the opaque anon key under `accessToken`. Admins only, like " +
          'the metadata path.',
        responses: { 200: legacyAnonTokenResponseSchema },
        handler: async () => ({
          accessToken: await keys.getActive('anon'),
          message: 'Anon key retrieved (deprecated path: use GET /api/metadata/anon-key)',
        }),
      }),
    ],
  };
}

/** Mounted at /api/secrets. Without `gracePeriodHours`, the grace is KEY_ROTATION_GRACE_SECONDS. */
export function secretsKeyRotationRoutes(keys: KeyStore, defaultGraceSeconds: number): RouteGroup {
  const rotate = async (kind: KeyKind, hours: number | undefined) => {
    const grace = hours === undefined ? defaultGraceSeconds : hours * 3600;
    const { key, previousValidUntil } = await keys.rotate(kind, grace);
    return {
      key,
      rest: {
        success: true as const,
        message: `${kind === 'api' ? 'API' : 'Anon'} key rotated; the previous one works until oldKeyExpiresAt`,
        oldKeyExpiresAt: previousValidUntil?.toISOString() ?? null,
      },
    };
  };
  return {
    tag: 'secrets',
    routes: [
      route({
        method: 'post',
        path: '/api-key/rotate',
        access: 'admin',
        summary: "Rotate the API key (InsForge's path; grace in hours, at most 168)",
        body: rotateApiKeyHoursRequestSchema,
        responses: { 200: rotatedApiKeyHoursResponseSchema },
        handler: async ({ body }) => {
          const { key, rest } = await rotate('api', body?.gracePeriodHours);
          return { ...rest, apiKey: key };
        },
      }),
      route({
        method: 'post',
        path: '/anon-key/rotate',
        access: 'admin',
        summary: "Rotate the anon key (InsForge's path; grace in hours, at most 720)",
        body: rotateAnonKeyHoursRequestSchema,
        responses: { 200: rotatedAnonKeyHoursResponseSchema },
        handler: async ({ body }) => {
          const { key, rest } = await rotate('anon', body?.gracePeriodHours);
          return { ...rest, anonKey: key };
        },
      }),
    ],
  };
}

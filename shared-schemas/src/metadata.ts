import { z } from 'zod';
import { authConfigSchema } from './auth.js';
import { smtpConfigResponseSchema } from './email.js';

/** One row-level security policy of the realtime tables (InsForge's shape). */
export const realtimePolicySchema = z.object({
  policyName: z.string(),
  tableName: z.string(),
  command: z.string(),
  roles: z.array(z.string()),
  using: z.string().nullable(),
  withCheck: z.string().nullable(),
});

export const rotateKeyRequestSchema = z
  .object({
    /** How long the previous key keeps working, in seconds (0 = revoke at once). */
    graceSeconds: z
      .number()
      .int()
      .min(0)
      .max(30 * 24 * 3600)
      .optional(),
  })
  .strict()
  .optional();
export type RotateKeyRequest = z.infer<typeof rotateKeyRequestSchema>;

export const apiKeyResponseSchema = z.object({ apiKey: z.string() });
export const anonKeyResponseSchema = z.object({ anonKey: z.string() });
export type ApiKeyResponse = z.infer<typeof apiKeyResponseSchema>;
export type AnonKeyResponse = z.infer<typeof anonKeyResponseSchema>;

/** POST /api/metadata/{api,anon}-key/rotate: the new key, and until when the old one works. */
export const rotatedApiKeyResponseSchema = apiKeyResponseSchema.extend({
  previousKeyValidUntil: z.iso.datetime().nullable(),
});
export const rotatedAnonKeyResponseSchema = anonKeyResponseSchema.extend({
  previousKeyValidUntil: z.iso.datetime().nullable(),
});
export type RotatedApiKeyResponse = z.infer<typeof rotatedApiKeyResponseSchema>;
export type RotatedAnonKeyResponse = z.infer<typeof rotatedAnonKeyResponseSchema>;

/**
 * InsForge's paths for the same keys (its CLI and MCP server call them): the deprecated
 * `POST /api/auth/tokens/anon` answers the anon key as `accessToken`; the rotations under
 * /api/secrets take the grace period in hours (InsForge's limits: 168 for the API key, 720 for
 * the anon key) and answer when the old key stops working.
 */
export const legacyAnonTokenResponseSchema = z.object({
  accessToken: z.string(),
  message: z.string(),
});
const graceHours = (max: number) =>
  z
    .object({
      gracePeriodHours: z
        .number({ error: 'gracePeriodHours: a whole number of hours' })
        .int({ error: 'gracePeriodHours: a whole number of hours' })
        .min(0, { error: 'gracePeriodHours: 0 or more' })
        .max(max, { error: `gracePeriodHours: at most ${max}` })
        .optional(),
    })
    .optional();
export const rotateApiKeyHoursRequestSchema = graceHours(168);
export const rotateAnonKeyHoursRequestSchema = graceHours(720);
const rotatedInHours = {
  success: z.literal(true),
  message: z.string(),
  /** When the previous key stops being accepted (null: there was no previous key). */
  oldKeyExpiresAt: z.iso.datetime().nullable(),
};
export const rotatedApiKeyHoursResponseSchema = z.object({ ...rotatedInHours, apiKey: z.string() });
export const rotatedAnonKeyHoursResponseSchema = z.object({
  ...rotatedInHours,
  anonKey: z.string(),
});

/**
 * GET /api/metadata: `?format=markdown` (or, without `format`, Accept: text/markdown) answers
 * Markdown; any other value JSON.
 */
export const metadataQuerySchema = z.object({
  format: z.string().optional().describe('`markdown` for Markdown; anything else JSON'),
});

export const metadataTableSchema = z.object({
  schemaName: z.string(),
  tableName: z.string(),
  kind: z.enum(['table', 'view', 'materialized_view', 'foreign_table', 'partitioned_table']),
  /** The planner's estimate, not an exact count. */
  recordCount: z.number().int(),
  rlsEnabled: z.boolean(),
  primaryKey: z.array(z.string()),
  columns: z.array(
    z.object({
      columnName: z.string(),
      type: z.string(),
      isNullable: z.boolean(),
      defaultValue: z.string().nullable(),
      /** Enum labels, for enum columns. */
      values: z.array(z.string()).optional(),
    }),
  ),
  /** Embeddable relations (PostgREST resource embedding). */
  relationships: z.array(
    z.object({
      name: z.string(),
      cardinality: z.enum(['m2o', 'o2m', 'o2o', 'm2m']),
      /** The foreign key constraint, or the junction table of a many-to-many. */
      via: z.string(),
    }),
  ),
});

/**
 * GET /api/realtime/permissions (and `realtime.permissions` of GET /api/metadata): who may
 * subscribe (SELECT policies on realtime.channels) and publish (INSERT policies on
 * realtime.messages); `ALL` policies count for both.
 */
export const realtimePermissionsSchema = z.object({
  subscribe: z.object({ policies: z.array(realtimePolicySchema) }),
  publish: z.object({ policies: z.array(realtimePolicySchema) }),
});

/** GET /api/metadata/database (and `database` of GET /api/metadata). */
export const databaseMetadataSchema = z.object({
  exposedSchemas: z.array(z.string()),
  tables: z.array(metadataTableSchema),
  functions: z.array(
    z.object({
      schemaName: z.string(),
      functionName: z.string(),
      arguments: z.array(z.string()),
      returns: z.string(),
    }),
  ),
  totalSizeInGB: z.number(),
});

/** GET /api/metadata: the whole project, for the dashboard and AI agents. */
export const projectMetadataSchema = z.object({
  version: z.string(),
  auth: authConfigSchema.extend({
    /** The enabled providers, as GET /api/auth/public-config lists them. */
    oAuthProviders: z.array(z.string()),
    customOAuthProviders: z.array(z.string()),
    /** As GET /api/auth/smtp-config. */
    smtpConfig: smtpConfigResponseSchema,
  }),
  database: databaseMetadataSchema,
  storage: z.object({ buckets: z.array(z.unknown()), totalSizeInGB: z.number() }),
  functions: z.array(z.unknown()),
  realtime: z.object({
    channels: z.array(z.unknown()),
    permissions: realtimePermissionsSchema,
  }),
});
export type ProjectMetadata = z.infer<typeof projectMetadataSchema>;

/** `GET /api/metadata/overview`: the dashboard overview's counts, from one cheap query. */
export const projectOverviewSchema = z.object({
  /** Exact up to 10 000 users; above, the planner's estimate (`estimated: true`). */
  users: z.object({ count: z.number().int(), estimated: z.boolean() }),
  /** Tables (and views) of the exposed schemas. */
  tables: z.number().int(),
  views: z.number().int(),
  buckets: z.number().int(),
  /** Edge functions. */
  functions: z.number().int(),
  /** Realtime channel patterns. */
  channels: z.number().int(),
  databaseSizeBytes: z.number().int(),
  exposedSchemas: z.array(z.string()),
});

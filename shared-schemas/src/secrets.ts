import { z } from 'zod';

/** A secret's name: what the function sees as an environment variable. */
export const secretKeySchema = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'must be an environment variable name (A-Z, 0-9, _)');

const secretValueSchema = z
  .string()
  .min(1)
  .max(64 * 1024);

/** POST /api/secrets */
export const createSecretRequestSchema = z.object({
  key: secretKeySchema,
  value: secretValueSchema,
  /** When the secret stops being given to functions (null: never). */
  expiresAt: z.iso.datetime({ offset: true }).nullable().optional(),
});
export type CreateSecretRequest = z.infer<typeof createSecretRequestSchema>;

/** PUT /api/secrets/{key}: at least one field. */
export const updateSecretRequestSchema = z
  .object({
    value: secretValueSchema.optional(),
    isActive: z.boolean().optional(),
    expiresAt: z.iso.datetime({ offset: true }).nullable().optional(),
  })
  .refine((v) => Object.keys(v).length > 0, 'send value, isActive or expiresAt');
export type UpdateSecretRequest = z.infer<typeof updateSecretRequestSchema>;

/** `{key}` in the path: any name (an unknown one is 404 SECRET_NOT_FOUND). */
export const secretKeyParamsSchema = z.object({ key: z.string() });

/**
 * One secret in the list, its value masked. Reserved ones (INSFORGE_BASE_URL, ANON_KEY, …) are
 * provided by Kiln: always active; their dates are the project's set-up time.
 *
 * `id` is the key (Kiln names a secret by its key; InsForge's clients read an `id`), and
 * `lastUsedAt` is always null: Kiln does not record when a function reads a secret.
 */
export const secretSummarySchema = z.union([
  z.object({
    id: z.string(),
    key: z.string(),
    maskedValue: z.string(),
    isActive: z.literal(true),
    isReserved: z.literal(true),
    lastUsedAt: z.null(),
    expiresAt: z.null(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  }),
  z.object({
    id: z.string(),
    key: z.string(),
    maskedValue: z.string(),
    lastUsedAt: z.null(),
    /** Sealed with an encryption key Kiln no longer has (see ENCRYPTION_KEY_PREVIOUS). */
    unreadable: z.literal(true).optional(),
    isActive: z.boolean(),
    isReserved: z.literal(false),
    expiresAt: z.iso.datetime().nullable(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  }),
]);
export type SecretSummary = z.infer<typeof secretSummarySchema>;

/** GET /api/secrets */
export const listSecretsResponseSchema = z.object({ secrets: z.array(secretSummarySchema) });
export type ListSecretsResponse = z.infer<typeof listSecretsResponseSchema>;

/** GET /api/secrets/{key}: the plain value. */
export const secretResponseSchema = z.union([
  z.object({ key: z.string(), value: z.string(), isReserved: z.literal(true) }),
  z.object({
    key: z.string(),
    value: z.string(),
    isActive: z.boolean(),
    isReserved: z.literal(false),
    expiresAt: z.iso.datetime().nullable(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  }),
]);
export type SecretResponse = z.infer<typeof secretResponseSchema>;

/** POST, PUT and DELETE /api/secrets… (`id` is the key, as in the list). */
export const secretChangedResponseSchema = z.object({
  success: z.literal(true),
  message: z.string(),
  id: z.string(),
  key: z.string(),
});
export type SecretChangedResponse = z.infer<typeof secretChangedResponseSchema>;

import { z } from 'zod';

/**
 * A published public key (RFC 7517): EC P-256 (`ES256`: crv, x, y) or RSA (`RS256`: n, e), with
 * the `kid` access tokens name in their header.
 */
export const publishedJwkSchema = z
  .object({
    kty: z.enum(['EC', 'RSA']),
    kid: z.string(),
    alg: z.enum(['ES256', 'RS256']),
    use: z.literal('sig'),
    crv: z.string().optional(),
    x: z.string().optional(),
    y: z.string().optional(),
    n: z.string().optional(),
    e: z.string().optional(),
  })
  .loose();

/** GET /.well-known/jwks.json: the keys that verify Kiln's access tokens (none under HS256). */
export const jwksResponseSchema = z.object({ keys: z.array(publishedJwkSchema) });
export type JwksResponse = z.infer<typeof jwksResponseSchema>;

/** GET /api/auth/signing-keys: the stored keys that still verify, never their private halves. */
export const listSigningKeysResponseSchema = z.object({
  /** JWT_ALGORITHM: what new tokens are signed with. */
  algorithm: z.enum(['HS256', 'ES256', 'RS256']),
  data: z.array(
    z.object({
      kid: z.string(),
      algorithm: z.enum(['ES256', 'RS256']),
      /** The key new tokens are signed with. */
      signing: z.boolean(),
      createdAt: z.string(),
      /** When it stopped signing (a rotation), and until when its tokens verify. */
      retiredAt: z.string().nullable(),
      expiresAt: z.string().nullable(),
    }),
  ),
});
export type ListSigningKeysResponse = z.infer<typeof listSigningKeysResponseSchema>;

/** POST /api/auth/signing-keys/rotate */
export const rotateSigningKeyRequestSchema = z
  .object({
    /**
     * How long (seconds) tokens signed with the previous key keep verifying, and that key stays
     * published. Default: JWT_KEY_ROTATION_OVERLAP_SECONDS. 0 refuses them at once.
     */
    overlapSeconds: z
      .number()
      .int()
      .min(0)
      .max(30 * 24 * 3600)
      .optional(),
  })
  .optional();
export type RotateSigningKeyRequest = z.infer<typeof rotateSigningKeyRequestSchema>;

export const rotateSigningKeyResponseSchema = z.object({
  kid: z.string(),
  algorithm: z.enum(['ES256', 'RS256']),
  previousKid: z.string().nullable(),
  /** Until when tokens of the previous key verify (null: there was none). */
  previousValidUntil: z.string().nullable(),
});
export type RotateSigningKeyResponse = z.infer<typeof rotateSigningKeyResponseSchema>;

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).max(2048);

/** POST /api/auth/trusted-issuers */
export const createTrustedIssuerRequestSchema = z.object({
  /** Exactly the `iss` of the provider's tokens (e.g. https://keycloak.example.com/realms/app). */
  issuer: z.string().trim().min(1).max(2048),
  /** Where the provider publishes its public keys. */
  jwksUrl: httpUrl,
  /** The audience the tokens must be issued for (`aud`). */
  audience: z.string().trim().min(1).max(2048),
  /**
   * Optional dotted path of the claim holding the user's roles (`realm_access.roles`,
   * `https://example.com/roles`…): its value (a string or a list) becomes `app_roles`.
   */
  roleClaim: z
    .string()
    .regex(/^[A-Za-z0-9_:/.-]{1,200}$/, 'must be a claim name or dotted path')
    .nullable()
    .optional(),
});
export type CreateTrustedIssuerRequest = z.infer<typeof createTrustedIssuerRequestSchema>;

export const trustedIssuerSchema = z.object({
  id: z.string(),
  issuer: z.string(),
  jwksUrl: z.string(),
  audience: z.string(),
  roleClaim: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type TrustedIssuerResponse = z.infer<typeof trustedIssuerSchema>;

export const listTrustedIssuersResponseSchema = z.object({
  data: z.array(trustedIssuerSchema),
});

export const trustedIssuerParamsSchema = z.object({
  id: z.uuid({ error: 'must be a trusted issuer id (uuid)' }),
});

export const trustedIssuerDeletedResponseSchema = z.object({
  message: z.string(),
  id: z.string(),
});

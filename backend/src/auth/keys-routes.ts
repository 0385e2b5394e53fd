/**
 * Keys other services can verify: the published JWK Set (at InsForge's paths,
 * `/.well-known/jwks.json` and `/api/.well-known/jwks.json`, and under `/api/auth/`), the signing
 * key rotation, and the trusted outside issuers. Mounted at `/`: the paths are whole.
 */
import {
  createTrustedIssuerRequestSchema,
  jwksResponseSchema,
  listSigningKeysResponseSchema,
  listTrustedIssuersResponseSchema,
  rotateSigningKeyRequestSchema,
  rotateSigningKeyResponseSchema,
  trustedIssuerDeletedResponseSchema,
  trustedIssuerParamsSchema,
  trustedIssuerSchema,
} from '@kiln/shared-schemas';
import type { TrustedIssuers } from '../core/auth/issuers.js';
import type { SigningKeys } from '../core/auth/signing-keys.js';
import { AppError } from '../core/errors.js';
import { route, type DeclaredRoute, type RouteGroup } from '../core/route.js';

export function signingKeyRoutes(
  keys: SigningKeys,
  issuers: TrustedIssuers,
  options: { defaultOverlapSeconds: number },
): RouteGroup {
  const jwks = (path: string): DeclaredRoute =>
    route({
      method: 'get',
      path,
      access: 'anyone',
      summary: 'The public keys that verify access tokens (JWK Set)',
      description:
        'With JWT_ALGORITHM=ES256 or RS256: the signing key and any rotated key still in its ' +
        'overlap window; tokens name theirs in the `kid` header. Empty under HS256 (the shared ' +
        'secret is never published).',
      responses: { 200: jwksResponseSchema },
      handler: async ({ res }) => {
        res.setHeader('cache-control', 'public, max-age=300');
        return keys.jwks();
      },
    });
  return {
    tag: 'auth',
    routes: [
      jwks('/.well-known/jwks.json'),
      jwks('/api/.well-known/jwks.json'),
      jwks('/api/auth/.well-known/jwks.json'),
      route({
        method: 'get',
        path: '/api/auth/signing-keys',
        access: 'admin',
        summary: 'The signing keys that still verify (no key material)',
        responses: { 200: listSigningKeysResponseSchema },
        handler: async () => ({ algorithm: keys.algorithm, data: await keys.list() }),
      }),
      route({
        method: 'post',
        path: '/api/auth/signing-keys/rotate',
        access: 'admin',
        summary: 'Rotate the access token signing key',
        description:
          'A new key signs from now on; tokens signed with the previous one keep verifying, and ' +
          'it stays published, for `overlapSeconds` (default JWT_KEY_ROTATION_OVERLAP_SECONDS).',
        body: rotateSigningKeyRequestSchema,
        responses: { 200: rotateSigningKeyResponseSchema },
        errors: { 409: ['AUTH_SIGNING_KEY_NOT_ROTATABLE'] },
        handler: async ({ body }) => {
          const rotated = await keys.rotate(body?.overlapSeconds ?? options.defaultOverlapSeconds);
          return {
            ...rotated,
            previousValidUntil: rotated.previousValidUntil?.toISOString() ?? null,
          };
        },
      }),
      route({
        method: 'get',
        path: '/api/auth/trusted-issuers',
        access: 'admin',
        summary: 'Outside identity providers whose tokens are accepted',
        responses: { 200: listTrustedIssuersResponseSchema },
        handler: async () => ({ data: await issuers.list() }),
      }),
      route({
        method: 'post',
        path: '/api/auth/trusted-issuers',
        access: 'admin',
        summary: 'Trust an outside identity provider',
        description:
          'Access tokens whose `iss` is `issuer`, whose `aud` includes `audience` and whose ' +
          'signature verifies with a key of `jwksUrl` are accepted as `authenticated`, their ' +
          'claims readable with auth.jwt() (auth.uid() is their `sub` when it is a uuid).',
        body: createTrustedIssuerRequestSchema,
        responses: { 201: { description: 'Created', schema: trustedIssuerSchema } },
        errors: { 409: ['AUTH_ISSUER_EXISTS'] },
        handler: async ({ body }) => {
          const created = await issuers.create(body);
          if (!created) {
            throw new AppError(
              409,
              'AUTH_ISSUER_EXISTS',
              `The issuer ${body.issuer} is already trusted`,
              'Delete it first to change its settings',
            );
          }
          return created;
        },
      }),
      route({
        method: 'delete',
        path: '/api/auth/trusted-issuers/:id',
        access: 'admin',
        summary: 'Stop trusting an outside identity provider',
        params: trustedIssuerParamsSchema,
        responses: { 200: trustedIssuerDeletedResponseSchema },
        errors: { 404: ['AUTH_ISSUER_NOT_FOUND'] },
        handler: async ({ params }) => {
          if (!(await issuers.remove(params.id))) {
            throw new AppError(404, 'AUTH_ISSUER_NOT_FOUND', 'No trusted issuer has this id');
          }
          return { message: 'Trusted issuer removed', id: params.id };
        },
      }),
    ],
  };
}

/**
 * Native sign-in with a provider's ID token (Google, Apple): the app signs the user in with the
 * platform SDK and sends us the ID token; we verify it against the provider's published keys
 * (JWKS, with `jose`), its issuer, our client ids as audience, its expiry and the nonce.
 */
import crypto from 'node:crypto';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { AppError } from '../core/errors.js';

export type IdTokenProvider = 'google' | 'apple';

export interface IdTokenProviderConfig {
  issuers: string[];
  jwksUrl: string;
  /** Our client ids (web, iOS, Android...): the token must be for one of them. */
  audiences: string[];
}

export interface VerifiedIdentity {
  provider: IdTokenProvider;
  providerUserId: string;
  email?: string;
  emailVerified: boolean;
  name?: string;
  avatarUrl?: string;
}

export const ID_TOKEN_DEFAULTS: Record<
  IdTokenProvider,
  Omit<IdTokenProviderConfig, 'audiences'>
> = {
  google: {
    issuers: ['https://accounts.google.com', 'accounts.google.com'],
    jwksUrl: 'https://www.googleapis.com/oauth2/v3/certs',
  },
  apple: { issuers: ['https://appleid.apple.com'], jwksUrl: 'https://appleid.apple.com/auth/keys' },
};

const invalid = (why: string) =>
  new AppError(401, 'AUTH_INVALID_ID_TOKEN', `The ID token was refused: ${why}`);

export class IdTokenVerifier {
  private readonly keySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

  constructor(
    private readonly providers: Partial<Record<IdTokenProvider, IdTokenProviderConfig>>,
  ) {}

  configured(): IdTokenProvider[] {
    return (Object.keys(this.providers) as IdTokenProvider[]).filter(
      (p) => this.providers[p]?.audiences.length,
    );
  }

  async verify(
    provider: IdTokenProvider,
    token: string,
    nonce?: string,
  ): Promise<VerifiedIdentity> {
    const config = this.providers[provider];
    if (!config?.audiences.length) {
      throw new AppError(
        400,
        'AUTH_PROVIDER_NOT_CONFIGURED',
        `${provider} sign-in is not configured`,
        `Set ${provider.toUpperCase()}_CLIENT_ID`,
      );
    }
    let keys = this.keySets.get(config.jwksUrl);
    if (!keys) {
      keys = createRemoteJWKSet(new URL(config.jwksUrl), { cooldownDuration: 30_000 });
      this.keySets.set(config.jwksUrl, keys);
    }
    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(token, keys, {
        issuer: config.issuers,
        audience: config.audiences,
        algorithms: ['RS256', 'ES256'],
        requiredClaims: ['sub', 'exp', 'iat'],
      }));
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) throw invalid('it has expired');
      if (err instanceof joseErrors.JWTClaimValidationFailed) {
        throw invalid(`its "${err.claim}" claim does not match`);
      }
      if (
        err instanceof joseErrors.JWSSignatureVerificationFailed ||
        err instanceof joseErrors.JWKSNoMatchingKey
      ) {
        throw invalid('its signature does not verify with the provider’s keys');
      }
      throw invalid(err instanceof Error ? err.message : 'malformed');
    }
    if (nonce !== undefined || claims.nonce !== undefined) {
      // Apple carries the SHA-256 of the nonce the app generated; Google the nonce itself.
      const hashed = nonce ? crypto.createHash('sha256').update(nonce).digest('hex') : undefined;
      if (!nonce || (claims.nonce !== nonce && claims.nonce !== hashed)) {
        throw invalid('its nonce does not match');
      }
    }
    const email = typeof claims.email === 'string' ? claims.email : undefined;
    const verified = claims.email_verified === true || claims.email_verified === 'true';
    return {
      provider,
      providerUserId: claims.sub!,
      email,
      emailVerified: Boolean(email) && verified,
      name: typeof claims.name === 'string' ? claims.name : undefined,
      avatarUrl: typeof claims.picture === 'string' ? claims.picture : undefined,
    };
  }
}

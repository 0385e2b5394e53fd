import { SignJWT, decodeJwt, decodeProtectedHeader, jwtVerify, errors as joseErrors } from 'jose';
import type { Role } from '@kiln/shared-schemas';
import type { SessionRevocations } from './revocations.js';
import { SigningKeys } from './signing-keys.js';
import type { OutsideVerifyResult, TrustedIssuers } from './issuers.js';

export const ADMIN_SUBJECT = '00000000-0000-0000-0000-00000000a0a0';

export interface AccessClaims {
  sub: string;
  role: Extract<Role, 'authenticated' | 'project_admin'>;
  email?: string;
  /** The session the token belongs to: required, and refused once that session has ended. */
  sid: string;
  /** Authenticator assurance level: aal2 once a second factor was checked. */
  aal?: 'aal1' | 'aal2';
  is_anonymous?: boolean;
  /**
   * Claims beyond Kiln's own (`app_metadata`, `user_metadata`, `app_roles` and whatever the
   * custom-claims hook adds), signed alongside them; Kiln's own claims always win on a clash.
   */
  custom?: Record<string, unknown>;
}

/** Claims Kiln sets itself or the JWT standard reserves: never taken from `custom`. */
export const RESERVED_CLAIMS: ReadonlySet<string> = new Set([
  'sub',
  'role',
  'email',
  'sid',
  'aal',
  'is_anonymous',
  'iss',
  'iat',
  'exp',
  'nbf',
  'aud',
  'jti',
]);

export type VerifyResult =
  | { ok: true; claims: AccessClaims & { iat: number; exp: number } }
  | { ok: false; reason: 'expired' | 'invalid' | 'ended' };

const ISSUER = 'kiln';

/**
 * Signs and verifies access JWTs with the project's signing keys (JWT_ALGORITHM): HS256 with
 * JWT_SECRET, or ES256/RS256 with a published key named by `kid`. The algorithms are pinned per
 * mode and each key verifies only its own algorithm: no `none`, no RS/HS confusion. Every
 * token names its session (`sid`); a token of a session that has ended (signed out, revoked, its
 * user deleted) is refused, checked against the in-memory list of ended sessions.
 */
export class TokenService {
  private readonly keys: SigningKeys;

  /**
   * `keys`: the signing keys (core/auth/signing-keys.ts), or just JWT_SECRET (HS256).
   * `outside`: trusted outside issuers whose tokens `verifyOutside` accepts.
   */
  constructor(
    keys: SigningKeys | string,
    private readonly revocations: SessionRevocations,
    private readonly outside?: TrustedIssuers,
  ) {
    this.keys = typeof keys === 'string' ? new SigningKeys('HS256', keys) : keys;
  }

  /**
   * A token from a trusted outside issuer, verified against that issuer's published keys; undefined
   * when the token is not one (it is Kiln's own, or malformed: `verify` answers for those). A token
   * naming an issuer Kiln does not trust is refused here.
   */
  async verifyOutside(token: string): Promise<OutsideVerifyResult | undefined> {
    if (!this.outside) return undefined;
    // A token this service verified before, with a key that still verifies, is Kiln's own: the
    // hot path skips decoding it again here.
    const cached = this.verified.get(token);
    if (cached && this.keys.isLiveNow(cached.kid)) return undefined;
    let iss: unknown;
    let header: { alg?: string; kid?: string };
    try {
      iss = decodeJwt(token).iss;
      header = decodeProtectedHeader(token);
    } catch {
      return undefined;
    }
    if (typeof iss !== 'string') return undefined;
    // Kiln's own tokens; another Kiln's (also `iss: kiln`) only when it is configured as an issuer
    // and the token names a key this project does not have.
    if (iss === ISSUER && ((await this.keys.knows(header)) || !(await this.outside.trusts(iss))))
      return undefined;
    if (!(await this.outside.trusts(iss))) return { ok: false, reason: 'invalid' };
    return this.outside.verify(token, iss);
  }

  async sign(claims: AccessClaims, ttlSeconds: number): Promise<string> {
    const { sub, custom, ...rest } = claims;
    const { alg, kid, key } = await this.keys.signingKey();
    return new SignJWT({ ...custom, ...rest })
      .setProtectedHeader({ alg, typ: 'JWT', ...(kid ? { kid } : {}) })
      .setSubject(sub)
      .setIssuer(ISSUER)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
      .sign(key);
  }

  /**
   * Verified tokens, so the hot path skips re-verifying the same token on every request (jose's
   * HS256 verify costs ~0.2 ms). Keyed by the whole token; an entry is used only before its `exp`
   * and while the key that signed it still verifies (a rotated key's overlap window ends).
   */
  private readonly verified = new Map<
    string,
    { result: Extract<VerifyResult, { ok: true }>; kid: string | undefined }
  >();
  private static readonly CACHE_LIMIT = 10_000;

  async verify(token: string): Promise<VerifyResult> {
    const result = await this.verifySignature(token);
    if (result.ok && this.revocations.isEnded(result.claims.sid)) {
      this.verified.delete(token);
      return { ok: false, reason: 'ended' };
    }
    return result;
  }

  private async verifySignature(token: string): Promise<VerifyResult> {
    const cached = this.verified.get(token);
    if (cached) {
      const live = await this.keys.stillVerifies(cached.kid);
      if (live && cached.result.claims.exp * 1000 > Date.now()) return cached.result;
      this.verified.delete(token);
      return { ok: false, reason: live ? 'expired' : 'invalid' };
    }
    const result = await this.verifyUncached(token);
    if (result.ok) {
      if (this.verified.size >= TokenService.CACHE_LIMIT) {
        // Drop the oldest entry (Map keeps insertion order).
        this.verified.delete(this.verified.keys().next().value!);
      }
      this.verified.set(token, { result, kid: decodeProtectedHeader(token).kid });
    }
    return result;
  }

  private async verifyUncached(token: string): Promise<VerifyResult> {
    try {
      const { payload } = await jwtVerify(token, this.keys.verificationKey, {
        algorithms: this.keys.algorithms,
        issuer: ISSUER,
        requiredClaims: ['sub', 'exp', 'iat'],
      });
      const role = payload.role;
      if (role !== 'authenticated' && role !== 'project_admin')
        return { ok: false, reason: 'invalid' };
      if (typeof payload.sub !== 'string') return { ok: false, reason: 'invalid' };
      // Tokens without a session (admin tokens of earlier versions) cannot be revoked: refused.
      if (typeof payload.sid !== 'string' || !payload.sid) return { ok: false, reason: 'invalid' };
      return {
        ok: true,
        claims: {
          sub: payload.sub,
          role,
          ...(typeof payload.email === 'string' ? { email: payload.email } : {}),
          sid: payload.sid,
          ...(payload.aal === 'aal1' || payload.aal === 'aal2' ? { aal: payload.aal } : {}),
          ...(payload.is_anonymous === true ? { is_anonymous: true } : {}),
          ...customClaimsOf(payload),
          iat: payload.iat as number,
          exp: payload.exp as number,
        },
      };
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) return { ok: false, reason: 'expired' };
      return { ok: false, reason: 'invalid' };
    }
  }
}

/** The payload's claims that are not Kiln's own nor reserved, as `custom` (absent when none). */
function customClaimsOf(payload: Record<string, unknown>): { custom?: Record<string, unknown> } {
  const custom = Object.fromEntries(
    Object.entries(payload).filter(([name]) => !RESERVED_CLAIMS.has(name)),
  );
  return Object.keys(custom).length ? { custom } : {};
}

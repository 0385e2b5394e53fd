/**
 * Trusted outside issuers: identity providers (Keycloak, Auth0, Clerk, Cognito, another Kiln)
 * whose access tokens Kiln accepts as `authenticated`, so RLS policies work with an existing
 * identity provider. An admin configures the issuer (the token's `iss`), its JWKS URL, the
 * audience the tokens must be for and, optionally, the claim holding the user's roles.
 *
 * The issuer list is cached and re-read when the database announces a change (migration 0039);
 * each JWKS is fetched on first use, kept for ten minutes, and fetched again when a token names a
 * key it does not hold (at most every 30 s per issuer: a flood of made-up `kid`s cannot turn into
 * a flood of requests to the provider). Only asymmetric algorithms are accepted.
 *
 * The PostgreSQL role is always `authenticated`. The token's claims reach SQL as they are
 * (auth.jwt()), with `role` set to `authenticated` and `app_roles` taken only from the configured
 * role claim. auth.uid() is the `sub` when it is a uuid and NULL otherwise (Auth0's `auth0|…`,
 * Clerk's `user_…`): policies for such providers compare `auth.jwt()->>'sub'`.
 */
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import type { Database } from '../db.js';

export interface TrustedIssuer {
  id: string;
  issuer: string;
  jwksUrl: string;
  audience: string;
  roleClaim: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface TrustedIssuerInput {
  issuer: string;
  jwksUrl: string;
  audience: string;
  roleClaim?: string | null;
}

export type OutsideVerifyResult =
  | { ok: true; issuer: string; sub: string; claims: Record<string, unknown> }
  | { ok: false; reason: 'expired' | 'invalid' };

const ALGORITHMS = [
  'ES256',
  'ES384',
  'ES512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'EdDSA',
];
const CACHE_TTL_MS = 30_000;

interface Row {
  id: string;
  issuer: string;
  jwks_url: string;
  audience: string;
  role_claim: string | null;
  created_at: Date;
  updated_at: Date;
}

const toIssuer = (r: Row): TrustedIssuer => ({
  id: r.id,
  issuer: r.issuer,
  jwksUrl: r.jwks_url,
  audience: r.audience,
  roleClaim: r.role_claim,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

/** The value at a dotted path (`realm_access.roles`), as a list of role names. */
function rolesAt(claims: JWTPayload, path: string): string[] {
  let value: unknown = claims;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return [];
    value = (value as Record<string, unknown>)[part];
  }
  if (typeof value === 'string') return value ? [value] : [];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string' && !!v);
  return [];
}

export class TrustedIssuers {
  private byIssuer = new Map<string, TrustedIssuer>();
  private loadedAt = 0;
  private loading: Promise<void> | undefined;
  private readonly keySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

  constructor(private readonly db: Database) {}

  async list(): Promise<TrustedIssuer[]> {
    const { rows } = await this.db.query<Row>(
      `SELECT * FROM system.trusted_issuers ORDER BY created_at, issuer`,
    );
    return rows.map(toIssuer);
  }

  async get(id: string): Promise<TrustedIssuer | undefined> {
    const { rows } = await this.db.query<Row>(
      `SELECT * FROM system.trusted_issuers WHERE id = $1`,
      [id],
    );
    return rows[0] ? toIssuer(rows[0]) : undefined;
  }

  /** Adds an issuer; undefined when one with that `issuer` exists. */
  async create(input: TrustedIssuerInput): Promise<TrustedIssuer | undefined> {
    const { rows } = await this.db.query<Row>(
      `INSERT INTO system.trusted_issuers (issuer, jwks_url, audience, role_claim)
       VALUES ($1, $2, $3, $4) ON CONFLICT (issuer) DO NOTHING RETURNING *`,
      [input.issuer, input.jwksUrl, input.audience, input.roleClaim ?? null],
    );
    await this.refresh();
    return rows[0] ? toIssuer(rows[0]) : undefined;
  }

  async remove(id: string): Promise<boolean> {
    const { rowCount } = await this.db.query(`DELETE FROM system.trusted_issuers WHERE id = $1`, [
      id,
    ]);
    await this.refresh();
    return Boolean(rowCount);
  }

  /** Whether tokens naming `iss` are checked against an outside issuer's keys. */
  async trusts(iss: string): Promise<boolean> {
    return (await this.find(iss)) !== undefined;
  }

  async verify(token: string, iss: string): Promise<OutsideVerifyResult> {
    const config = await this.find(iss);
    if (!config) return { ok: false, reason: 'invalid' };
    let keys = this.keySets.get(config.jwksUrl);
    if (!keys) {
      keys = createRemoteJWKSet(new URL(config.jwksUrl), {
        cooldownDuration: 30_000,
        cacheMaxAge: 600_000,
        timeoutDuration: 5_000,
      });
      this.keySets.set(config.jwksUrl, keys);
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: config.issuer,
        audience: config.audience,
        algorithms: ALGORITHMS,
        requiredClaims: ['sub', 'exp'],
      }));
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) return { ok: false, reason: 'expired' };
      return { ok: false, reason: 'invalid' };
    }
    if (typeof payload.sub !== 'string' || !payload.sub) return { ok: false, reason: 'invalid' };
    const claims: Record<string, unknown> = { ...payload, role: 'authenticated' };
    delete claims.app_roles;
    if (config.roleClaim) claims.app_roles = rolesAt(payload, config.roleClaim);
    return { ok: true, issuer: config.issuer, sub: payload.sub, claims };
  }

  invalidate(): void {
    this.loadedAt = 0;
  }

  async refresh(): Promise<void> {
    this.invalidate();
    await this.loading?.catch(() => undefined);
    await this.reload();
  }

  /**
   * Changes are announced (and made here by create/remove, which re-read at once), so an unknown
   * `iss` never costs a query: the list is re-read only every CACHE_TTL_MS as a safety net.
   */
  private async find(iss: string): Promise<TrustedIssuer | undefined> {
    if (Date.now() - this.loadedAt > CACHE_TTL_MS) await this.reload();
    return this.byIssuer.get(iss);
  }

  private reload(): Promise<void> {
    this.loading ??= (async () => {
      try {
        const issuers = await this.list();
        this.byIssuer = new Map(issuers.map((i) => [i.issuer, i]));
        this.loadedAt = Date.now();
      } finally {
        this.loading = undefined;
      }
    })();
    return this.loading;
  }
}

/**
 * OAuth sign-in with PKCE on both legs, for custom OpenID Connect providers (configured by
 * discovery URL; the provider conversation is `openid-client`'s):
 *
 *   app ──GET /oauth/custom/:key?redirect_uri&code_challenge──▶ Kiln ──{authUrl}──▶ app
 *   browser ──authUrl──▶ provider ──/oauth/custom/:key/callback?code&state──▶ Kiln
 *   Kiln ──302 redirect_uri?insforge_code=…──▶ app ──POST /oauth/exchange {code, code_verifier}──▶ session
 *
 * `state` is a random, single-use, ten-minute row bound to the app's redirect URI and PKCE
 * challenge; the provider leg has its own PKCE verifier and nonce; the code the app receives is
 * single-use, lives two minutes and needs the verifier whose S256 challenge started the flow.
 */
import crypto from 'node:crypto';
import * as oidc from 'openid-client';
import type { Database } from '../core/db.js';
import { AppError } from '../core/errors.js';
import type { SecretBox } from '../core/crypto.js';
import type { AuthService } from './service.js';
import { isAllowedRedirect } from './redirects.js';
import { BUILT_IN_PROVIDERS } from './providers/index.js';
import type { User } from '@kiln/shared-schemas';

const STATE_TTL_MINUTES = 10;
const CODE_TTL_SECONDS = 120;

interface ProviderRow {
  key: string;
  custom: boolean;
  name: string | null;
  client_id: string;
  client_secret_encrypted: string | null;
  scopes: string[];
  discovery_url: string | null;
  enabled: boolean;
  created_at: Date;
  updated_at: Date;
}

export const providerJson = (r: ProviderRow) => ({
  key: r.key,
  custom: r.custom,
  name: r.name,
  clientId: r.client_id,
  hasClientSecret: Boolean(r.client_secret_encrypted),
  scopes: r.scopes,
  discoveryUrl: r.discovery_url,
  enabled: r.enabled,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

const S256 = (verifier: string) => crypto.createHash('sha256').update(verifier).digest('base64url');

export class OAuthService {
  private readonly discovered = new Map<
    string,
    { at: number; config: Promise<oidc.Configuration> }
  >();

  constructor(
    private readonly db: Database,
    private readonly box: SecretBox,
    private readonly auth: AuthService,
    private readonly options: {
      apiBaseUrl: () => string;
      key: Buffer;
      /** Client ids and secrets from the environment (GOOGLE_CLIENT_ID...), used when no row. */
      envDefaults: Record<string, { clientId?: string; clientSecret?: string }>;
      /** Tests only: every built-in provider endpoint is served under `<base>/<provider>/...`. */
      testBaseUrl?: string;
    },
  ) {}

  /** A built-in provider's endpoint, or its stand-in in tests. */
  private endpoint(provider: string, real: string): string {
    if (!this.options.testBaseUrl) return real;
    const u = new URL(real);
    return `${this.options.testBaseUrl}/${provider}${u.pathname}${u.search}`;
  }

  /** What a built-in provider is configured with: the admin's row, else the environment. */
  private async builtIn(key: string) {
    const provider = BUILT_IN_PROVIDERS[key];
    if (!provider) throw notConfigured(key);
    const row = await this.row(key, false);
    if (row) {
      if (!row.enabled) throw notConfigured(key);
      return {
        provider,
        clientId: row.client_id,
        clientSecret: row.client_secret_encrypted
          ? this.box.decrypt(row.client_secret_encrypted)
          : undefined,
        scopes: row.scopes.length ? row.scopes : provider.scopes,
      };
    }
    const env = this.options.envDefaults[key];
    if (!env?.clientId) throw notConfigured(key);
    return {
      provider,
      clientId: env.clientId,
      clientSecret: env.clientSecret,
      scopes: provider.scopes,
    };
  }

  // ---- admin ----------------------------------------------------------------------------

  async list() {
    const { rows } = await this.db.query<ProviderRow>(
      'SELECT * FROM auth.oauth_providers ORDER BY custom, key',
    );
    return rows.map(providerJson);
  }

  /**
   * The providers a client may offer (public config): built-in ones with an enabled row, or with
   * a client id from the environment and no row; custom OpenID Connect ones that are enabled.
   * The same rule `start` applies.
   */
  async enabledKeys(): Promise<{ builtIn: string[]; custom: string[] }> {
    const { rows } = await this.db.query<Pick<ProviderRow, 'key' | 'custom' | 'enabled'>>(
      'SELECT key, custom, enabled FROM auth.oauth_providers ORDER BY key',
    );
    const rowOf = new Map(rows.filter((r) => !r.custom).map((r) => [r.key, r]));
    const builtIn = Object.keys(BUILT_IN_PROVIDERS)
      .filter((key) => {
        const row = rowOf.get(key);
        return row ? row.enabled : Boolean(this.options.envDefaults[key]?.clientId);
      })
      .sort();
    const custom = rows.filter((r) => r.custom && r.enabled).map((r) => r.key);
    return { builtIn, custom };
  }

  async get(key: string, custom: boolean) {
    const row = await this.row(key, custom);
    if (!row) throw notConfigured(key);
    return providerJson(row);
  }

  async put(
    key: string,
    custom: boolean,
    input: {
      name?: string | null;
      clientId: string;
      clientSecret?: string | null;
      scopes?: string[];
      discoveryUrl?: string | null;
      enabled?: boolean;
    },
  ) {
    if (custom && !input.discoveryUrl) {
      throw new AppError(
        400,
        'INVALID_INPUT',
        'discoveryUrl: is required for a custom OIDC provider',
      );
    }
    const { rows } = await this.db.query<ProviderRow>(
      `INSERT INTO auth.oauth_providers (key, custom, name, client_id, client_secret_encrypted, scopes, discovery_url, enabled)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (key) DO UPDATE SET name = EXCLUDED.name, client_id = EXCLUDED.client_id,
         client_secret_encrypted = CASE WHEN $9 THEN EXCLUDED.client_secret_encrypted ELSE auth.oauth_providers.client_secret_encrypted END,
         scopes = EXCLUDED.scopes, discovery_url = EXCLUDED.discovery_url, enabled = EXCLUDED.enabled
       WHERE auth.oauth_providers.custom = EXCLUDED.custom
       RETURNING *`,
      [
        key,
        custom,
        input.name ?? null,
        input.clientId,
        input.clientSecret ? this.box.encrypt(input.clientSecret) : null,
        input.scopes ?? ['openid', 'email', 'profile'],
        input.discoveryUrl ?? null,
        input.enabled ?? true,
        input.clientSecret !== undefined,
      ],
    );
    if (!rows[0]) {
      throw new AppError(
        409,
        'AUTH_OAUTH_KEY_TAKEN',
        `"${key}" is used by another kind of provider`,
      );
    }
    this.discovered.delete(key);
    return providerJson(rows[0]);
  }

  async remove(key: string, custom: boolean): Promise<void> {
    const { rowCount } = await this.db.query(
      'DELETE FROM auth.oauth_providers WHERE key = $1 AND custom = $2',
      [key, custom],
    );
    if (!rowCount) throw notConfigured(key);
    this.discovered.delete(key);
  }

  // ---- the flow -------------------------------------------------------------------------

  private async row(key: string, custom: boolean): Promise<ProviderRow | undefined> {
    const { rows } = await this.db.query<ProviderRow>(
      'SELECT * FROM auth.oauth_providers WHERE key = $1 AND custom = $2',
      [key, custom],
    );
    return rows[0];
  }

  private callbackUrl(key: string, custom = true): string {
    return `${this.options.apiBaseUrl()}/api/auth/oauth/${custom ? 'custom/' : ''}${key}/callback`;
  }

  /** The provider's OIDC configuration (discovery cached for an hour). */
  private configuration(row: ProviderRow): Promise<oidc.Configuration> {
    const cached = this.discovered.get(row.key);
    if (cached && Date.now() - cached.at < 3600_000) return cached.config;
    const url = new URL(row.discovery_url!);
    const secret = row.client_secret_encrypted
      ? this.box.decrypt(row.client_secret_encrypted)
      : undefined;
    const config = oidc
      .discovery(
        url,
        row.client_id,
        secret,
        secret ? oidc.ClientSecretBasic(secret) : oidc.None(),
        // Plain http only for a provider on this machine (development, tests).
        ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname)
          ? { execute: [oidc.allowInsecureRequests] }
          : undefined,
      )
      .catch((err: unknown) => {
        this.discovered.delete(row.key);
        throw new AppError(
          502,
          'AUTH_OAUTH_PROVIDER_UNAVAILABLE',
          `The provider's discovery document could not be read: ${(err as Error).message}`,
        );
      });
    this.discovered.set(row.key, { at: Date.now(), config });
    return config;
  }

  /** Whether the app's redirect URI is one Kiln may send a browser back to. */
  async isAllowedAppRedirect(redirectUri: string): Promise<boolean> {
    const allowed = (await this.auth.getConfig()).allowedRedirectUrls;
    return isAllowedRedirect(redirectUri, allowed, this.options.apiBaseUrl());
  }

  /** Where the app wants the code sent, and the challenge the code will be bound to. */
  private async checkAppReturn(redirectUri: string, codeChallenge: string): Promise<void> {
    if (!(await this.isAllowedAppRedirect(redirectUri))) {
      throw new AppError(
        400,
        'AUTH_REDIRECT_NOT_ALLOWED',
        `redirect_uri "${redirectUri.slice(0, 200)}" is not an allowed redirect URL`,
        'Add it to allowedRedirectUrls in PUT /api/auth/config',
      );
    }
    if (!/^[A-Za-z0-9_-]{43}$/.test(codeChallenge)) {
      throw new AppError(
        400,
        'INVALID_INPUT',
        'code_challenge: must be the base64url SHA-256 of a PKCE code verifier (S256)',
      );
    }
  }

  /**
   * The hosted pages (/auth) signed the user in: a code for the app that sent them there, bound
   * to the app's PKCE challenge and redeemed like a provider sign-in's (POST /oauth/exchange).
   * Answers the URL to send the browser to (`redirect_uri?insforge_code=…`).
   */
  async codeForSignedInUser(
    userId: string,
    redirectUri: string,
    codeChallenge: string,
    /** The page's session passed the second factor: so does the app's. */
    aal: 'aal1' | 'aal2',
  ): Promise<string> {
    await this.checkAppReturn(redirectUri, codeChallenge);
    const user = await this.auth.getUser(userId);
    const url = new URL(redirectUri);
    url.searchParams.set('insforge_code', await this.issueCode(user, codeChallenge, aal));
    return url.toString();
  }

  async start(
    key: string,
    redirectUri: string,
    codeChallenge: string,
    custom = true,
    /** An anonymous user starting the flow: the identity will be attached to them. */
    linkUserId?: string,
  ): Promise<string> {
    const row = custom ? await this.row(key, true) : undefined;
    const builtIn = custom ? undefined : await this.builtIn(key);
    if (custom && !row?.enabled) throw notConfigured(key);
    await this.checkAppReturn(redirectUri, codeChallenge);
    const state = crypto.randomBytes(32).toString('base64url');
    const verifier = oidc.randomPKCECodeVerifier();
    const nonce = oidc.randomNonce();
    await this.db.query(
      `INSERT INTO auth.oauth_states (id, provider, redirect_uri, code_challenge, provider_verifier, nonce, expires_at, link_user_id)
       VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(mins => $7), $8)`,
      [
        state,
        custom ? `custom:${key}` : key,
        redirectUri,
        codeChallenge,
        this.box.encrypt(verifier),
        nonce,
        STATE_TTL_MINUTES,
        linkUserId ?? null,
      ],
    );
    if (builtIn) {
      const p = builtIn.provider;
      const url = new URL(this.endpoint(p.name, p.authorizeUrl));
      url.searchParams.set('client_id', builtIn.clientId);
      url.searchParams.set('redirect_uri', this.callbackUrl(key, false));
      url.searchParams.set('response_type', 'code');
      url.searchParams.set('scope', builtIn.scopes.join(' '));
      url.searchParams.set('state', state);
      if (p.pkce) {
        url.searchParams.set('code_challenge', await oidc.calculatePKCECodeChallenge(verifier));
        url.searchParams.set('code_challenge_method', 'S256');
      }
      for (const [k, v] of Object.entries(p.authorizeParams ?? {})) url.searchParams.set(k, v);
      return url.toString();
    }
    const config = await this.configuration(row!);
    return oidc
      .buildAuthorizationUrl(config, {
        redirect_uri: this.callbackUrl(key),
        scope: row!.scopes.join(' ') || 'openid email profile',
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
        nonce,
      })
      .toString();
  }

  /**
   * The provider came back. Answers where to send the browser: the app's redirect URI with
   * `insforge_code`, or with `error` when the state was good but the sign-in failed. A bad or
   * replayed state has no trustworthy redirect URI: that is a 400 here.
   */
  async callback(key: string, currentUrl: URL, custom = true): Promise<string> {
    const stateId = currentUrl.searchParams.get('state') ?? '';
    const { rows } = await this.db.query<{
      redirect_uri: string;
      code_challenge: string;
      provider_verifier: string;
      nonce: string;
      link_user_id: string | null;
    }>(
      `UPDATE auth.oauth_states SET used_at = now()
        WHERE id = $1 AND provider = $2 AND used_at IS NULL AND expires_at > now()
        RETURNING redirect_uri, code_challenge, provider_verifier, nonce, link_user_id`,
      [stateId, custom ? `custom:${key}` : key],
    );
    const state = rows[0];
    if (!state) {
      throw new AppError(
        400,
        'AUTH_OAUTH_INVALID_STATE',
        'The sign-in state is missing, expired or already used',
        'Start the sign-in again from the app',
      );
    }
    const back = (params: Record<string, string>) => {
      const url = new URL(state.redirect_uri);
      for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
      return url.toString();
    };
    const providerError = currentUrl.searchParams.get('error');
    if (providerError) {
      return back({
        error: providerError,
        error_description:
          currentUrl.searchParams.get('error_description') ?? 'The provider refused',
      });
    }
    try {
      if (!custom) {
        const identity = await this.builtInIdentity(
          key,
          currentUrl,
          this.box.decrypt(state.provider_verifier),
        );
        return back({
          insforge_code: await this.signInOrDefer(state.link_user_id, state.code_challenge, {
            provider: key,
            ...identity,
          }),
        });
      }
      const row = await this.row(key, true);
      if (!row?.enabled) throw notConfigured(key);
      const config = await this.configuration(row);
      // The URL as the provider redirected to it (our public callback URL).
      const asSent = new URL(this.callbackUrl(key));
      asSent.search = currentUrl.search;
      const tokens = await oidc.authorizationCodeGrant(config, asSent, {
        pkceCodeVerifier: this.box.decrypt(state.provider_verifier),
        expectedState: stateId,
        expectedNonce: state.nonce,
        idTokenExpected: true,
      });
      const claims = tokens.claims()!;
      let info: Record<string, unknown> = { ...claims };
      if (!claims.email && tokens.access_token) {
        info = { ...info, ...(await oidc.fetchUserInfo(config, tokens.access_token, claims.sub)) };
      }
      const code = await this.signInOrDefer(state.link_user_id, state.code_challenge, {
        provider: key,
        providerUserId: claims.sub,
        email: typeof info.email === 'string' ? info.email : undefined,
        emailVerified: info.email_verified === true || info.email_verified === 'true',
        name: typeof info.name === 'string' ? info.name : undefined,
        avatarUrl: typeof info.picture === 'string' ? info.picture : undefined,
      });
      return back({ insforge_code: code });
    } catch (err) {
      const e = err instanceof AppError ? err : undefined;
      return back({
        error: e?.code ?? 'AUTH_OAUTH_FAILED',
        error_description: e?.message ?? `The provider sign-in failed: ${(err as Error).message}`,
      });
    }
  }

  /**
   * A plain sign-in happens now. An anonymous user's upgrade, or a signed-in user linking the
   * provider to their account (POST /api/auth/users/current/identities), waits for /oauth/exchange, where
   * the PKCE verifier proves the same client finishes what it started: otherwise anyone who
   * opened the provider link (a victim sent the attacker's link) would land in that account.
   * The checks run now too, so a refusal still goes back to the app as `error`.
   */
  private async signInOrDefer(
    linkUserId: string | null,
    codeChallenge: string,
    identity: Identity,
  ): Promise<string> {
    if (!linkUserId)
      return this.issueCode(await this.auth.signInWithIdentity(identity), codeChallenge);
    await this.auth.checkAttach(linkUserId, identity);
    const code = crypto.randomBytes(32).toString('base64url');
    await this.db.query(
      `INSERT INTO auth.oauth_codes (digest, link_user_id, identity, code_challenge, expires_at)
       VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))`,
      [this.digest(code), linkUserId, JSON.stringify(identity), codeChallenge, CODE_TTL_SECONDS],
    );
    return code;
  }

  /** Code → tokens at the provider's token endpoint → who signed in. */
  private async builtInIdentity(key: string, currentUrl: URL, verifier: string) {
    const { provider, clientId, clientSecret } = await this.builtIn(key);
    const code = currentUrl.searchParams.get('code');
    if (!code) throw new AppError(400, 'AUTH_OAUTH_FAILED', 'The provider sent no code');
    const form = new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: this.callbackUrl(key, false),
      ...(provider.pkce ? { code_verifier: verifier } : {}),
    });
    const headers: Record<string, string> = {
      accept: 'application/json',
      'content-type': 'application/x-www-form-urlencoded',
    };
    if (provider.tokenAuth === 'basic') {
      const pair = `${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret ?? '')}`;
      headers.authorization = `Basic ${Buffer.from(pair).toString('base64')}`;
    } else {
      form.set('client_id', clientId);
      if (clientSecret) form.set('client_secret', clientSecret);
    }
    const res = await fetch(this.endpoint(provider.name, provider.tokenUrl), {
      method: 'POST',
      headers,
      body: form,
      signal: AbortSignal.timeout(15_000),
    });
    const tokens = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    if (!res.ok || tokens.error || !(tokens.access_token || tokens.id_token)) {
      throw new AppError(
        502,
        'AUTH_OAUTH_TOKEN_EXCHANGE_FAILED',
        `${provider.label} refused the code: ${String(tokens.error_description ?? tokens.error ?? res.status)}`,
      );
    }
    const fetchJson = async (url: string, init?: { headers?: Record<string, string> }) => {
      const r = await fetch(url, {
        headers: { accept: 'application/json', ...init?.headers },
        signal: AbortSignal.timeout(15_000),
      });
      if (!r.ok) {
        throw new AppError(
          502,
          'AUTH_OAUTH_PROFILE_FAILED',
          `${provider.label} did not return the profile: ${r.status}`,
        );
      }
      return r.json();
    };
    const extra = Object.fromEntries(currentUrl.searchParams);
    return provider.profile(tokens, fetchJson, (u) => this.endpoint(provider.name, u), extra);
  }

  private async issueCode(
    user: User,
    codeChallenge: string,
    aal: 'aal1' | 'aal2' | null = null,
  ): Promise<string> {
    const code = crypto.randomBytes(32).toString('base64url');
    await this.db.query(
      `INSERT INTO auth.oauth_codes (digest, user_id, code_challenge, expires_at, aal)
       VALUES ($1, $2, $3, now() + make_interval(secs => $4), $5)`,
      [this.digest(code), user.id, codeChallenge, CODE_TTL_SECONDS, aal],
    );
    return code;
  }

  private digest(code: string): Buffer {
    return crypto.createHmac('sha256', this.options.key).update(`oauth-code\0${code}`).digest();
  }

  /**
   * `POST /oauth/exchange`: the code once, with the verifier of the challenge that started it.
   * `aal2` when the hosted pages issued it after the second factor.
   */
  async exchange(code: string, codeVerifier: string): Promise<{ user: User; aal2: boolean }> {
    const { rows } = await this.db.query<{
      user_id: string | null;
      link_user_id: string | null;
      identity: Identity | null;
      code_challenge: string;
      aal: string | null;
    }>(
      `UPDATE auth.oauth_codes SET used_at = now()
        WHERE digest = $1 AND used_at IS NULL AND expires_at > now()
        RETURNING user_id, link_user_id, identity, code_challenge, aal`,
      [this.digest(code)],
    );
    const row = rows[0];
    const invalid = new AppError(
      400,
      'AUTH_OAUTH_INVALID_CODE',
      'The code is invalid, expired, already used, or the code_verifier does not match',
      'Start the sign-in again',
    );
    if (!row) throw invalid;
    const a = Buffer.from(S256(codeVerifier));
    const b = Buffer.from(row.code_challenge);
    if (a.length !== b.length || !crypto.timingSafeEqual(a, b)) throw invalid;
    if (row.user_id)
      return { user: await this.auth.getUser(row.user_id), aal2: row.aal === 'aal2' };
    return {
      user: await this.auth.attachIdentity(row.link_user_id!, row.identity!),
      aal2: false,
    };
  }
}

type Identity = Parameters<AuthService['signInWithIdentity']>[0];

const notConfigured = (key: string) =>
  new AppError(
    404,
    'AUTH_OAUTH_PROVIDER_NOT_FOUND',
    `No enabled OAuth provider "${key}"`,
    'An admin configures it with PUT /api/auth/oauth/custom/:key/config',
  );

/**
 * One interface for the built-in OAuth providers: where to send the browser, how to trade the
 * code for tokens, and how to read who signed in. One file per provider.
 */
export interface ProviderIdentity {
  providerUserId: string;
  email?: string;
  emailVerified: boolean;
  name?: string;
  avatarUrl?: string;
}

export interface ProviderTokens {
  access_token?: string;
  id_token?: string;
  token_type?: string;
  [key: string]: unknown;
}

// Providers' JSON is read field by field with typeof checks (`str`) in each mapping.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type FetchJson = (url: string, init?: { headers?: Record<string, string> }) => Promise<any>;

export interface BuiltInProvider {
  name: string;
  label: string;
  authorizeUrl: string;
  tokenUrl: string;
  scopes: string[];
  /** The provider supports PKCE on its own leg. */
  pkce: boolean;
  /** How the client authenticates at the token endpoint. */
  tokenAuth: 'body' | 'basic';
  /** Extra parameters for the authorization request. */
  authorizeParams?: Record<string, string>;
  /** Who signed in, from the tokens (and the provider's API). `extra` = form_post fields. */
  profile(
    tokens: ProviderTokens,
    fetchJson: FetchJson,
    url: (u: string) => string,
    extra: Record<string, string>,
  ): Promise<ProviderIdentity>;
  /** Where to register the app, for the README and the admin API. */
  consoleUrl: string;
}

/** The claims of a JWT received straight from the provider's token endpoint over TLS. */
export function jwtClaims(token: string | undefined): Record<string, unknown> {
  if (!token) return {};
  const part = token.split('.')[1];
  if (!part) return {};
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return {};
  }
}

export const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);

/**
 * Providers whose profile endpoint is OpenID Connect userinfo (`sub`, `email`, `email_verified`,
 * `name`, `picture`). `trustVerified: false` for providers that do not assert verification.
 */
export function oidcUserinfo(
  userinfoUrl: string,
  trustVerified = true,
): BuiltInProvider['profile'] {
  return async (tokens, fetchJson, url) => {
    const u = await fetchJson(url(userinfoUrl), {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    return {
      providerUserId: String(u.sub),
      email: str(u.email),
      emailVerified: trustVerified && u.email_verified === true,
      name: str(u.name),
      avatarUrl: str(u.picture),
    };
  };
}

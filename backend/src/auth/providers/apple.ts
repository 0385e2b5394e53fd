import type { BuiltInProvider } from './types.js';
import { jwtClaims, str } from './types.js';

export const apple: BuiltInProvider = {
  name: 'apple',
  label: 'Apple',
  authorizeUrl: 'https://appleid.apple.com/auth/authorize',
  tokenUrl: 'https://appleid.apple.com/auth/token',
  scopes: ['name', 'email'],
  pkce: true,
  tokenAuth: 'body',
  // Asking for name or email makes Apple POST the answer to the callback.
  authorizeParams: { response_mode: 'form_post' },
  consoleUrl: 'https://developer.apple.com/account/resources/identifiers/list/serviceId',
  async profile(tokens, _fetchJson, _url, extra) {
    // The ID token comes straight from Apple's token endpoint over TLS.
    const claims = jwtClaims(tokens.id_token);
    // The name is sent once, on the first sign-in, as a `user` form field.
    let name: string | undefined;
    try {
      const user = extra.user ? (JSON.parse(extra.user) as { name?: Record<string, string> }) : {};
      name = [user.name?.firstName, user.name?.lastName].filter(Boolean).join(' ') || undefined;
    } catch {
      name = undefined;
    }
    return {
      providerUserId: String(claims.sub),
      email: str(claims.email),
      emailVerified: claims.email_verified === true || claims.email_verified === 'true',
      name,
    };
  },
};

import type { BuiltInProvider } from './types.js';
import { str } from './types.js';

export const linkedin: BuiltInProvider = {
  name: 'linkedin',
  label: 'LinkedIn',
  authorizeUrl: 'https://www.linkedin.com/oauth/v2/authorization',
  tokenUrl: 'https://www.linkedin.com/oauth/v2/accessToken',
  scopes: ['openid', 'profile', 'email'],
  // LinkedIn's web flow has no PKCE; the state and the client secret protect it.
  pkce: false,
  tokenAuth: 'body',
  consoleUrl: 'https://www.linkedin.com/developers/apps',
  async profile(tokens, fetchJson, url) {
    const u = await fetchJson(url('https://api.linkedin.com/v2/userinfo'), {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    return {
      providerUserId: String(u.sub),
      email: str(u.email),
      emailVerified: u.email_verified === true,
      name: str(u.name),
      avatarUrl: str(u.picture),
    };
  },
};

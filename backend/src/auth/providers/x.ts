import type { BuiltInProvider } from './types.js';
import { str } from './types.js';

export const x: BuiltInProvider = {
  name: 'x',
  label: 'X',
  authorizeUrl: 'https://x.com/i/oauth2/authorize',
  tokenUrl: 'https://api.x.com/2/oauth2/token',
  scopes: ['users.read', 'tweet.read', 'users.email'],
  pkce: true,
  tokenAuth: 'basic',
  consoleUrl: 'https://developer.x.com/en/portal/dashboard',
  async profile(tokens, fetchJson, url) {
    const { data: u } = await fetchJson(
      url('https://api.x.com/2/users/me?user.fields=profile_image_url,confirmed_email'),
      { headers: { authorization: `Bearer ${tokens.access_token}` } },
    );
    return {
      providerUserId: String(u.id),
      // X only shares an email it has confirmed (and only with the users.email scope).
      email: str(u.confirmed_email),
      emailVerified: Boolean(str(u.confirmed_email)),
      name: str(u.name) ?? str(u.username),
      avatarUrl: str(u.profile_image_url),
    };
  },
};

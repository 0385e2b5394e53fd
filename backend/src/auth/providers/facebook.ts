import type { BuiltInProvider } from './types.js';
import { str } from './types.js';

export const facebook: BuiltInProvider = {
  name: 'facebook',
  label: 'Facebook',
  authorizeUrl: 'https://www.facebook.com/v21.0/dialog/oauth',
  tokenUrl: 'https://graph.facebook.com/v21.0/oauth/access_token',
  scopes: ['email', 'public_profile'],
  pkce: false,
  tokenAuth: 'body',
  consoleUrl: 'https://developers.facebook.com/apps',
  async profile(tokens, fetchJson, url) {
    const u = await fetchJson(
      url(
        `https://graph.facebook.com/v21.0/me?fields=id,name,email,picture.type(large)&access_token=${encodeURIComponent(String(tokens.access_token))}`,
      ),
    );
    // Facebook returns an email only once the person confirmed it.
    return {
      providerUserId: String(u.id),
      email: str(u.email),
      emailVerified: Boolean(str(u.email)),
      name: str(u.name),
      avatarUrl: str(u.picture?.data?.url),
    };
  },
};

import type { BuiltInProvider } from './types.js';
import { str } from './types.js';

export const google: BuiltInProvider = {
  name: 'google',
  label: 'Google',
  authorizeUrl: 'https://accounts.google.com/o/oauth2/v2/auth',
  tokenUrl: 'https://oauth2.googleapis.com/token',
  scopes: ['openid', 'email', 'profile'],
  pkce: true,
  tokenAuth: 'body',
  authorizeParams: { prompt: 'select_account' },
  consoleUrl: 'https://console.cloud.google.com/apis/credentials',
  async profile(tokens, fetchJson, url) {
    const u = await fetchJson(url('https://openidconnect.googleapis.com/v1/userinfo'), {
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

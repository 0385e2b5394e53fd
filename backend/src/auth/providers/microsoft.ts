import type { BuiltInProvider } from './types.js';
import { str } from './types.js';

export const microsoft: BuiltInProvider = {
  name: 'microsoft',
  label: 'Microsoft',
  authorizeUrl: 'https://login.microsoftonline.com/common/oauth2/v2.0/authorize',
  tokenUrl: 'https://login.microsoftonline.com/common/oauth2/v2.0/token',
  scopes: ['openid', 'email', 'profile', 'User.Read'],
  pkce: true,
  tokenAuth: 'body',
  consoleUrl: 'https://portal.azure.com/#view/Microsoft_AAD_RegisteredApps',
  async profile(tokens, fetchJson, url) {
    const u = await fetchJson(url('https://graph.microsoft.com/oidc/userinfo'), {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    // Microsoft accounts do not assert that the email was verified: never used to link accounts.
    return {
      providerUserId: String(u.sub),
      email: str(u.email),
      emailVerified: false,
      name: str(u.name),
      avatarUrl: str(u.picture),
    };
  },
};

import type { BuiltInProvider } from './types.js';
import { str } from './types.js';

export const github: BuiltInProvider = {
  name: 'github',
  label: 'GitHub',
  authorizeUrl: 'https://github.com/login/oauth/authorize',
  tokenUrl: 'https://github.com/login/oauth/access_token',
  scopes: ['read:user', 'user:email'],
  pkce: true,
  tokenAuth: 'body',
  consoleUrl: 'https://github.com/settings/developers',
  async profile(tokens, fetchJson, url) {
    const headers = {
      authorization: `Bearer ${tokens.access_token}`,
      accept: 'application/vnd.github+json',
      'user-agent': 'Kiln',
    };
    const user = await fetchJson(url('https://api.github.com/user'), { headers });
    // The profile email may be hidden; the emails API says which are verified.
    const emails = (await fetchJson(url('https://api.github.com/user/emails'), { headers })) as {
      email: string;
      primary: boolean;
      verified: boolean;
    }[];
    const chosen = emails.find((e) => e.primary && e.verified) ?? emails.find((e) => e.verified);
    return {
      providerUserId: String(user.id),
      email: chosen?.email ?? str(user.email),
      emailVerified: Boolean(chosen),
      name: str(user.name) ?? str(user.login),
      avatarUrl: str(user.avatar_url),
    };
  },
};

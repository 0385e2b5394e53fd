import type { BuiltInProvider } from './types.js';
import { str } from './types.js';

export const discord: BuiltInProvider = {
  name: 'discord',
  label: 'Discord',
  authorizeUrl: 'https://discord.com/oauth2/authorize',
  tokenUrl: 'https://discord.com/api/oauth2/token',
  scopes: ['identify', 'email'],
  pkce: true,
  tokenAuth: 'body',
  consoleUrl: 'https://discord.com/developers/applications',
  async profile(tokens, fetchJson, url) {
    const u = await fetchJson(url('https://discord.com/api/users/@me'), {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    return {
      providerUserId: String(u.id),
      email: str(u.email),
      emailVerified: u.verified === true,
      name: str(u.global_name) ?? str(u.username),
      avatarUrl: u.avatar
        ? `https://cdn.discordapp.com/avatars/${u.id}/${u.avatar}.png`
        : undefined,
    };
  },
};

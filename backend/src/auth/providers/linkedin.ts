import type { BuiltInProvider } from './types.js';
import { oidcUserinfo } from './types.js';

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
  profile: oidcUserinfo('https://api.linkedin.com/v2/userinfo'),
};

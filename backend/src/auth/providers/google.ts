import type { BuiltInProvider } from './types.js';
import { oidcUserinfo } from './types.js';

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
  profile: oidcUserinfo('https://openidconnect.googleapis.com/v1/userinfo'),
};

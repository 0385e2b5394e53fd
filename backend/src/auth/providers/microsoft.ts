import type { BuiltInProvider } from './types.js';
import { oidcUserinfo } from './types.js';

export const microsoft: BuiltInProvider = {
  name: 'microsoft',
  label: 'Microsoft',
  authorizeUrl: 'https://login.microsoftonline.com/common/oauth2/v2.0/authorize',
  tokenUrl: 'https://login.microsoftonline.com/common/oauth2/v2.0/token',
  scopes: ['openid', 'email', 'profile', 'User.Read'],
  pkce: true,
  tokenAuth: 'body',
  consoleUrl: 'https://portal.azure.com/#view/Microsoft_AAD_RegisteredApps',
  // Microsoft accounts do not assert that the email was verified: never used to link accounts.
  profile: oidcUserinfo('https://graph.microsoft.com/oidc/userinfo', false),
};

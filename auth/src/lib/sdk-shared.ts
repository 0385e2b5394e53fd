/**
 * What `@insforge/sdk` imports from `@insforge/shared-schemas`, for the pages' bundle (see
 * vite.config.ts): two error codes, and the providers the SDK starts at /api/auth/oauth/:provider
 * rather than /api/auth/oauth/custom/:key. These are Kiln's built-in providers
 * (backend/src/auth/providers), so a custom OIDC key always takes the custom path.
 */
export const ERROR_CODES = {
  INVALID_INPUT: 'INVALID_INPUT',
  AUTH_UNAUTHORIZED: 'AUTH_UNAUTHORIZED',
} as const;

export const BUILT_IN_PROVIDERS = [
  'google',
  'github',
  'microsoft',
  'discord',
  'linkedin',
  'x',
  'apple',
  'facebook',
] as const;

export const oAuthProvidersSchema = { options: BUILT_IN_PROVIDERS as readonly string[] };

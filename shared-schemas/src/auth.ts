import { z } from 'zod';
import { paginationQuerySchema, paginationSchema } from './common.js';

export const userIdSchema = z.guid({ error: 'must be a UUID' });

/** Profile data is free-form JSON; `name` and `avatar_url` are the conventional keys. */
export const profileSchema = z.record(z.string(), z.unknown());

export const userSchema = z.object({
  id: z.guid(),
  email: z.string(),
  emailVerified: z.boolean(),
  providers: z.array(z.string()),
  createdAt: z.string(),
  updatedAt: z.string(),
  profile: profileSchema.nullable(),
  metadata: z.record(z.string(), z.unknown()).nullable(),
  isAnonymous: z.boolean().optional(),
});
export type User = z.infer<typeof userSchema>;

export const clientTypeSchema = z.enum(['web', 'mobile', 'desktop', 'server']);
export type ClientType = z.infer<typeof clientTypeSchema>;

/**
 * A PKCE-style S256 challenge (base64url SHA-256 of a verifier of 43-128 characters). Sent with a
 * password sign-up, it binds the password to the client: the password survives the proof of the
 * inbox only when that proof presents the verifier (`codeVerifier`).
 */
export const passwordBindingChallengeSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9_-]{43}$/,
    'codeChallenge: must be the base64url SHA-256 of a code verifier (S256)',
  );
export const codeVerifierSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9._~-]{43,128}$/,
    'codeVerifier: must be 43-128 characters of A-Z a-z 0-9 . _ ~ -',
  );

export const signUpRequestSchema = z.object({
  email: z.string({ error: 'email is required' }).max(320),
  password: z.string({ error: 'password is required' }).max(1024),
  name: z.string().trim().min(1).max(100).optional(),
  redirectTo: z.url().optional(),
  autoConfirm: z.boolean().optional(),
  codeChallenge: passwordBindingChallengeSchema.optional(),
});
export type SignUpRequest = z.infer<typeof signUpRequestSchema>;

export const signInRequestSchema = z.object({
  method: z.literal('password').optional(),
  email: z.string({ error: 'email is required' }).max(320),
  password: z.string({ error: 'password is required' }).max(1024),
});
export type SignInRequest = z.infer<typeof signInRequestSchema>;

export const refreshRequestSchema = z
  .object({
    refreshToken: z.string().min(1).optional(),
    refresh_token: z.string().min(1).optional(),
  })
  .optional();

export const adminSessionRequestSchema = z
  .object({
    username: z.string().optional(),
    email: z.string().optional(),
    password: z.string({ error: 'password is required' }),
  })
  .refine((v) => v.username !== undefined || v.email !== undefined, {
    message: 'username (the admin email) is required',
    path: ['username'],
  });

export const updateProfileRequestSchema = z.object({
  profile: profileSchema,
});

export const listUsersQuerySchema = paginationQuerySchema.extend({
  search: z.string().trim().max(200).optional(),
});

export const deleteUsersRequestSchema = z.object({
  userIds: z.array(userIdSchema).min(1, 'at least one user id is required').max(1000),
});

export const listUsersResponseSchema = z.object({
  data: z.array(userSchema),
  pagination: paginationSchema,
});

export const verificationMethodSchema = z.enum(['code', 'link']);

/** Matches an absolute http(s) URL or a pattern with `*` wildcards (`https://*.example.com/**`). */
export const redirectUrlPatternSchema = z
  .string()
  .max(2048)
  .regex(/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^\s]+$/, 'must be an absolute URL or URL pattern')
  .refine((v) => !/^(javascript|data|vbscript|file):/i.test(v), 'scheme is not allowed');

export const authConfigSchema = z.object({
  requireEmailVerification: z.boolean(),
  passwordMinLength: z.number().int().min(4).max(128),
  requireNumber: z.boolean(),
  requireLowercase: z.boolean(),
  requireUppercase: z.boolean(),
  requireSpecialChar: z.boolean(),
  verifyEmailMethod: verificationMethodSchema,
  resetPasswordMethod: verificationMethodSchema,
  allowedRedirectUrls: z.array(redirectUrlPatternSchema).max(100),
  disableSignup: z.boolean(),
  allowAnonymousSignIn: z.boolean(),
});
export type AuthConfig = z.infer<typeof authConfigSchema>;

export const updateAuthConfigRequestSchema = authConfigSchema.partial().strict();
export type UpdateAuthConfigRequest = z.infer<typeof updateAuthConfigRequestSchema>;

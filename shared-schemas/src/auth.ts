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
  /** Set by admins and the API key only; in the access token as the `app_metadata` claim. */
  appMetadata: z.record(z.string(), z.unknown()).optional(),
  /** Set by the user (PATCH /profiles/current); in the access token as `user_metadata`. */
  userMetadata: z.record(z.string(), z.unknown()).optional(),
  /** Application roles (admin-defined); in the access token as `app_roles`. */
  appRoles: z.array(z.string()).optional(),
  /** While in the future, the user cannot sign in or refresh. */
  bannedUntil: z.string().nullable().optional(),
  /** E.164; proven by an SMS code when `phoneVerified` (only a proven number signs in). */
  phone: z.string().nullable().optional(),
  phoneVerified: z.boolean().optional(),
});
export type User = z.infer<typeof userSchema>;

/**
 * The most JSON an app_metadata or user_metadata object may hold (after merging): both travel in
 * every access token, and a token must stay well inside the 16 KiB a request's headers may use.
 */
export const METADATA_MAX_CHARS = 4096;

/** Metadata objects (app_metadata, user_metadata): keys merged, a key set to null removed. */
export const metadataPatchSchema = z
  .record(z.string().max(200), z.unknown())
  .refine(
    (v) => JSON.stringify(v).length <= METADATA_MAX_CHARS,
    `must be at most ${METADATA_MAX_CHARS} characters of JSON`,
  );

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

export const updateProfileRequestSchema = z
  .object({
    profile: profileSchema.optional(),
    /** Merged into the user's user_metadata (a key set to null is removed). */
    userMetadata: metadataPatchSchema.optional(),
  })
  // Strict: app_metadata is for admins; a user sending it is told so, not silently ignored.
  .strict()
  .refine((v) => v.profile !== undefined || v.userMetadata !== undefined, {
    message: 'profile or userMetadata is required',
    path: ['profile'],
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

/** An absolute http(s) URL (a link or image the hosted pages show). */
const httpUrlSchema = z
  .string()
  .max(2048)
  .regex(/^https?:\/\/[^\s]+$/, 'must be an absolute http(s) URL');

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
  // The hosted auth pages (/auth): branding, and the flows they offer.
  /** The name the pages show (null: "Kiln"). */
  appName: z.string().trim().min(1).max(100).nullable(),
  logoUrl: httpUrlSchema.nullable(),
  /** `#rrggbb`; buttons and links on the pages. */
  primaryColor: z
    .string()
    .regex(/^#[0-9a-fA-F]{6}$/, 'must be a colour as #rrggbb')
    .nullable(),
  /** The pages' theme when the visitor has not chosen one (`system`: the browser's setting). */
  defaultTheme: z.enum(['system', 'light', 'dark']),
  termsUrl: httpUrlSchema.nullable(),
  privacyUrl: httpUrlSchema.nullable(),
  /** Sign-in with a code mailed to the address (POST /api/auth/email/send-otp). */
  allowEmailOtp: z.boolean(),
  /** Sign-in with a link mailed to the address (POST /api/auth/email/send-magic-link). */
  allowMagicLink: z.boolean(),
  /** A signed-in user may delete their own account (DELETE /api/auth/users/current). */
  allowAccountDeletion: z.boolean(),
  /**
   * The custom-claims hook: a SQL function `name(user_id uuid, claims jsonb) RETURNS jsonb` called
   * at every token issue with the default claims, returning the claims to sign (null: none).
   */
  customClaimsHook: z
    .string()
    .regex(
      /^[A-Za-z_][A-Za-z0-9_$]{0,62}(\.[A-Za-z_][A-Za-z0-9_$]{0,62})?$/,
      'must be a function name, optionally schema-qualified (public.add_claims)',
    )
    .nullable(),
});
export type AuthConfig = z.infer<typeof authConfigSchema>;

export const updateAuthConfigRequestSchema = authConfigSchema.partial().strict();
export type UpdateAuthConfigRequest = z.infer<typeof updateAuthConfigRequestSchema>;

// ---- requests (moved from backend/src/auth/routes.ts) ---------------------------------------

/** `?client_type=`: web clients get cookies and a CSRF token, the others the refresh token. */
export const clientTypeQuerySchema = z.object({
  client_type: z
    .enum(['web', 'mobile', 'desktop', 'server'], {
      error: 'must be one of web, mobile, desktop, server',
    })
    .optional(),
});

/** A path `:id` that is a UUID (sessions, factors, users). */
export const authIdParamsSchema = z.object({ id: z.guid({ error: 'must be a UUID' }) });

const emailField = z
  .string({ error: 'email is required' })
  .trim()
  .max(320)
  .pipe(z.email({ error: 'must be an email address' }));

/** Asks for a message (verification, reset, one-time code). */
export const sendEmailRequestSchema = z.object({
  email: emailField,
  redirectTo: z.string().max(2000).optional(),
});
export const sendMagicLinkRequestSchema = sendEmailRequestSchema.extend({
  redirectTo: z.string({ error: 'redirectTo is required' }).max(2000),
});
export const verifyEmailRequestSchema = z.object({
  email: emailField,
  otp: z.string({ error: 'otp is required' }).trim().min(1).max(200),
  codeVerifier: codeVerifierSchema.optional(),
});
export const exchangeResetTokenRequestSchema = z.object({
  email: emailField,
  code: z.string({ error: 'code is required' }).trim().min(1).max(20),
});
export const resetPasswordRequestSchema = z.object({
  newPassword: z.string({ error: 'newPassword is required' }).max(1024),
  otp: z.string({ error: 'otp is required' }).trim().min(1).max(200),
});
/** `POST /api/auth/sessions` with `method: "otp"`: sign in with a code from the inbox. */
export const otpSignInRequestSchema = z.object({
  method: z.literal('otp'),
  email: emailField,
  otp: verifyEmailRequestSchema.shape.otp,
  codeVerifier: codeVerifierSchema.optional(),
});
/** `POST /api/auth/sessions`: a password, or (`method: "otp"`) a code from the inbox. */
export const createSessionRequestSchema = z.discriminatedUnion(
  'method',
  [signInRequestSchema, otpSignInRequestSchema],
  {
    error: (issue) =>
      issue.code === 'invalid_union' ? 'must be password (the default) or otp' : undefined,
  },
);

export const mfaEnrollRequestSchema = z
  .object({ friendlyName: z.string().max(100).optional() })
  .nullish();
export const mfaVerifyRequestSchema = z.object({
  factorId: z.guid({ error: 'factorId: must be a UUID' }),
  code: z.string({ error: 'code is required' }).trim().min(1).max(20),
});
export const mfaChallengeRequestSchema = z.object({
  mfaToken: z.string({ error: 'mfaToken is required' }).min(1).max(2000),
  code: z.string({ error: 'code is required' }).trim().min(1).max(20),
});
export const upgradeAnonymousRequestSchema = z.object({
  email: z.string({ error: 'email is required' }).max(320),
  password: z.string({ error: 'password is required' }).max(1024),
  name: z.string().trim().min(1).max(100).optional(),
  redirectTo: z.string().max(2000).optional(),
  codeChallenge: passwordBindingChallengeSchema.optional(),
});

export const oauthStartQuerySchema = z.object({
  redirect_uri: z.string({ error: 'redirect_uri is required' }).min(1).max(2000),
  code_challenge: z.string({ error: 'code_challenge is required' }).min(1).max(200),
});
export const oauthExchangeRequestSchema = z.object({
  code: z.string({ error: 'code is required' }).min(1).max(200),
  code_verifier: z.string({ error: 'code_verifier is required' }).min(43).max(128),
});
/** `/oauth/custom/:key`: a custom OpenID Connect provider's key. */
export const customProviderParamsSchema = z.object({
  key: z.string().regex(/^[a-z0-9_-]{1,64}$/, '1-64 characters of a-z, 0-9, _ and -'),
});
export const oauthProviderConfigRequestSchema = z.object({
  name: z.string().max(100).nullable().optional(),
  clientId: z.string({ error: 'clientId is required' }).min(1).max(500),
  clientSecret: z.string().max(2000).nullable().optional(),
  scopes: z.array(z.string().min(1).max(200)).max(50).optional(),
  discoveryUrl: z.url().nullable().optional(),
  enabled: z.boolean().optional(),
});
/** `POST /api/auth/oauth/configs` (InsForge's create): PUT's body with the built-in provider named. */
export const createOAuthProviderConfigRequestSchema = oauthProviderConfigRequestSchema.extend({
  provider: z.string({ error: 'provider is required' }).min(1).max(100),
});
/**
 * `POST /api/auth/oauth/custom/configs` (InsForge's create): PUT's body with the key named, the
 * discovery document's URL as InsForge's `discoveryEndpoint` or Kiln's `discoveryUrl`.
 */
export const createCustomOAuthConfigRequestSchema = oauthProviderConfigRequestSchema.extend({
  key: customProviderParamsSchema.shape.key,
  discoveryEndpoint: z.url().optional(),
});
export const idTokenRequestSchema = z.object({
  provider: z.enum(['google', 'apple'], { error: 'provider: must be google or apple' }),
  token: z.string({ error: 'token is required' }).min(10).max(10_000),
  nonce: z.string().max(500).optional(),
});

// ---- responses (what Kiln answers) -----------------------------------------------------------

export const successMessageSchema = z.object({ success: z.literal(true), message: z.string() });

/** A session for a web client: the refresh token is in an httpOnly cookie, echo `csrfToken`. */
export const webSessionResponseSchema = z.object({
  user: userSchema,
  accessToken: z.string(),
  csrfToken: z.string(),
  passwordCleared: z.literal(true).optional(),
});
/** A session for mobile, desktop and server clients: the refresh token is in the body. */
export const tokenSessionResponseSchema = z.object({
  user: userSchema,
  accessToken: z.string(),
  refreshToken: z.string(),
  passwordCleared: z.literal(true).optional(),
});
export const sessionResponseSchema = z.union([
  webSessionResponseSchema,
  tokenSessionResponseSchema,
]);

/** The first factor passed; the account has a second one: `POST /api/auth/mfa/challenge` next. */
export const mfaRequiredResponseSchema = z.object({
  requireMfa: z.literal(true),
  mfaToken: z.string(),
  accessToken: z.null(),
  passwordCleared: z.literal(true).optional(),
});
/** A sign-in: a session, or the second factor is needed. */
export const signInResponseSchema = z.union([
  webSessionResponseSchema,
  tokenSessionResponseSchema,
  mfaRequiredResponseSchema,
]);

export const signUpResponseSchema = z.union([
  webSessionResponseSchema,
  tokenSessionResponseSchema,
  /** An admin created the user: no session. */
  z.object({ user: userSchema, accessToken: z.null() }),
  /** The address must be verified first (a message was sent). */
  z.object({ accessToken: z.null(), requireEmailVerification: z.literal(true) }),
]);
export const upgradeAnonymousResponseSchema = z.union([
  webSessionResponseSchema,
  tokenSessionResponseSchema,
  z.object({ user: userSchema, accessToken: z.null(), requireEmailVerification: z.literal(true) }),
]);

export const currentSessionResponseSchema = z.object({ user: userSchema });

export const userSessionSchema = z.object({
  id: z.guid(),
  clientType: z.string(),
  userAgent: z.string().nullable(),
  ip: z.string().nullable(),
  aal: z.string(),
  createdAt: z.string(),
  lastUsedAt: z.string(),
  expiresAt: z.string(),
  current: z.boolean(),
});
export const listSessionsResponseSchema = z.object({ sessions: z.array(userSessionSchema) });

/** An application role's name: `editor`, `billing_admin`, `team-lead`. */
export const appRoleNameSchema = z
  .string()
  .regex(
    /^[a-z][a-z0-9_-]{0,62}$/,
    'must be 1-63 lower-case letters, digits, _ or -, starting with a letter',
  );

/**
 * `PATCH /api/auth/users/:id` (admin): any subset. `emailVerified: true` vouches for the account
 * as it is; `password` ends the user's sessions; `appRoles` replaces the user's roles (each must
 * be defined); metadata keys are merged (null removes one); `bannedUntil` in the future bans the
 * user and ends their sessions, null lifts the ban.
 */
export const adminUpdateUserRequestSchema = z
  .object({
    email: z.string().max(320).optional(),
    password: z.string().min(1).max(1024).optional(),
    emailVerified: z.boolean().optional(),
    appMetadata: metadataPatchSchema.optional(),
    userMetadata: metadataPatchSchema.optional(),
    appRoles: z.array(appRoleNameSchema).max(100).optional(),
    bannedUntil: z.iso
      .datetime({ offset: true, error: 'must be an ISO 8601 date-time, e.g. 2030-01-01T00:00:00Z' })
      .nullable()
      .optional(),
  })
  .strict()
  .refine((v) => Object.values(v).some((x) => x !== undefined), {
    message: 'at least one field to change is required',
  });
export type AdminUpdateUserRequest = z.infer<typeof adminUpdateUserRequestSchema>;

/** `GET|POST /api/auth/roles` (admin): the application roles. */
export const appRoleSchema = z.object({
  name: z.string(),
  description: z.string(),
  userCount: z.number().int(),
  createdAt: z.string(),
});
export const listAppRolesResponseSchema = z.object({ roles: z.array(appRoleSchema) });
export const createAppRoleRequestSchema = z
  .object({
    name: appRoleNameSchema,
    description: z.string().trim().max(500).optional(),
  })
  .strict();
export const appRoleParamsSchema = z.object({ name: appRoleNameSchema });

/** `GET /api/auth/users/:id/identities` (admin): the providers a user signs in with. */
export const userIdentitySchema = z.object({
  id: z.guid(),
  provider: z.string(),
  providerUserId: z.string(),
  email: z.string().nullable(),
  emailVerified: z.boolean(),
  createdAt: z.string(),
  lastSignInAt: z.string(),
});
export const listUserIdentitiesResponseSchema = z.object({
  identities: z.array(userIdentitySchema),
});
export const adminSessionSchema = userSessionSchema.omit({ aal: true });
export const listAdminSessionsResponseSchema = z.object({ sessions: z.array(adminSessionSchema) });
export const revokedCountResponseSchema = z.object({ revokedCount: z.number().int() });

export const profileResponseSchema = z.object({ id: z.guid(), profile: profileSchema });
/** PATCH /profiles/current: the profile, and the caller's own user_metadata. */
export const updateProfileResponseSchema = profileResponseSchema.extend({
  userMetadata: z.record(z.string(), z.unknown()),
});

export const publicAuthConfigResponseSchema = authConfigSchema
  .omit({ allowedRedirectUrls: true, customClaimsHook: true })
  .extend({
    /** Built-in OAuth providers a client may offer. */
    oAuthProviders: z.array(z.string()),
    /** Custom OpenID Connect providers (their keys). */
    customOAuthProviders: z.array(z.string()),
  });
export const authConfigResponseSchema = authConfigSchema.extend({
  /** A uuid derived from the settings' name: there is one settings row. */
  id: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

export const adminSessionResponseSchema = z.union([
  z.object({
    user: userSchema,
    admin: z.object({ sub: z.string(), email: z.string() }),
    accessToken: z.string(),
    csrfToken: z.string(),
  }),
  z.object({
    user: userSchema,
    admin: z.object({ sub: z.string(), email: z.string() }),
    accessToken: z.string(),
    refreshToken: z.string(),
  }),
]);
export const currentAdminSessionResponseSchema = z.object({
  admin: z.object({
    /** The admin's id, or `api-key`. */
    sub: z.string(),
    email: z.string().nullable(),
    credential: z.string(),
    sessionId: z.string().optional(),
  }),
});

export const deleteUsersResponseSchema = z.object({
  message: z.string(),
  deletedCount: z.number().int(),
});
export const removedFactorsResponseSchema = z.object({ removedFactors: z.number().int() });

export const mfaFactorSchema = z.object({
  id: z.guid(),
  type: z.literal('totp'),
  friendlyName: z.string().nullable(),
  status: z.enum(['unverified', 'verified']),
  createdAt: z.string(),
  verifiedAt: z.string().nullable(),
});
export const mfaEnrollResponseSchema = z.object({
  factorId: z.guid(),
  type: z.literal('totp'),
  secret: z.string(),
  otpauthUri: z.string(),
  /** A PNG data URL of the otpauth URI. */
  qrCode: z.string(),
});
export const mfaVerifyResponseSchema = z.object({
  factor: mfaFactorSchema,
  recoveryCodes: z.array(z.string()),
});
export const listMfaFactorsResponseSchema = z.object({ factors: z.array(mfaFactorSchema) });
export const recoveryCodesResponseSchema = z.object({ recoveryCodes: z.array(z.string()) });

export const emailAcceptedResponseSchema = successMessageSchema;
export const exchangeResetTokenResponseSchema = z.object({
  token: z.string(),
  expiresAt: z.string(),
});
export const passwordChangedResponseSchema = z.object({ message: z.string() });

export const oauthProviderConfigSchema = z.object({
  key: z.string(),
  custom: z.boolean(),
  name: z.string().nullable(),
  clientId: z.string(),
  hasClientSecret: z.boolean(),
  scopes: z.array(z.string()),
  discoveryUrl: z.string().nullable(),
  enabled: z.boolean(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
/**
 * `GET /api/auth/oauth/configs`: the built-in providers' configurations as InsForge lists them
 * (`id`, `provider`, `useSharedKey`: Kiln has no shared keys), Kiln's fields beside.
 */
export const listOAuthProviderConfigsResponseSchema = z.object({
  data: z.array(
    oauthProviderConfigSchema.extend({
      id: z.string(),
      provider: z.string(),
      useSharedKey: z.boolean(),
    }),
  ),
  count: z.number(),
});
/** A custom OpenID Connect provider as InsForge lists it (`id`, `discoveryEndpoint`), Kiln's fields beside. */
export const customOAuthConfigSchema = oauthProviderConfigSchema.extend({
  id: z.string(),
  discoveryEndpoint: z.string(),
});
/** `GET /api/auth/oauth/custom/configs`: the custom OpenID Connect providers. */
export const listCustomOAuthConfigsResponseSchema = z.object({
  data: z.array(customOAuthConfigSchema),
  count: z.number(),
});
/** `GET /api/auth/email/verify-link?token=` (a missing or odd token is a link that does not work). */
export const verifyLinkQuerySchema = z.object({ token: z.string().optional().catch(undefined) });
export const oauthStartResponseSchema = z.object({ authUrl: z.string() });

// ---- the hosted auth pages (/auth) -----------------------------------------------------------

/** `GET /api/auth/redirects/check?redirect_uri=`: may the pages send a browser back there? */
export const redirectCheckQuerySchema = z.object({
  redirect_uri: z.string({ error: 'redirect_uri is required' }).min(1).max(2000),
});
export const redirectCheckResponseSchema = z.object({ allowed: z.boolean() });
/** `POST /api/auth/oauth/codes`: the signed-in user's code for the app that sent them. */
export const appCodeRequestSchema = z.object({
  redirect_uri: oauthStartQuerySchema.shape.redirect_uri,
  code_challenge: oauthStartQuerySchema.shape.code_challenge,
});
export const appCodeResponseSchema = z.object({
  /** `redirect_uri` with `insforge_code`: where the pages send the browser. */
  redirectTo: z.string(),
});
/** `POST /api/auth/users/current/password`: the signed-in user's new password. */
export const changePasswordRequestSchema = z.object({
  currentPassword: z.string().max(1024).optional(),
  newPassword: z.string({ error: 'newPassword is required' }).max(1024),
});
/** `POST /api/auth/users/current/email`: a code is mailed to the new address. */
export const changeEmailRequestSchema = z.object({
  email: z.string({ error: 'email is required' }).max(320),
});
/** `POST /api/auth/users/current/email/verify`: the code from the new address. */
export const confirmEmailChangeRequestSchema = changeEmailRequestSchema.extend({
  code: z.string({ error: 'code is required' }).trim().min(1).max(20),
});
/** `POST /api/auth/users/current/identities`: start linking a provider to the signed-in user. */
export const linkIdentityRequestSchema = z.object({
  provider: z
    .string({ error: 'provider is required' })
    .regex(/^[a-z0-9_-]{1,64}$/, 'provider: 1-64 characters of a-z, 0-9, _ and -'),
  redirect_uri: oauthStartQuerySchema.shape.redirect_uri,
  code_challenge: oauthStartQuerySchema.shape.code_challenge,
});

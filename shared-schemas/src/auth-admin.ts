/**
 * User administration beyond InsForge's (issue 22): an admin creating a user with a password or
 * an invitation, bulk import with existing password hashes, invitations accepted, and the
 * dashboard's admins (users an admin made admins, besides the ADMIN_EMAIL one).
 */
import { z } from 'zod';
import { appRoleNameSchema, metadataPatchSchema, signUpRequestSchema } from './auth.js';

/**
 * `POST /api/auth/users`: sign-up (anyone: `{email, password, name?, redirectTo?,
 * codeChallenge?}`), or, with the API key or an admin token, a user created by an admin: with a
 * `password`, or `invite: true` to mail them a link that sets one (`redirectTo`: the page the
 * link opens, an allowed redirect URL; default the hosted /auth/reset-password page). An admin
 * may also set `emailVerified`, `appMetadata`, `userMetadata` and `appRoles` (defined roles only).
 */
export const createUserRequestSchema = signUpRequestSchema.extend({
  password: z.string().max(1024).optional(),
  invite: z.boolean().optional(),
  emailVerified: z.boolean().optional(),
  appMetadata: metadataPatchSchema.optional(),
  userMetadata: metadataPatchSchema.optional(),
  appRoles: z.array(appRoleNameSchema).max(100).optional(),
});
export type CreateUserRequest = z.infer<typeof createUserRequestSchema>;

/** `POST /api/auth/users/:id/invite` (admin): mail the invitation again. */
export const resendInviteRequestSchema = z
  .object({ redirectTo: z.url().optional() })
  .strict()
  .optional();

export const inviteSentResponseSchema = z.object({
  success: z.literal(true),
  message: z.string(),
  /** When the link stops working. */
  expiresAt: z.string(),
});

/**
 * `POST /api/auth/invites/accept`: the token from an invitation (or password-reset) link and the
 * new password; the inbox counts as proven, and the answer is a session like a sign-in's.
 */
export const acceptInviteRequestSchema = z.object({
  token: z.string({ error: 'token is required' }).min(1).max(200),
  password: z.string({ error: 'password is required' }).max(1024),
});

/** At most this many users per `POST /api/auth/users/import`. */
export const IMPORT_MAX_USERS = 1000;

/** One user of an import. `passwordHash`: see the README (bcrypt, argon2, scrypt, PBKDF2). */
export const importUserSchema = z
  .object({
    email: z.string({ error: 'email is required' }).max(320),
    passwordHash: z.string().max(1024).nullable().optional(),
    emailVerified: z.boolean().optional(),
    name: z.string().trim().min(1).max(100).optional(),
    appMetadata: metadataPatchSchema.optional(),
    userMetadata: metadataPatchSchema.optional(),
    appRoles: z.array(appRoleNameSchema).max(100).optional(),
  })
  .strict();
export type ImportUser = z.infer<typeof importUserSchema>;

export const importUsersRequestSchema = z
  .object({
    users: z
      .array(importUserSchema)
      .min(1, 'send at least one user')
      .max(IMPORT_MAX_USERS, `at most ${IMPORT_MAX_USERS} users per request; send several`),
  })
  .strict();
export type ImportUsersRequest = z.infer<typeof importUsersRequestSchema>;

/** What happened to one row: imported (201), refused (400) or a duplicate (409). */
export const importUserResultSchema = z.object({
  index: z.number().int(),
  email: z.string(),
  status: z.union([z.literal(201), z.literal(400), z.literal(409)]),
  userId: z.guid().optional(),
  /** The hash's algorithm (imported rows with a password). */
  algorithm: z.enum(['argon2id', 'argon2i', 'bcrypt', 'scrypt', 'pbkdf2-sha256']).optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});

export const importUsersResponseSchema = z.object({
  imported: z.number().int(),
  failed: z.number().int(),
  results: z.array(importUserResultSchema),
});
export type ImportUsersResponse = z.infer<typeof importUsersResponseSchema>;

/** A dashboard admin: the ADMIN_EMAIL one (from the environment) or a user made admin. */
export const projectAdminSchema = z.object({
  id: z.string(),
  email: z.string(),
  source: z.enum(['environment', 'user']),
  /** Whether the admin's sign-in asks for a second factor (users with a verified factor). */
  mfa: z.boolean(),
  grantedAt: z.string().nullable(),
  grantedBy: z.string().nullable(),
});
export const listProjectAdminsResponseSchema = z.object({ admins: z.array(projectAdminSchema) });

/** `POST /api/auth/admin/sessions` when the admin has a second factor: finish with the code. */
export const adminMfaRequiredResponseSchema = z.object({
  requireMfa: z.literal(true),
  mfaToken: z.string(),
  accessToken: z.null(),
});

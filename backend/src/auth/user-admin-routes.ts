/**
 * User administration beyond InsForge's routes (issue 22): invitations (sent again, accepted),
 * bulk import with existing password hashes (user-import.ts), and the dashboard's admins (users
 * made admins besides ADMIN_EMAIL's, admins.ts), whose sign-in may need their second factor.
 * Creating a user (with a password or an invitation) is POST /users in routes.ts.
 */
import {
  acceptInviteRequestSchema,
  adminSessionResponseSchema,
  authIdParamsSchema,
  clientTypeQuerySchema,
  importUsersRequestSchema,
  importUsersResponseSchema,
  inviteSentResponseSchema,
  listProjectAdminsResponseSchema,
  mfaChallengeRequestSchema,
  projectAdminSchema,
  resendInviteRequestSchema,
  sessionResponseSchema,
  successMessageSchema,
} from '@kiln/shared-schemas';
import { AppError } from '../core/errors.js';
import { route, type DeclaredRoute } from '../core/route.js';
import { RATE_LIMITED, SEND_ERRORS, type AuthHttp } from './http.js';
import { INVITE_TTL_DAYS } from '../email/flows.js';

export function userAdminRoutes(http: AuthHttp): DeclaredRoute[] {
  const { auth, limits } = http;
  const { flows } = http.options.email;
  const { mfa } = http.options;
  return [
    route({
      method: 'post',
      path: '/users/import',
      access: 'admin',
      summary: 'Import users with the password hashes of another system',
      description:
        'Up to 1000 users per request: `{users: [{email, passwordHash?, emailVerified?, name?, ' +
        'appMetadata?, userMetadata?, appRoles?}]}`. Hashes: bcrypt ($2a$/$2b$/$2y$), argon2id ' +
        'and argon2i PHC strings, scrypt as `$scrypt$ln=..,r=..,p=..$salt$hash`, PBKDF2-SHA256 ' +
        "as Django's `pbkdf2_sha256$iterations$salt$hash` or passlib's `$pbkdf2-sha256$...`; " +
        "each is replaced by argon2id at the user's next sign-in. Every row is answered in " +
        'order (201 created, 400 refused with the reason, 409 duplicate); the valid rows are ' +
        'created even when others are not.',
      body: importUsersRequestSchema,
      responses: { 200: importUsersResponseSchema },
      handler: ({ body }) => auth.importUsers(body.users),
    }),
    route({
      method: 'post',
      path: '/users/:id/invite',
      access: 'admin',
      summary: 'Mail the invitation (a link that sets the password) to a user again',
      params: authIdParamsSchema,
      body: resendInviteRequestSchema,
      responses: { 200: inviteSentResponseSchema },
      errors: { ...SEND_ERRORS, 400: ['AUTH_REDIRECT_NOT_ALLOWED'], 404: ['AUTH_USER_NOT_FOUND'] },
      handler: async ({ params, body }) => {
        const user = await auth.getUser(params.id);
        if (user.isAnonymous) {
          throw new AppError(404, 'AUTH_USER_NOT_FOUND', 'An anonymous user has no address');
        }
        const { expiresAt } = await flows.sendInvite(user, body?.redirectTo);
        return {
          success: true as const,
          message: `Invitation sent to ${user.email}; the link works once, for ${INVITE_TTL_DAYS} days`,
          expiresAt,
        };
      },
    }),
    route({
      method: 'post',
      path: '/invites/accept',
      access: 'anyone',
      summary: 'Accept an invitation: set the password with the token from its link, signed in',
      description:
        'The token of an invitation (or a password-reset link) and the new password, under the ' +
        "project's policy; the address counts as proven. Answers a session like a sign-in.",
      query: clientTypeQuerySchema,
      body: acceptInviteRequestSchema,
      before: [limits.verify],
      responses: { 200: sessionResponseSchema },
      errors: {
        ...RATE_LIMITED,
        400: ['AUTH_INVALID_TOKEN', 'AUTH_WEAK_PASSWORD'],
        403: ['AUTH_USER_BANNED'],
      },
      handler: async ({ body, req, res }) => {
        const user = await flows.acceptInvite(body.token, body.password);
        return http.session(req, res, await auth.startSession(user, http.context(req)));
      },
    }),
    route({
      method: 'post',
      path: '/admin/sessions/mfa',
      access: 'anyone',
      summary: "Finish an admin's sign-in with their second factor (TOTP or recovery code)",
      description:
        'After POST /api/auth/admin/sessions answered `requireMfa` with an `mfaToken` (an admin ' +
        'who is a user with a verified factor).',
      query: clientTypeQuerySchema,
      body: mfaChallengeRequestSchema,
      before: [limits.signIn],
      responses: { 200: adminSessionResponseSchema },
      errors: {
        ...RATE_LIMITED,
        400: ['AUTH_MFA_INVALID_CODE'],
        401: ['AUTH_MFA_TOKEN_INVALID', 'AUTH_INVALID_CREDENTIALS'],
        429: ['RATE_LIMITED', 'AUTH_MFA_TOO_MANY_ATTEMPTS'],
      },
      handler: async ({ body, req, res }) => {
        const userId = await mfa.challenge(body.mfaToken, body.code, 'admin-mfa');
        // Still an admin now (it may have been taken away in the meantime).
        if (!(await auth.admins.isAdmin(userId))) {
          throw new AppError(401, 'AUTH_INVALID_CREDENTIALS', 'Invalid admin email or password');
        }
        return http.adminSession(
          req,
          res,
          await auth.startAdminSession(http.context(req), await auth.getUser(userId)),
        );
      },
    }),
    route({
      method: 'get',
      path: '/admins',
      access: 'admin',
      summary: "The dashboard's admins: ADMIN_EMAIL's first, then users made admins",
      responses: { 200: listProjectAdminsResponseSchema },
      handler: async () => ({ admins: await auth.admins.list() }),
    }),
    route({
      method: 'put',
      path: '/admins/:id',
      access: 'admin',
      summary: 'Make a user a dashboard admin (their own password and second factor)',
      params: authIdParamsSchema,
      responses: { 200: projectAdminSchema },
      errors: { 400: ['AUTH_NOT_ALLOWED'], 404: ['AUTH_USER_NOT_FOUND'] },
      handler: ({ params, principal }) =>
        auth.admins.grant(params.id, principal.sub ?? principal.credential),
    }),
    route({
      method: 'delete',
      path: '/admins/:id',
      access: 'admin',
      summary: "Take admin away from a user (their admin sessions end); ADMIN_EMAIL's stays",
      params: authIdParamsSchema,
      responses: { 200: successMessageSchema },
      errors: { 404: ['AUTH_ADMIN_NOT_FOUND'], 409: ['AUTH_LAST_ADMIN'] },
      handler: async ({ params }) => {
        await auth.admins.revoke(params.id);
        return {
          success: true as const,
          message: 'No longer an admin; their admin sessions ended',
        };
      },
    }),
  ];
}

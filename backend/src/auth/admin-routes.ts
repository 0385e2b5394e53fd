/** The dashboard admin's sessions, the users (admin) and the auth settings. */
import {
  adminUpdateUserRequestSchema,
  adminMfaRequiredResponseSchema,
  adminSessionRequestSchema,
  adminSessionResponseSchema,
  authConfigResponseSchema,
  authIdParamsSchema,
  clientTypeQuerySchema,
  currentAdminSessionResponseSchema,
  deleteUsersRequestSchema,
  deleteUsersResponseSchema,
  listAdminSessionsResponseSchema,
  listSessionsResponseSchema,
  listUserIdentitiesResponseSchema,
  listUsersQuerySchema,
  listUsersResponseSchema,
  removedFactorsResponseSchema,
  revokedCountResponseSchema,
  successMessageSchema,
  updateAuthConfigRequestSchema,
  userSchema,
} from '@kiln/shared-schemas';
import { z } from 'zod';
import { AppError } from '../core/errors.js';
import { route, type DeclaredRoute } from '../core/route.js';
import { RATE_LIMITED, adminSessionOf, sessionJson, type AuthHttp } from './http.js';
import { adminRefreshRoutes } from './refresh-routes.js';
import { ERASURE_ERRORS } from './user-data.js';
import { nameUuid } from '../email/ids.js';

/** The one auth settings row's id, derived from its name (InsForge's clients read a uuid). */
const AUTH_CONFIG_ID = nameUuid('auth-config');

export function adminRoutes(http: AuthHttp): DeclaredRoute[] {
  const { auth, limits } = http;
  const { sessions, mfa } = http.options;
  return [
    route({
      method: 'post',
      path: '/admin/sessions',
      access: 'anyone',
      summary: 'Admin sign-in (the dashboard)',
      description:
        'ADMIN_EMAIL / ADMIN_PASSWORD, or the email and password of a user made admin ' +
        '(PUT /api/auth/admins/:id). An admin with a verified second factor gets `requireMfa` ' +
        'and an `mfaToken` for POST /api/auth/admin/sessions/mfa instead of a session.',
      query: clientTypeQuerySchema,
      body: adminSessionRequestSchema,
      before: [limits.signIn],
      responses: { 200: z.union([adminSessionResponseSchema, adminMfaRequiredResponseSchema]) },
      errors: { ...RATE_LIMITED, 401: ['AUTH_INVALID_CREDENTIALS'] },
      handler: async ({ body, req, res }) => {
        const user = await auth.authenticateAdmin(body.username ?? body.email ?? '', body.password);
        if (user && (await mfa.required(user.id))) {
          return {
            requireMfa: true as const,
            mfaToken: await mfa.mfaToken(user.id, 'admin-mfa'),
            accessToken: null,
          };
        }
        return http.adminSession(req, res, await auth.startAdminSession(http.context(req), user));
      },
    }),
    ...adminRefreshRoutes(http),
    route({
      method: 'get',
      path: '/admin/sessions/current',
      access: 'admin',
      summary: 'The admin credential in use (admin session or API key)',
      responses: { 200: currentAdminSessionResponseSchema },
      handler: ({ principal }) => ({
        admin: {
          sub: principal.sub ?? 'api-key',
          email: principal.email ?? null,
          credential: principal.credential,
          ...(principal.sessionId ? { sessionId: principal.sessionId } : {}),
        },
      }),
    }),
    route({
      method: 'get',
      path: '/admin/sessions',
      access: 'admin',
      summary: 'Live admin sessions',
      responses: { 200: listAdminSessionsResponseSchema },
      handler: async ({ req }) => {
        const current = adminSessionOf(req);
        return {
          sessions: (await sessions.listAdmin()).map((s) => sessionJson(s, current)),
        };
      },
    }),
    route({
      method: 'post',
      path: '/admin/sessions/revoke-others',
      access: 'admin',
      summary: 'Sign out the other admin sessions',
      responses: { 200: revokedCountResponseSchema },
      handler: async ({ req }) => ({
        revokedCount: await sessions.revokeAdmin({ keep: adminSessionOf(req) }, 'revoked_by_admin'),
      }),
    }),
    route({
      method: 'delete',
      path: '/admin/sessions/:id',
      access: 'admin',
      summary: 'Sign out an admin session',
      params: authIdParamsSchema,
      responses: { 200: successMessageSchema },
      errors: { 404: ['AUTH_SESSION_NOT_FOUND'] },
      handler: async ({ params }) => {
        if (!(await sessions.revokeAdmin({ only: params.id }, 'revoked_by_admin'))) {
          throw new AppError(404, 'AUTH_SESSION_NOT_FOUND', 'No live admin session with this id');
        }
        return {
          success: true as const,
          message: 'Admin session revoked; its access tokens stop at once',
        };
      },
    }),
    route({
      method: 'get',
      path: '/users',
      access: 'admin',
      summary: 'List users (search by email, name or id)',
      query: listUsersQuerySchema,
      responses: { 200: listUsersResponseSchema },
      handler: ({ query }) => auth.listUsers(query),
    }),
    route({
      method: 'get',
      path: '/users/:id',
      access: 'admin',
      summary: 'A user',
      params: authIdParamsSchema,
      responses: { 200: userSchema },
      errors: { 404: ['AUTH_USER_NOT_FOUND'] },
      handler: ({ params }) => auth.getUser(params.id),
    }),
    route({
      method: 'patch',
      path: '/users/:id',
      access: 'admin',
      summary: 'Update a user: email, password, email-verified, metadata, roles, ban',
      description:
        'Any subset of `{email, password, emailVerified, appMetadata, userMetadata, appRoles, ' +
        'bannedUntil}`. `emailVerified: true` vouches for the account as it is (its password and ' +
        "factors stay). A new password or a ban (a time in the future) ends the user's sessions; " +
        '`bannedUntil: null` lifts a ban. Metadata keys are merged (null removes one); `appRoles` ' +
        "replaces the user's roles. Changes reach the user's token at the next refresh.",
      params: authIdParamsSchema,
      body: adminUpdateUserRequestSchema,
      responses: { 200: userSchema },
      errors: {
        400: [
          'AUTH_INVALID_EMAIL',
          'AUTH_WEAK_PASSWORD',
          'AUTH_UNKNOWN_ROLE',
          'AUTH_NOT_A_USER_SESSION',
        ],
        404: ['AUTH_USER_NOT_FOUND'],
        409: ['AUTH_EMAIL_EXISTS'],
      },
      handler: ({ params, body }) => auth.adminUpdateUser(params.id, body),
    }),
    route({
      method: 'get',
      path: '/users/:id/sessions',
      access: 'admin',
      summary: "A user's live sessions, newest first",
      params: authIdParamsSchema,
      responses: { 200: listSessionsResponseSchema },
      errors: { 404: ['AUTH_USER_NOT_FOUND'] },
      handler: async ({ params }) => {
        await auth.getUser(params.id);
        return {
          sessions: (await sessions.list(params.id)).map((s) =>
            sessionJson(s, undefined, { aal: s.aal }),
          ),
        };
      },
    }),
    route({
      method: 'get',
      path: '/users/:id/identities',
      access: 'admin',
      summary: 'The provider identities linked to a user',
      params: authIdParamsSchema,
      responses: { 200: listUserIdentitiesResponseSchema },
      errors: { 404: ['AUTH_USER_NOT_FOUND'] },
      handler: async ({ params }) => ({ identities: await auth.listIdentities(params.id) }),
    }),
    route({
      method: 'delete',
      path: '/users/:id/sessions',
      access: 'admin',
      summary: "Sign out all of a user's sessions",
      params: authIdParamsSchema,
      responses: { 200: revokedCountResponseSchema },
      errors: { 404: ['AUTH_USER_NOT_FOUND'] },
      handler: async ({ params }) => {
        await auth.getUser(params.id);
        return { revokedCount: await sessions.revokeAllForUser(params.id, 'revoked_by_admin') };
      },
    }),
    route({
      method: 'delete',
      path: '/users/:id/mfa',
      access: 'admin',
      summary: "Remove a user's second factors (account recovery)",
      params: authIdParamsSchema,
      responses: { 200: removedFactorsResponseSchema },
      errors: { 404: ['AUTH_USER_NOT_FOUND'] },
      handler: async ({ params }) => {
        await auth.getUser(params.id);
        return { removedFactors: await mfa.reset(params.id) };
      },
    }),
    route({
      method: 'delete',
      path: '/users',
      access: 'admin',
      summary: 'Delete users',
      description:
        'Erases what Kiln holds about them too, and runs the deletion hook (user-data.ts).',
      body: deleteUsersRequestSchema,
      responses: { 200: deleteUsersResponseSchema },
      errors: ERASURE_ERRORS,
      handler: ({ body }) => auth.deleteUsers(body.userIds),
    }),
    route({
      method: 'get',
      path: '/config',
      access: 'admin',
      summary: 'Auth settings',
      responses: { 200: authConfigResponseSchema },
      handler: async () => ({ id: AUTH_CONFIG_ID, ...(await auth.getConfig()) }),
    }),
    route({
      method: 'put',
      path: '/config',
      access: 'admin',
      summary: 'Change auth settings',
      body: updateAuthConfigRequestSchema,
      responses: { 200: authConfigResponseSchema },
      errors: { 400: ['AUTH_INVALID_CLAIMS_HOOK'] },
      handler: async ({ body }) => ({ id: AUTH_CONFIG_ID, ...(await auth.updateConfig(body)) }),
    }),
  ];
}

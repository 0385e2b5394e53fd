/** The dashboard admin's sessions, the users (admin) and the auth settings. */
import {
  adminSessionRequestSchema,
  adminSessionResponseSchema,
  authConfigResponseSchema,
  authIdParamsSchema,
  clientTypeQuerySchema,
  currentAdminSessionResponseSchema,
  deleteUsersRequestSchema,
  deleteUsersResponseSchema,
  listAdminSessionsResponseSchema,
  listUsersQuerySchema,
  listUsersResponseSchema,
  removedFactorsResponseSchema,
  revokedCountResponseSchema,
  successMessageSchema,
  updateAuthConfigRequestSchema,
  userSchema,
} from '@kiln/shared-schemas';
import { AppError } from '../core/errors.js';
import { route, type DeclaredRoute } from '../core/route.js';
import type { IssuedAdminSession } from './service.js';
import {
  ADMIN_REFRESH_COOKIE,
  RATE_LIMITED,
  adminSessionOf,
  clientTypeOf,
  type AuthHttp,
} from './http.js';

const REFRESH_BODY_DOC =
  'Web clients send the admin refresh cookie and X-CSRF-Token; other clients (client_type) ' +
  'send `refreshToken` in the body.';

export function adminRoutes(http: AuthHttp): DeclaredRoute[] {
  const { auth, limits } = http;
  const { sessions, mfa } = http.options;
  return [
    route({
      method: 'post',
      path: '/admin/sessions',
      access: 'anyone',
      summary: 'Admin sign-in (the dashboard)',
      query: clientTypeQuerySchema,
      body: adminSessionRequestSchema,
      before: [limits.signIn],
      responses: { 200: adminSessionResponseSchema },
      errors: { ...RATE_LIMITED, 401: ['AUTH_INVALID_CREDENTIALS'] },
      handler: async ({ body, req, res }) =>
        http.adminSession(
          req,
          res,
          await auth.adminSignIn(
            body.username ?? body.email ?? '',
            body.password,
            http.context(req),
          ),
        ),
    }),
    route({
      method: 'post',
      path: '/admin/refresh',
      access: 'anyone',
      summary: 'A new admin access token for the admin refresh token',
      description: REFRESH_BODY_DOC,
      // The body is read for non-web clients only (a web client's body is ignored).
      parse: false,
      query: clientTypeQuerySchema,
      responses: { 200: adminSessionResponseSchema },
      errors: { 401: ['AUTH_UNAUTHORIZED'], 403: ['AUTH_CSRF_INVALID'] },
      handler: async ({ req, res }) => {
        const token = http.presentedRefreshToken(req, true, ADMIN_REFRESH_COOKIE)!;
        let session: IssuedAdminSession;
        try {
          session = await auth.adminRefresh(token);
        } catch (err) {
          if (clientTypeOf(req) === 'web') http.clearAdminCookies(req, res);
          throw err;
        }
        return http.adminSession(req, res, session);
      },
    }),
    route({
      method: 'post',
      path: '/admin/logout',
      access: 'anyone',
      summary: 'Admin sign-out',
      description: REFRESH_BODY_DOC,
      parse: false,
      query: clientTypeQuerySchema,
      responses: { 200: successMessageSchema },
      errors: { 403: ['AUTH_CSRF_INVALID'] },
      handler: async ({ req, res }) => {
        const refreshToken = http.presentedRefreshToken(req, false, ADMIN_REFRESH_COOKIE);
        await auth.logout({ refreshToken, sessionId: adminSessionOf(req) });
        if (clientTypeOf(req) === 'web') http.clearAdminCookies(req, res);
        return { success: true as const, message: 'Signed out' };
      },
    }),
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
          sessions: (await sessions.listAdmin()).map((s) => ({
            id: s.id,
            clientType: s.client_type,
            userAgent: s.user_agent,
            ip: s.ip,
            createdAt: s.created_at.toISOString(),
            lastUsedAt: s.last_used_at.toISOString(),
            expiresAt: s.expires_at.toISOString(),
            current: s.id === current,
          })),
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
      body: deleteUsersRequestSchema,
      responses: { 200: deleteUsersResponseSchema },
      handler: ({ body }) => auth.deleteUsers(body.userIds),
    }),
    route({
      method: 'get',
      path: '/config',
      access: 'admin',
      summary: 'Auth settings',
      responses: { 200: authConfigResponseSchema },
      handler: () => auth.getConfig(),
    }),
    route({
      method: 'put',
      path: '/config',
      access: 'admin',
      summary: 'Change auth settings',
      body: updateAuthConfigRequestSchema,
      responses: { 200: authConfigResponseSchema },
      handler: ({ body }) => auth.updateConfig(body),
    }),
  ];
}

/**
 * The auth area, mounted at /api/auth: one route group whose routes come from a file per concern
 * (this file: sign-up, sign-in and the user's sessions, profiles, public config, anonymous users;
 * refresh-routes.ts, oauth-routes.ts, mfa-routes.ts, email-routes.ts, admin-routes.ts,
 * role-routes.ts). Cookies,
 * session bodies and inbox proofs are http.ts; SQL is in the services. SMTP and templates are
 * email/routes.ts. The cookie names are exported here too (tests check them).
 *
 * No group access: the group shares /api/auth with public routes, so each route says its own.
 */
import {
  authIdParamsSchema,
  clientTypeQuerySchema,
  createSessionRequestSchema,
  createUserRequestSchema,
  currentSessionResponseSchema,
  listSessionsResponseSchema,
  profileResponseSchema,
  publicAuthConfigResponseSchema,
  revokedCountResponseSchema,
  sessionResponseSchema,
  signInResponseSchema,
  signUpResponseSchema,
  successMessageSchema,
  updateProfileRequestSchema,
  updateProfileResponseSchema,
  upgradeAnonymousRequestSchema,
  upgradeAnonymousResponseSchema,
} from '@kiln/shared-schemas';
import { AppError } from '../core/errors.js';
import { optionalPrincipal } from '../core/auth/principal.js';
import { reply, route, type DeclaredRoute, type RouteGroup } from '../core/route.js';
import type { AuthService } from './service.js';
import {
  AuthHttp,
  RATE_LIMITED,
  SEND_ERRORS,
  requireUserSession,
  sessionJson,
  userIdOf,
  type AuthRoutesOptions,
} from './http.js';
import { oauthRoutes } from './oauth-routes.js';
import { mfaRoutes } from './mfa-routes.js';
import { emailFlowRoutes } from './email-routes.js';
import { adminRoutes } from './admin-routes.js';
import { userAdminRoutes } from './user-admin-routes.js';
import { TOKEN_ISSUE_ERRORS, appRoleRoutes } from './role-routes.js';
import { hostedPagesRoutes } from './hosted-routes.js';
import { userRefreshRoutes } from './refresh-routes.js';
import { phoneRoutes } from './phone-routes.js';
import { userDataRoutes } from './user-data-routes.js';

export {
  ADMIN_CSRF_COOKIE,
  ADMIN_REFRESH_COOKIE,
  CSRF_COOKIE,
  PASSWORD_BINDING_COOKIE,
  REFRESH_COOKIE,
  type AuthRoutesOptions,
} from './http.js';

export function authRoutes(auth: AuthService, options: AuthRoutesOptions): RouteGroup {
  const http = new AuthHttp(auth, options);
  return {
    tag: 'auth',
    // Any route that issues or refreshes a user's token may answer these (see claims.ts).
    errors: TOKEN_ISSUE_ERRORS,
    routes: [
      ...sessionRoutes(http),
      ...oauthRoutes(http),
      ...mfaRoutes(http),
      ...emailFlowRoutes(http),
      ...phoneRoutes(http),
      // Before the admin routes too: /users/me/... is not /users/:id/...
      ...userDataRoutes(http),
      // Before the admin routes: /users/current/... is not /users/:id/...
      ...hostedPagesRoutes(http),
      ...userAdminRoutes(http),
      ...adminRoutes(http),
      ...appRoleRoutes(http),
    ],
  };
}

/** Sign-up, sign-in, the user's sessions and profile, public config, anonymous users. */
function sessionRoutes(http: AuthHttp): DeclaredRoute[] {
  const { auth, limits } = http;
  const { flows } = http.options.email;
  const { sessions } = http.options;
  return [
    route({
      method: 'post',
      path: '/users',
      access: 'anyone',
      summary: 'Sign up (admin: create a user, with a password or an invitation)',
      description:
        'A session (201), or `requireEmailVerification` when the address must be proven first. ' +
        'Called by an admin (API key or admin token): creates the user without a session, with ' +
        '`password`, or `invite: true` to mail a link that sets one (valid 7 days; `redirectTo` ' +
        'the page it opens, default the hosted /auth/reset-password); `emailVerified`, ' +
        '`appMetadata`, `userMetadata` and `appRoles` (defined roles) are admin-only.',
      query: clientTypeQuerySchema,
      body: createUserRequestSchema,
      before: [limits.signUp],
      responses: { 201: { description: 'Created', schema: signUpResponseSchema } },
      errors: {
        ...SEND_ERRORS,
        ...RATE_LIMITED,
        400: [
          'AUTH_WEAK_PASSWORD',
          'AUTH_INVALID_EMAIL',
          'AUTH_REDIRECT_NOT_ALLOWED',
          'AUTH_UNKNOWN_ROLE',
        ],
        403: ['AUTH_SIGNUP_DISABLED', 'AUTH_FORBIDDEN'],
        409: ['AUTH_EMAIL_EXISTS'],
        429: ['RATE_LIMITED', 'AUTH_RATE_LIMITED'],
      },
      handler: async ({ body, req, res }) => {
        const byAdmin = optionalPrincipal(req)?.role === 'project_admin';
        if (byAdmin) {
          const user = await auth.adminCreateUser(body);
          if (body.invite) await flows.sendInvite(user, body.redirectTo);
          return reply(201, { user, accessToken: null });
        }
        const adminOnly = (
          ['invite', 'emailVerified', 'appMetadata', 'userMetadata', 'appRoles'] as const
        ).filter((k) => body[k] !== undefined);
        if (adminOnly.length) {
          throw new AppError(
            403,
            'AUTH_FORBIDDEN',
            `${adminOnly.join(', ')}: only an admin (API key or admin session) may set these`,
          );
        }
        const { password } = body;
        if (password === undefined) {
          throw new AppError(400, 'INVALID_INPUT', 'password: password is required');
        }
        const binding = http.passwordBinding(req, body.codeChallenge);
        const result = await auth.signUp(
          { ...body, password },
          {
            ...http.context(req),
            byAdmin,
            passwordBinding: binding.challenge,
          },
        );
        binding.commit(res);
        if (result.kind === 'created') return reply(201, { user: result.user, accessToken: null });
        if (result.kind === 'verification-required') {
          await flows
            .sendVerification(body.email, req.ip, body.redirectTo)
            .catch((err: unknown) => {
              // The account exists either way; the user can ask for the message again.
              if (!(err instanceof AppError) || err.status >= 500) throw err;
            });
          return reply(201, { accessToken: null, requireEmailVerification: true as const });
        }
        return reply(201, http.session(req, res, result.session));
      },
    }),
    route({
      method: 'post',
      path: '/sessions',
      access: 'anyone',
      summary: 'Sign in with a password, or with a one-time code (`method: "otp"`)',
      description:
        'A session, or `requireMfa` with an `mfaToken` for POST /api/auth/mfa/challenge.',
      query: clientTypeQuerySchema,
      body: createSessionRequestSchema,
      before: [limits.signIn],
      responses: { 200: signInResponseSchema },
      errors: {
        ...RATE_LIMITED,
        400: ['AUTH_INVALID_OTP', 'AUTH_INVALID_TOKEN', 'AUTH_INVALID_EMAIL'],
        401: ['AUTH_INVALID_CREDENTIALS'],
        403: ['AUTH_NEED_VERIFICATION', 'AUTH_SIGNUP_DISABLED'],
      },
      handler: async ({ body, req, res }) => {
        if (body.method === 'otp') {
          const proof = http.inboxProofOf(req, body.codeVerifier);
          return http.finishSignIn(
            req,
            res,
            await flows.signInWithOtp(body.email, body.otp, proof),
          );
        }
        return http.finishSignIn(req, res, await auth.authenticate(body.email, body.password));
      },
    }),
    route({
      method: 'get',
      path: '/sessions',
      access: 'user',
      summary: "The signed-in user's live sessions",
      responses: { 200: listSessionsResponseSchema },
      authorize: requireUserSession,
      handler: async ({ principal }) => {
        const current = principal.sessionId;
        return {
          sessions: (await sessions.list(userIdOf(principal))).map((s) =>
            sessionJson(s, current, { aal: s.aal }),
          ),
        };
      },
    }),
    route({
      method: 'post',
      path: '/sessions/revoke-others',
      access: 'user',
      summary: "Sign out the user's other sessions",
      responses: { 200: revokedCountResponseSchema },
      authorize: requireUserSession,
      handler: async ({ principal }) => ({
        revokedCount: await sessions.revokeOthers(
          userIdOf(principal),
          principal.sessionId,
          'revoked_by_user',
        ),
      }),
    }),
    route({
      method: 'delete',
      path: '/sessions/:id',
      access: 'user',
      summary: "Sign out one of the user's sessions",
      params: authIdParamsSchema,
      responses: { 200: successMessageSchema },
      errors: { 404: ['AUTH_SESSION_NOT_FOUND'] },
      authorize: requireUserSession,
      handler: async ({ params, principal }) => {
        if (!(await sessions.revokeOwn(userIdOf(principal), params.id, 'revoked_by_user'))) {
          throw new AppError(404, 'AUTH_SESSION_NOT_FOUND', 'No live session with this id');
        }
        return {
          success: true as const,
          message: 'Session revoked; its access tokens stop at once',
        };
      },
    }),
    route({
      method: 'post',
      path: '/anonymous',
      access: 'anyone',
      summary: 'Sign in anonymously (a new anonymous user)',
      query: clientTypeQuerySchema,
      before: [limits.signUp],
      responses: { 201: { description: 'Created', schema: sessionResponseSchema } },
      errors: { ...RATE_LIMITED, 403: ['AUTH_ANONYMOUS_DISABLED'] },
      handler: async ({ req, res }) => {
        const user = await auth.createAnonymous();
        return reply(201, http.session(req, res, await auth.startSession(user, http.context(req))));
      },
    }),
    route({
      method: 'post',
      path: '/anonymous/upgrade',
      access: 'user',
      summary: 'Give the anonymous account an email and password (same user id)',
      query: clientTypeQuerySchema,
      body: upgradeAnonymousRequestSchema,
      responses: { 200: upgradeAnonymousResponseSchema },
      errors: {
        ...SEND_ERRORS,
        400: [
          'AUTH_NOT_ANONYMOUS',
          'AUTH_WEAK_PASSWORD',
          'AUTH_INVALID_EMAIL',
          'AUTH_REDIRECT_NOT_ALLOWED',
        ],
        403: ['AUTH_SIGNUP_DISABLED'],
        409: ['AUTH_EMAIL_EXISTS'],
      },
      authorize: requireUserSession,
      handler: async ({ body, principal, req, res }) => {
        const userId = userIdOf(principal);
        const binding = http.passwordBinding(req, body.codeChallenge);
        const { user, needsVerification } = await auth.upgradeAnonymous(
          userId,
          body,
          binding.challenge,
        );
        binding.commit(res);
        // The anonymous session ends; the account continues with the same id.
        await sessions.revokeOthers(userId, undefined, 'upgraded');
        if (needsVerification) {
          await flows.sendVerification(user.email, req.ip, body.redirectTo);
          return { user, accessToken: null, requireEmailVerification: true as const };
        }
        return http.session(req, res, await auth.startSession(user, http.context(req)));
      },
    }),
    ...userRefreshRoutes(http),
    route({
      method: 'get',
      path: '/sessions/current',
      access: 'user',
      summary: 'The signed-in user',
      responses: { 200: currentSessionResponseSchema },
      errors: { 400: ['AUTH_NOT_A_USER_SESSION'], 404: ['AUTH_USER_NOT_FOUND'] },
      handler: async ({ principal }) => {
        if (principal.role !== 'authenticated' || !principal.sub) {
          throw new AppError(
            400,
            'AUTH_NOT_A_USER_SESSION',
            'This credential belongs to an admin, not a user',
            'Use GET /api/auth/admin/sessions/current',
          );
        }
        return { user: await auth.getUser(principal.sub) };
      },
    }),
    route({
      method: 'get',
      path: '/profiles/current',
      access: 'user',
      summary: "The signed-in user's profile",
      responses: { 200: profileResponseSchema },
      errors: { 400: ['AUTH_NOT_A_USER_SESSION'], 404: ['AUTH_USER_NOT_FOUND'] },
      handler: ({ principal }) => {
        if (!principal.sub)
          throw new AppError(400, 'AUTH_NOT_A_USER_SESSION', 'This credential has no user');
        return auth.getProfile(principal.sub);
      },
    }),
    route({
      method: 'get',
      path: '/profiles/:id',
      access: 'anyKey',
      summary: "A user's public profile",
      params: authIdParamsSchema,
      responses: { 200: profileResponseSchema },
      errors: { 404: ['AUTH_USER_NOT_FOUND'] },
      handler: ({ params }) => auth.getProfile(params.id),
    }),
    route({
      method: 'patch',
      path: '/profiles/current',
      access: 'user',
      summary:
        "Update the signed-in user's profile and user_metadata (keys merged; null removes a key)",
      description:
        '`{profile?, userMetadata?}`. user_metadata is in the access token as the `user_metadata` ' +
        'claim from the next refresh on.',
      body: updateProfileRequestSchema,
      responses: { 200: updateProfileResponseSchema },
      errors: { 400: ['AUTH_NOT_A_USER_SESSION'], 404: ['AUTH_USER_NOT_FOUND'] },
      authorize: ({ principal }) => {
        if (principal.role !== 'authenticated' || !principal.sub) {
          throw new AppError(400, 'AUTH_NOT_A_USER_SESSION', 'Only a signed-in user has a profile');
        }
      },
      handler: ({ body, principal }) => auth.updateProfile(principal.sub!, body),
    }),
    route({
      method: 'get',
      path: '/public-config',
      access: 'anyone',
      summary: 'Sign-up and password rules, and the OAuth providers a client may offer',
      responses: { 200: publicAuthConfigResponseSchema },
      handler: async () => {
        const {
          allowedRedirectUrls: _hidden,
          customClaimsHook: _hook,
          createdAt: _c,
          updatedAt: _u,
          ...config
        } = await auth.getConfig();
        const providers = await http.options.oauth.enabledKeys();
        return {
          oAuthProviders: providers.builtIn,
          customOAuthProviders: providers.custom,
          ...config,
        };
      },
    }),
  ];
}

/**
 * What the hosted auth pages (/auth, the `auth/` app) need beyond the SDK's routes:
 *
 *   app ──/auth/sign-in?redirect=…&code_challenge=…──▶ pages ──GET /redirects/check──▶ allowed?
 *   pages: any sign-in (password, code, link, provider, anonymous; then the second factor)
 *   pages ──POST /oauth/codes {redirect_uri, code_challenge}──▶ redirect_uri?insforge_code=…
 *   app ──POST /oauth/exchange {code, code_verifier}──▶ session
 *
 * The code is OAuth's (oauth.ts): single-use, two minutes, bound to the app's challenge; no token
 * ever travels in a URL. Also: a user deleting their own account, when the project allows it.
 */
import {
  appCodeRequestSchema,
  authIdParamsSchema,
  linkIdentityRequestSchema,
  listUserIdentitiesResponseSchema,
  oauthStartResponseSchema,
  appCodeResponseSchema,
  changeEmailRequestSchema,
  changePasswordRequestSchema,
  confirmEmailChangeRequestSchema,
  currentSessionResponseSchema,
  emailAcceptedResponseSchema,
  passwordChangedResponseSchema,
  redirectCheckQuerySchema,
  redirectCheckResponseSchema,
  successMessageSchema,
} from '@kiln/shared-schemas';
import { AppError } from '../core/errors.js';
import { reply, route, type DeclaredRoute } from '../core/route.js';
import { RATE_LIMITED, SEND_ERRORS, requireUserSession, userIdOf, type AuthHttp } from './http.js';
import { BUILT_IN_PROVIDERS } from './providers/index.js';
import { ERASURE_ERRORS } from './user-data.js';

export function hostedPagesRoutes(http: AuthHttp): DeclaredRoute[] {
  const { oauth, sessions } = http.options;
  const { flows } = http.options.email;
  const { auth, limits } = http;
  return [
    route({
      method: 'get',
      path: '/redirects/check',
      access: 'anyone',
      summary: 'Whether a URL is an allowed redirect URL (the hosted pages ask before sign-in)',
      query: redirectCheckQuerySchema,
      responses: { 200: redirectCheckResponseSchema },
      handler: async ({ query }) => ({
        allowed: await oauth.isAllowedAppRedirect(query.redirect_uri),
      }),
    }),
    route({
      method: 'post',
      path: '/oauth/codes',
      access: 'user',
      summary: 'A code for the app that sent the signed-in user to the hosted pages (PKCE)',
      description:
        'Answers `redirect_uri?insforge_code=…`; the app exchanges the code with its verifier ' +
        '(POST /api/auth/oauth/exchange). A session that passed the second factor gives the app ' +
        'one that did too.',
      body: appCodeRequestSchema,
      responses: { 200: appCodeResponseSchema },
      errors: { 400: ['AUTH_REDIRECT_NOT_ALLOWED'] },
      authorize: requireUserSession,
      handler: async ({ body, principal }) => ({
        redirectTo: await oauth.codeForSignedInUser(
          userIdOf(principal),
          body.redirect_uri,
          body.code_challenge,
          principal.claims.aal === 'aal2' ? 'aal2' : 'aal1',
        ),
      }),
    }),
    route({
      method: 'post',
      path: '/users/current/password',
      access: 'user',
      summary: "Change the signed-in user's password (the current one is required if it has one)",
      description: 'Every other session of the user ends; this one goes on.',
      body: changePasswordRequestSchema,
      responses: { 200: passwordChangedResponseSchema },
      errors: {
        400: ['AUTH_WEAK_PASSWORD', 'AUTH_NOT_A_USER_SESSION'],
        401: ['AUTH_INVALID_CREDENTIALS'],
      },
      authorize: requireUserSession,
      handler: async ({ body, principal }) => {
        await auth.changePassword(
          userIdOf(principal),
          body.currentPassword,
          body.newPassword,
          principal.sessionId,
        );
        return { message: 'Password changed; your other sessions were signed out' };
      },
    }),
    route({
      method: 'post',
      path: '/users/current/email',
      access: 'user',
      summary: 'Start changing the signed-in user’s address: a code is mailed to the new one',
      body: changeEmailRequestSchema,
      before: [limits.email],
      responses: {
        202: { description: 'The code is on its way', schema: emailAcceptedResponseSchema },
      },
      errors: {
        ...SEND_ERRORS,
        ...RATE_LIMITED,
        400: ['AUTH_INVALID_EMAIL'],
        409: ['AUTH_EMAIL_EXISTS'],
        429: ['RATE_LIMITED', 'AUTH_RATE_LIMITED'],
      },
      authorize: requireUserSession,
      handler: async ({ body, principal, req }) => {
        await flows.sendEmailChange(userIdOf(principal), body.email, req.ip);
        return reply(202, {
          success: true as const,
          message: 'A code is on its way to the new address',
        });
      },
    }),
    route({
      method: 'post',
      path: '/users/current/email/verify',
      access: 'user',
      summary: 'Finish changing the address with the code mailed to it',
      body: confirmEmailChangeRequestSchema,
      before: [limits.verify],
      responses: { 200: currentSessionResponseSchema },
      errors: {
        ...RATE_LIMITED,
        400: ['AUTH_INVALID_OTP', 'AUTH_INVALID_EMAIL'],
        409: ['AUTH_EMAIL_EXISTS'],
      },
      authorize: requireUserSession,
      handler: async ({ body, principal }) => ({
        user: await flows.confirmEmailChange(userIdOf(principal), body.email, body.code),
      }),
    }),
    route({
      method: 'get',
      path: '/users/current/identities',
      access: 'user',
      summary: 'The providers linked to the signed-in user',
      responses: { 200: listUserIdentitiesResponseSchema },
      authorize: requireUserSession,
      handler: async ({ principal }) => ({
        identities: await auth.listIdentities(userIdOf(principal)),
      }),
    }),
    route({
      method: 'post',
      path: '/users/current/identities',
      access: 'user',
      summary: 'Start linking a provider to the signed-in user (PKCE, like a sign-in)',
      description:
        'Answers the URL to send the browser to. The provider comes back to redirect_uri with ' +
        '`insforge_code`; POST /api/auth/oauth/exchange with the verifier links the identity and ' +
        'answers a session of the same user.',
      body: linkIdentityRequestSchema,
      responses: { 200: oauthStartResponseSchema },
      errors: {
        400: ['AUTH_REDIRECT_NOT_ALLOWED'],
        404: ['AUTH_OAUTH_PROVIDER_NOT_FOUND'],
        502: ['AUTH_OAUTH_PROVIDER_UNAVAILABLE'],
      },
      authorize: requireUserSession,
      handler: async ({ body, principal }) => ({
        authUrl: await oauth.start(
          body.provider,
          body.redirect_uri,
          body.code_challenge,
          !(body.provider in BUILT_IN_PROVIDERS),
          userIdOf(principal),
        ),
      }),
    }),
    route({
      method: 'delete',
      path: '/users/current/identities/:id',
      access: 'user',
      summary: 'Unlink a provider from the signed-in user (not their last way to sign in)',
      params: authIdParamsSchema,
      responses: { 200: currentSessionResponseSchema },
      errors: { 400: ['AUTH_LAST_SIGN_IN_METHOD'], 404: ['AUTH_IDENTITY_NOT_FOUND'] },
      authorize: requireUserSession,
      handler: async ({ params, principal }) => ({
        user: await auth.unlinkIdentity(userIdOf(principal), params.id),
      }),
    }),
    route({
      method: 'delete',
      path: '/users/current',
      access: 'user',
      summary: 'Delete the signed-in user’s account (when the project allows it)',
      responses: { 200: successMessageSchema },
      errors: { ...ERASURE_ERRORS, 403: ['AUTH_ACCOUNT_DELETION_DISABLED'] },
      authorize: requireUserSession,
      handler: async ({ principal }) => {
        const userId = userIdOf(principal);
        if (!(await auth.getConfig()).allowAccountDeletion) {
          throw new AppError(
            403,
            'AUTH_ACCOUNT_DELETION_DISABLED',
            'This project does not let users delete their own account',
            'An admin can allow it with PUT /api/auth/config {allowAccountDeletion: true}',
          );
        }
        await sessions.revokeAllForUser(userId, 'account_deleted');
        await auth.deleteUsers([userId]);
        return { success: true as const, message: 'Account deleted' };
      },
    }),
  ];
}

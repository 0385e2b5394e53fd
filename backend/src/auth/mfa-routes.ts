/** The second factor (TOTP): enrolment, factors, recovery codes, and the sign-in challenge. */
import {
  authIdParamsSchema,
  clientTypeQuerySchema,
  listMfaFactorsResponseSchema,
  mfaChallengeRequestSchema,
  mfaEnrollRequestSchema,
  mfaEnrollResponseSchema,
  mfaVerifyRequestSchema,
  mfaVerifyResponseSchema,
  recoveryCodesResponseSchema,
  sessionResponseSchema,
  successMessageSchema,
} from '@kiln/shared-schemas';
import { AppError } from '../core/errors.js';
import type { Principal } from '../core/db.js';
import { route, type DeclaredRoute } from '../core/route.js';
import { RATE_LIMITED, requireUserSession, userIdOf, type AuthHttp } from './http.js';

/** Changing the factors of a protected account needs a session that passed the second factor. */
const AAL2_ERRORS = { 403: ['AUTH_MFA_REQUIRED'] } as const;

export function mfaRoutes(http: AuthHttp): DeclaredRoute[] {
  const { auth, limits } = http;
  const { mfa } = http.options;

  const requireAal2 = async (principal: Principal, userId: string) => {
    if ((await mfa.required(userId)) && principal.claims.aal !== 'aal2') {
      throw new AppError(
        403,
        'AUTH_MFA_REQUIRED',
        'This needs a session that passed the second factor (aal2)',
        'Sign in again and complete POST /api/auth/mfa/challenge',
      );
    }
  };

  return [
    route({
      method: 'post',
      path: '/mfa/totp/enroll',
      access: 'user',
      summary: 'Start enrolling a TOTP factor (secret, otpauth URI, QR code)',
      body: mfaEnrollRequestSchema,
      responses: { 201: { description: 'Created', schema: mfaEnrollResponseSchema } },
      errors: {
        ...AAL2_ERRORS,
        400: ['AUTH_NOT_ALLOWED'],
        403: ['AUTH_MFA_REQUIRED', 'AUTH_NEED_VERIFICATION'],
        404: ['AUTH_USER_NOT_FOUND'],
      },
      authorize: requireUserSession,
      handler: async ({ body, principal }) => {
        const userId = userIdOf(principal);
        // Adding a factor (and the fresh recovery codes that come with it) to an account that
        // already has one is a change of factors too.
        await requireAal2(principal, userId);
        const user = await auth.getUser(userId);
        if (user.isAnonymous) {
          throw new AppError(
            400,
            'AUTH_NOT_ALLOWED',
            'Upgrade the anonymous account before adding MFA',
          );
        }
        return mfa.enroll(userId, user.email, body?.friendlyName);
      },
    }),
    route({
      method: 'post',
      path: '/mfa/totp/verify',
      access: 'user',
      summary: 'Activate a factor with its first code (answers the recovery codes)',
      body: mfaVerifyRequestSchema,
      responses: { 200: mfaVerifyResponseSchema },
      errors: {
        400: ['AUTH_MFA_ALREADY_VERIFIED', 'AUTH_MFA_INVALID_CODE'],
        403: ['AUTH_MFA_REQUIRED', 'AUTH_NEED_VERIFICATION'],
        404: ['AUTH_MFA_FACTOR_NOT_FOUND'],
      },
      authorize: requireUserSession,
      handler: async ({ body, principal }) => {
        const userId = userIdOf(principal);
        await requireAal2(principal, userId);
        return mfa.verifyEnrollment(userId, body.factorId, body.code);
      },
    }),
    route({
      method: 'get',
      path: '/mfa/factors',
      access: 'user',
      summary: "The user's factors",
      responses: { 200: listMfaFactorsResponseSchema },
      authorize: requireUserSession,
      handler: async ({ principal }) => ({ factors: await mfa.list(userIdOf(principal)) }),
    }),
    route({
      method: 'delete',
      path: '/mfa/factors/:id',
      access: 'user',
      summary: 'Remove a factor',
      params: authIdParamsSchema,
      responses: { 200: successMessageSchema },
      errors: { ...AAL2_ERRORS, 404: ['AUTH_MFA_FACTOR_NOT_FOUND'] },
      authorize: requireUserSession,
      handler: async ({ params, principal }) => {
        const userId = userIdOf(principal);
        await requireAal2(principal, userId);
        await mfa.remove(userId, params.id);
        return { success: true as const, message: 'Factor removed' };
      },
    }),
    route({
      method: 'post',
      path: '/mfa/recovery-codes',
      access: 'user',
      summary: 'New recovery codes (the old ones stop working)',
      responses: { 200: recoveryCodesResponseSchema },
      errors: { ...AAL2_ERRORS, 400: ['AUTH_MFA_NOT_ENROLLED'] },
      authorize: requireUserSession,
      handler: async ({ principal }) => {
        const userId = userIdOf(principal);
        await requireAal2(principal, userId);
        if (!(await mfa.required(userId))) {
          throw new AppError(400, 'AUTH_MFA_NOT_ENROLLED', 'Enroll a factor first');
        }
        return { recoveryCodes: await mfa.newRecoveryCodes(userId) };
      },
    }),
    route({
      method: 'post',
      path: '/mfa/challenge',
      access: 'anyone',
      summary: 'Finish signing in with a code (TOTP or recovery code) and the mfaToken',
      query: clientTypeQuerySchema,
      body: mfaChallengeRequestSchema,
      before: [limits.signIn],
      responses: { 200: sessionResponseSchema },
      errors: {
        ...RATE_LIMITED,
        400: ['AUTH_MFA_INVALID_CODE'],
        401: ['AUTH_MFA_TOKEN_INVALID'],
        404: ['AUTH_USER_NOT_FOUND'],
        429: ['RATE_LIMITED', 'AUTH_MFA_TOO_MANY_ATTEMPTS'],
      },
      handler: async ({ body, req, res }) => {
        const userId = await mfa.challenge(body.mfaToken, body.code);
        return http.session(
          req,
          res,
          await auth.startSession(await auth.getUser(userId), http.context(req), 'aal2'),
        );
      },
    }),
  ];
}

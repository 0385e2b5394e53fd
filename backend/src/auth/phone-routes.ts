/**
 * Phone sign-in and verification by SMS code (/api/auth/phone/*), shaped like the email flows:
 * a sending route answers 202 whatever the number, the code route signs in. The rules are
 * phone.ts; the codes are codes.ts.
 */
import {
  clientTypeQuerySchema,
  currentSessionResponseSchema,
  phoneCodeAcceptedResponseSchema,
  phoneCodeRequestSchema,
  sendPhoneCodeRequestSchema,
  signInResponseSchema,
} from '@kiln/shared-schemas';
import { reply, route, type DeclaredRoute } from '../core/route.js';
import { RATE_LIMITED, requireUserSession, userIdOf, type AuthHttp } from './http.js';

const SEND_ERRORS = {
  400: ['AUTH_INVALID_PHONE'],
  429: ['RATE_LIMITED', 'AUTH_RATE_LIMITED'],
  503: ['AUTH_SMS_NOT_CONFIGURED'],
};

export function phoneRoutes(http: AuthHttp): DeclaredRoute[] {
  const phone = http.options.phone;
  if (!phone) return [];
  const { limits } = http;
  return [
    route({
      method: 'post',
      path: '/phone/send-otp',
      access: 'anyone',
      summary: 'Send a one-time sign-in code by SMS',
      description:
        'Answered 202 whether or not the number has an account. A number without one becomes a ' +
        'new account when the code is used (unless sign-up is disabled). Numbers are validated ' +
        'and normalised to E.164; the answer says how the number was understood.',
      body: sendPhoneCodeRequestSchema,
      before: [limits.email],
      responses: {
        202: { description: 'Accepted', schema: phoneCodeAcceptedResponseSchema },
      },
      errors: SEND_ERRORS,
      handler: async ({ body, req }) => {
        const number = await phone.sendSignInCode(body.phone, req.ip);
        return reply(202, {
          success: true as const,
          message: 'If this number can receive it, a code is on its way',
          phone: number,
        });
      },
    }),
    route({
      method: 'post',
      path: '/phone/sign-in',
      access: 'anyone',
      summary: 'Sign in with the code from the SMS (signs up a new number)',
      query: clientTypeQuerySchema,
      body: phoneCodeRequestSchema,
      before: [limits.verify],
      responses: { 200: signInResponseSchema },
      errors: {
        ...RATE_LIMITED,
        400: ['AUTH_INVALID_OTP', 'AUTH_INVALID_PHONE'],
        403: ['AUTH_SIGNUP_DISABLED', 'AUTH_USER_BANNED'],
        503: ['AUTH_SMS_NOT_CONFIGURED'],
      },
      handler: async ({ body, req, res }) =>
        http.finishSignIn(req, res, await phone.signIn(body.phone, body.otp)),
    }),
    route({
      method: 'post',
      path: '/phone/send-verification',
      access: 'user',
      summary: 'Send a code to a number the signed-in user wants on their account',
      description:
        'Until the code is used the number shows as unverified (phoneVerified: false) and signs ' +
        'nobody in; a proven number already on the account stays until the new one is proven.',
      body: sendPhoneCodeRequestSchema,
      before: [limits.email],
      responses: {
        202: { description: 'Sent', schema: phoneCodeAcceptedResponseSchema },
      },
      errors: {
        ...SEND_ERRORS,
        400: ['AUTH_INVALID_PHONE', 'AUTH_NOT_A_USER_SESSION'],
        409: ['AUTH_PHONE_EXISTS'],
        502: ['AUTH_SMS_DELIVERY_FAILED'],
      },
      authorize: requireUserSession,
      handler: async ({ body, req, principal }) => {
        const number = await phone.sendVerification(userIdOf(principal), body.phone, req.ip);
        return reply(202, { success: true as const, message: 'A code was sent', phone: number });
      },
    }),
    route({
      method: 'post',
      path: '/phone/verify',
      access: 'user',
      summary: 'Prove the number with the code: it becomes the account’s phone',
      body: phoneCodeRequestSchema,
      before: [limits.verify],
      responses: { 200: currentSessionResponseSchema },
      errors: {
        ...RATE_LIMITED,
        400: ['AUTH_INVALID_OTP', 'AUTH_INVALID_PHONE'],
        409: ['AUTH_PHONE_EXISTS'],
      },
      authorize: requireUserSession,
      handler: async ({ body, principal }) => ({
        user: await phone.verify(userIdOf(principal), body.phone, body.otp),
      }),
    }),
    route({
      method: 'delete',
      path: '/phone',
      access: 'user',
      summary: 'Remove the signed-in user’s phone number (not their only way to sign in)',
      responses: { 200: currentSessionResponseSchema },
      errors: { 400: ['AUTH_LAST_SIGN_IN_METHOD'] },
      authorize: requireUserSession,
      handler: async ({ principal }) => ({ user: await phone.remove(userIdOf(principal)) }),
    }),
  ];
}

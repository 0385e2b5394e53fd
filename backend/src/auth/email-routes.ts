/**
 * Through the inbox (/api/auth/email/*): verification, password reset, one-time codes and magic
 * links. The messages and codes are email/flows.ts; these routes answer them.
 */
import type { z } from 'zod';
import {
  clientTypeQuerySchema,
  emailAcceptedResponseSchema,
  exchangeResetTokenRequestSchema,
  exchangeResetTokenResponseSchema,
  passwordChangedResponseSchema,
  resetPasswordRequestSchema,
  sendEmailRequestSchema,
  sendMagicLinkRequestSchema,
  signInResponseSchema,
  verifyEmailRequestSchema,
  verifyLinkQuerySchema,
} from '@kiln/shared-schemas';
import { AppError } from '../core/errors.js';
import { reply, route, type DeclaredRoute } from '../core/route.js';
import { RATE_LIMITED, SEND_ERRORS, type AuthHttp } from './http.js';

const ACCEPTED = {
  success: true as const,
  message: 'If this address can receive it, a message is on its way',
};
const ACCEPTED_RESPONSE = {
  202: {
    description: 'Accepted (whether or not the address has an account)',
    schema: emailAcceptedResponseSchema,
  },
};
const SEND = {
  ...SEND_ERRORS,
  400: ['AUTH_REDIRECT_NOT_ALLOWED'],
  403: ['AUTH_METHOD_DISABLED'],
  429: ['RATE_LIMITED', 'AUTH_RATE_LIMITED'],
};

export function emailFlowRoutes(http: AuthHttp): DeclaredRoute[] {
  const { limits } = http;
  const { flows } = http.options.email;
  /** Sign-in by mailed code or link is on unless the auth config turned it off. */
  const offered = async (flow: 'allowEmailOtp' | 'allowMagicLink') => {
    if (!(await http.auth.getConfig())[flow]) {
      throw new AppError(
        403,
        'AUTH_METHOD_DISABLED',
        flow === 'allowEmailOtp'
          ? 'Sign-in with a mailed code is turned off for this project'
          : 'Sign-in with a mailed link is turned off for this project',
        `An admin can turn it on with PUT /api/auth/config {${flow}: true}`,
      );
    }
  };
  /** Asks for a message: answered 202 whether or not the address has an account. */
  const sendRoute = (
    path: string,
    summary: string,
    body: z.ZodType<{ email: string; redirectTo?: string | undefined }>,
    send: (email: string, ip: string | undefined, redirectTo: string | undefined) => Promise<void>,
  ) =>
    route({
      method: 'post',
      path,
      access: 'anyone',
      summary,
      body,
      before: [limits.email],
      responses: ACCEPTED_RESPONSE,
      errors: SEND,
      handler: async ({ body: b, req }) => {
        await send(b.email, req.ip, b.redirectTo);
        return reply(202, ACCEPTED);
      },
    });
  return [
    sendRoute(
      '/email/send-verification',
      'Send the address verification message (code or link, per auth config)',
      sendEmailRequestSchema,
      (email, ip, redirectTo) => flows.sendVerification(email, ip, redirectTo),
    ),
    sendRoute(
      '/email/send-reset-password',
      'Send the password reset message (code or link, per auth config)',
      sendEmailRequestSchema,
      (email, ip, redirectTo) => flows.sendReset(email, ip, redirectTo),
    ),
    sendRoute(
      '/email/send-otp',
      'Send a one-time sign-in code (a link instead when redirectTo is given)',
      sendEmailRequestSchema,
      async (email, ip, redirectTo) => {
        await offered(redirectTo ? 'allowMagicLink' : 'allowEmailOtp');
        await flows.sendOtp(email, ip, redirectTo);
      },
    ),
    sendRoute(
      '/email/send-magic-link',
      'Send a sign-in link (redirectTo is required)',
      sendMagicLinkRequestSchema,
      async (email, ip, redirectTo) => {
        await offered('allowMagicLink');
        await flows.sendOtp(email, ip, redirectTo);
      },
    ),
    route({
      method: 'post',
      path: '/email/verify',
      access: 'anyone',
      summary: 'Verify the address with the code from the message (signs in)',
      description:
        '`passwordCleared: true` when the password chosen at sign-up was discarded (the code was ' +
        'used outside the client that chose it): set one with the reset flow.',
      query: clientTypeQuerySchema,
      body: verifyEmailRequestSchema,
      before: [limits.verify],
      responses: { 200: signInResponseSchema },
      errors: { ...RATE_LIMITED, 400: ['AUTH_INVALID_OTP'] },
      handler: async ({ body, req, res }) => {
        const { user, passwordCleared } = await flows.verifyWithCode(
          body.email,
          body.otp,
          http.inboxProofOf(req, body.codeVerifier),
        );
        // A password chosen in another client than the one that used the code was discarded: the
        // owner sets one through the reset flow.
        return http.finishSignIn(req, res, user, passwordCleared ? { passwordCleared: true } : {});
      },
    }),
    route({
      method: 'get',
      path: '/email/verify-link',
      access: 'anyone',
      summary: 'The verification link from the message (a page, or back to the app)',
      query: verifyLinkQuerySchema,
      before: [limits.verify],
      responses: {
        200: { description: 'Verified (a page saying so)', content: 'html' },
        302: {
          description: 'Back to the redirectTo of the request',
          headers: {
            Location:
              'The app URL with insforge_status, insforge_type=verify_email, insforge_error and insforge_password',
          },
        },
        400: { description: 'The link does not work (a page saying so)', content: 'html' },
      },
      errors: RATE_LIMITED,
      handler: async ({ query, req, res }) => {
        const result = await flows.verifyWithLink(
          query.token ?? '',
          http.inboxProofOf(req, undefined),
        );
        if (result.redirectTo) {
          const target = new URL(result.redirectTo);
          target.searchParams.set('insforge_status', result.ok ? 'success' : 'error');
          target.searchParams.set('insforge_type', 'verify_email');
          if (result.error) target.searchParams.set('insforge_error', result.error);
          if (result.passwordCleared)
            target.searchParams.set('insforge_password', 'reset_required');
          res.redirect(302, target.toString());
          return;
        }
        const text = !result.ok
          ? 'It may have expired or been used already. Ask for a new one from the app.'
          : result.passwordCleared
            ? 'This link was opened outside the app where the account was created, so the password ' +
              'chosen there was not kept (someone else may have chosen it). Set your password with ' +
              '“Forgot password” in the app, or sign in with a one-time code.'
            : 'You can close this page and sign in.';
        res
          .status(result.ok ? 200 : 400)
          .type('html')
          .send(
            `<!doctype html><meta charset="utf-8"><title>Email verification</title><body style="font-family:system-ui,sans-serif;max-width:480px;margin:48px auto"><h1>${result.ok ? 'Email verified' : 'This link does not work'}</h1><p>${text}</p></body>`,
          );
      },
    }),
    route({
      method: 'post',
      path: '/email/exchange-reset-password-token',
      access: 'anyone',
      summary: 'Exchange the reset code from the message for a reset token',
      body: exchangeResetTokenRequestSchema,
      before: [limits.verify],
      responses: { 200: exchangeResetTokenResponseSchema },
      errors: { ...RATE_LIMITED, 400: ['AUTH_INVALID_OTP'] },
      handler: ({ body }) => flows.exchangeResetCode(body.email, body.code),
    }),
    route({
      method: 'post',
      path: '/email/reset-password',
      access: 'anyone',
      summary: 'Set a new password with the reset token or code (signs out every session)',
      body: resetPasswordRequestSchema,
      before: [limits.verify],
      responses: { 200: passwordChangedResponseSchema },
      errors: {
        ...RATE_LIMITED,
        400: ['AUTH_INVALID_OTP', 'AUTH_INVALID_TOKEN', 'AUTH_WEAK_PASSWORD'],
      },
      handler: async ({ body }) => {
        await flows.resetPassword(body.otp, body.newPassword);
        return { message: 'Password changed; every session was signed out' };
      },
    }),
  ];
}

/**
 * The `auth.logs` source: one line per authentication event (sign-in, sign-up, refresh, sign-out,
 * verification, reset, one-time codes, second factor, OAuth, ID tokens, anonymous sign-in) with
 * its outcome, the client address and, once known, the user. Never passwords, codes or tokens.
 */
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '../core/logger.js';
import { optionalPrincipal } from '../core/auth/principal.js';

const EVENTS: [method: string, path: RegExp, event: string][] = [
  ['POST', /^\/sessions$/, 'sign_in'],
  ['POST', /^\/users$/, 'sign_up'],
  ['POST', /^\/refresh$/, 'refresh'],
  ['POST', /^\/logout$/, 'sign_out'],
  ['POST', /^\/anonymous$/, 'anonymous_sign_in'],
  ['POST', /^\/anonymous\/upgrade$/, 'anonymous_upgrade'],
  ['POST', /^\/admin\/sessions$/, 'admin_sign_in'],
  ['POST', /^\/admin\/refresh$/, 'admin_refresh'],
  ['POST', /^\/admin\/logout$/, 'admin_sign_out'],
  ['DELETE', /^\/admin\/sessions\/[^/]+$/, 'admin_session_revoked'],
  ['POST', /^\/admin\/sessions\/revoke-others$/, 'admin_sessions_revoked'],
  ['POST', /^\/email\/send-verification$/, 'verification_sent'],
  ['POST', /^\/email\/verify$/, 'email_verified'],
  ['GET', /^\/email\/verify-link$/, 'email_verified_by_link'],
  ['POST', /^\/email\/send-reset-password$/, 'reset_requested'],
  ['POST', /^\/email\/exchange-reset-password-token$/, 'reset_code_exchanged'],
  ['POST', /^\/email\/reset-password$/, 'password_reset'],
  ['POST', /^\/email\/send-(otp|magic-link)$/, 'one_time_code_sent'],
  ['POST', /^\/mfa\/totp\/enroll$/, 'mfa_enroll'],
  ['POST', /^\/mfa\/totp\/verify$/, 'mfa_verified'],
  ['POST', /^\/mfa\/challenge$/, 'mfa_challenge'],
  ['DELETE', /^\/mfa\/factors\/[^/]+$/, 'mfa_factor_removed'],
  ['GET', /^\/oauth\/(custom\/)?[^/]+\/callback$/, 'oauth_callback'],
  ['POST', /^\/oauth\/(custom\/)?[^/]+\/callback$/, 'oauth_callback'],
  ['POST', /^\/oauth\/exchange$/, 'oauth_exchange'],
  ['POST', /^\/id-token$/, 'id_token_sign_in'],
  ['DELETE', /^\/sessions\/[^/]+$/, 'session_revoked'],
  ['POST', /^\/sessions\/revoke-others$/, 'sessions_revoked'],
];

export function authEvents(authLogger: Logger) {
  return (req: Request, res: Response, next: NextFunction) => {
    const match = EVENTS.find(([m, p]) => m === req.method && p.test(req.path));
    if (!match) return next();
    const started = Date.now();
    res.on('finish', () => {
      const principal = optionalPrincipal(req);
      const ok = res.statusCode < 400;
      authLogger.log(ok ? 'info' : res.statusCode >= 500 ? 'error' : 'warn', match[2], {
        outcome: ok ? 'success' : 'failure',
        status: res.statusCode,
        ip: req.ip,
        userAgent: req.get('user-agent')?.slice(0, 200),
        ...(principal?.sub ? { userId: principal.sub } : {}),
        ...(typeof (req.body as { email?: unknown } | undefined)?.email === 'string'
          ? {
              email: String((req.body as { email: string }).email)
                .slice(0, 320)
                .toLowerCase(),
            }
          : {}),
        requestId: res.getHeader('x-request-id'),
        durationMs: Date.now() - started,
      });
    });
    next();
  };
}

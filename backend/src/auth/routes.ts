import {
  Router,
  urlencoded,
  type CookieOptions,
  type Request,
  type RequestHandler,
  type Response,
} from 'express';
import crypto from 'node:crypto';
import {
  adminSessionRequestSchema,
  clientTypeSchema,
  codeVerifierSchema,
  passwordBindingChallengeSchema,
  deleteUsersRequestSchema,
  listUsersQuerySchema,
  refreshRequestSchema,
  signInRequestSchema,
  signUpRequestSchema,
  updateAuthConfigRequestSchema,
  updateProfileRequestSchema,
  userIdSchema,
  type ClientType,
} from '@kiln/shared-schemas';
import { AppError } from '../core/errors.js';
import {
  optionalPrincipal,
  principalOf,
  requireAdmin,
  requireUser,
} from '../core/auth/principal.js';
import { z } from 'zod';
import {
  s256,
  type AuthService,
  type InboxProof,
  type IssuedAdminSession,
  type IssuedSession,
} from './service.js';
import type { MfaService } from './mfa.js';
import type { IdTokenVerifier } from './id-token.js';
import type { OAuthService } from './oauth.js';
import { BUILT_IN_PROVIDERS } from './providers/index.js';
import type { SessionStore } from './sessions.js';
import type { User } from '@kiln/shared-schemas';
import type { EmailFlows } from '../email/flows.js';

const emailField = z
  .string({ error: 'email is required' })
  .trim()
  .max(320)
  .pipe(z.email({ error: 'must be an email address' }));
const sendRequest = z.object({ email: emailField, redirectTo: z.string().max(2000).optional() });
const verifyRequest = z.object({
  email: emailField,
  otp: z.string({ error: 'otp is required' }).trim().min(1).max(200),
  codeVerifier: codeVerifierSchema.optional(),
});
const exchangeRequest = z.object({
  email: emailField,
  code: z.string({ error: 'code is required' }).trim().min(1).max(20),
});
const resetRequest = z.object({
  newPassword: z.string({ error: 'newPassword is required' }).max(1024),
  otp: z.string({ error: 'otp is required' }).trim().min(1).max(200),
});
const otpSignIn = z.object({
  method: z.literal('otp'),
  email: emailField,
  otp: verifyRequest.shape.otp,
  codeVerifier: codeVerifierSchema.optional(),
});

const mfaVerify = z.object({
  factorId: z.guid({ error: 'factorId: must be a UUID' }),
  code: z.string({ error: 'code is required' }).trim().min(1).max(20),
});
const mfaChallenge = z.object({
  mfaToken: z.string({ error: 'mfaToken is required' }).min(1).max(2000),
  code: z.string({ error: 'code is required' }).trim().min(1).max(20),
});
const upgradeRequest = z.object({
  email: z.string({ error: 'email is required' }).max(320),
  password: z.string({ error: 'password is required' }).max(1024),
  name: z.string().trim().min(1).max(100).optional(),
  redirectTo: z.string().max(2000).optional(),
  codeChallenge: passwordBindingChallengeSchema.optional(),
});
const idParam = z.guid({ error: 'id: must be a UUID' });
const oauthStart = z.object({
  redirect_uri: z.string({ error: 'redirect_uri is required' }).min(1).max(2000),
  code_challenge: z.string({ error: 'code_challenge is required' }).min(1).max(200),
});
const oauthExchange = z.object({
  code: z.string({ error: 'code is required' }).min(1).max(200),
  code_verifier: z.string({ error: 'code_verifier is required' }).min(43).max(128),
});
const providerKey = z
  .string()
  .regex(/^[a-z0-9_-]{1,64}$/, 'key: 1-64 characters of a-z, 0-9, _ and -');
const oauthConfig = z.object({
  name: z.string().max(100).nullable().optional(),
  clientId: z.string({ error: 'clientId is required' }).min(1).max(500),
  clientSecret: z.string().max(2000).nullable().optional(),
  scopes: z.array(z.string().min(1).max(200)).max(50).optional(),
  discoveryUrl: z.url().nullable().optional(),
  enabled: z.boolean().optional(),
});
const idTokenRequest = z.object({
  provider: z.enum(['google', 'apple'], { error: 'provider: must be google or apple' }),
  token: z.string({ error: 'token is required' }).min(10).max(10_000),
  nonce: z.string().max(500).optional(),
});

const ACCEPTED = {
  success: true,
  message: 'If this address can receive it, a message is on its way',
};

export const REFRESH_COOKIE = 'insforge_refresh_token';
export const CSRF_COOKIE = 'insforge_csrf_token';
/** The dashboard admin's session: its own cookies, so it never replaces a user's on the origin. */
export const ADMIN_REFRESH_COOKIE = 'insforge_admin_refresh_token';
export const ADMIN_CSRF_COOKIE = 'insforge_admin_csrf_token';
/**
 * Holds the verifier that binds a password chosen before the inbox was proven to the web client
 * that chose it (httpOnly; only the server reads it, see AuthService.claimInbox).
 */
export const PASSWORD_BINDING_COOKIE = 'insforge_password_binding';

export interface AuthRoutesOptions {
  refreshTokenTtlSeconds: number;
  /** Lifetime of an admin session (its cookies); defaults to refreshTokenTtlSeconds. */
  adminSessionTtlSeconds?: number;
  /** True when API_BASE_URL is https: cookies become `Secure; SameSite=None`. */
  secureCookies: boolean;
  /** Verification, reset and sign-in messages (SMTP and templates are email/routes.ts). */
  email: { flows: EmailFlows };
  mfa: MfaService;
  sessions: SessionStore;
  idTokens: IdTokenVerifier;
  oauth: OAuthService;
  /** Per-address rate limits (shared by every instance); omitted = none. */
  limits?: {
    signIn: RequestHandler;
    signUp: RequestHandler;
    email: RequestHandler;
    verify: RequestHandler;
  };
}

const unlimited: RequestHandler = (_req, _res, next) => next();

/** The caller's id when they are signed in anonymously (their OAuth sign-in upgrades them). */
function anonymousUserOf(req: Request): string | undefined {
  const principal = optionalPrincipal(req);
  return principal?.role === 'authenticated' && principal.claims.is_anonymous === true
    ? principal.sub
    : undefined;
}

/** The signed-in user's id (not an admin, not the anon key). */
function userIdOf(req: Request): string {
  const principal = principalOf(req);
  if (principal.role !== 'authenticated' || !principal.sub) {
    throw new AppError(401, 'AUTH_INVALID_CREDENTIALS', 'Sign in first: this needs a user session');
  }
  return principal.sub;
}

function clientTypeOf(req: Request): ClientType {
  const raw = req.query.client_type;
  if (raw === undefined) return 'web';
  const parsed = clientTypeSchema.safeParse(raw);
  if (!parsed.success) {
    throw new AppError(
      400,
      'INVALID_INPUT',
      'client_type: must be one of web, mobile, desktop, server',
    );
  }
  return parsed.data;
}

export function authRoutes(auth: AuthService, options: AuthRoutesOptions): Router {
  const router = Router();
  const { flows } = options.email;
  const { mfa, sessions } = options;
  const limits = options.limits ?? {
    signIn: unlimited,
    signUp: unlimited,
    email: unlimited,
    verify: unlimited,
  };

  const cookieBase = (req: Request): CookieOptions => {
    const secure = options.secureCookies || req.secure;
    return { secure, sameSite: secure ? 'none' : 'lax' };
  };
  const setSessionCookies = (req: Request, res: Response, session: IssuedSession) => {
    const maxAge = options.refreshTokenTtlSeconds * 1000;
    res.cookie(REFRESH_COOKIE, session.refreshToken, {
      ...cookieBase(req),
      httpOnly: true,
      path: '/api/auth',
      maxAge,
    });
    res.cookie(CSRF_COOKIE, session.csrfToken, { ...cookieBase(req), path: '/', maxAge });
  };
  const clearSessionCookies = (req: Request, res: Response) => {
    res.clearCookie(REFRESH_COOKIE, { ...cookieBase(req), httpOnly: true, path: '/api/auth' });
    res.clearCookie(CSRF_COOKIE, { ...cookieBase(req), path: '/' });
  };
  /** Web clients get cookies + a CSRF token; mobile/desktop/server get the refresh token. */
  const sendSession = (
    req: Request,
    res: Response,
    session: IssuedSession,
    status = 200,
    extra: Record<string, unknown> = {},
  ) => {
    const clientType = clientTypeOf(req);
    if (clientType === 'web') {
      setSessionCookies(req, res, session);
      res.status(status).json({
        user: session.user,
        accessToken: session.accessToken,
        csrfToken: session.csrfToken,
        ...extra,
      });
    } else {
      res.status(status).json({
        user: session.user,
        accessToken: session.accessToken,
        refreshToken: session.refreshToken,
        ...extra,
      });
    }
  };
  const context = (req: Request) => ({
    clientType: clientTypeOf(req),
    userAgent: req.get('user-agent'),
    ip: req.ip,
  });

  /** The refresh token a request carries: cookie (web, CSRF-checked) or body (other clients). */
  const presentedRefreshToken = (
    req: Request,
    required: boolean,
    cookieName = REFRESH_COOKIE,
  ): string | undefined => {
    if (clientTypeOf(req) !== 'web') {
      const body = refreshRequestSchema.parse(req.body ?? undefined);
      const token = body?.refreshToken ?? body?.refresh_token;
      if (!token && required) {
        throw new AppError(400, 'INVALID_INPUT', 'refreshToken: is required for non-web clients');
      }
      return token;
    }
    const cookie = req.cookies?.[cookieName] as string | undefined;
    if (!cookie) {
      if (required)
        throw new AppError(
          401,
          'AUTH_UNAUTHORIZED',
          'No refresh token cookie was sent',
          'Sign in again',
        );
      return undefined;
    }
    if (!auth.csrfMatches(cookie, req.get('x-csrf-token'))) {
      throw new AppError(
        403,
        'AUTH_CSRF_INVALID',
        'The X-CSRF-Token header is missing or does not match',
        'Send the csrfToken from sign-in as the X-CSRF-Token header',
      );
    }
    return cookie;
  };

  /**
   * A password is being chosen before the inbox is proven (sign-up, anonymous upgrade): the
   * challenge that binds it to this client. The client's own PKCE-style `codeChallenge` if it sent
   * one; else, for web clients, a fresh verifier kept in an httpOnly cookie (set by `commit` once
   * the account exists); else none (the first proof of the inbox then discards the password,
   * unless it comes from a session of the account).
   */
  const passwordBinding = (req: Request, codeChallenge: string | undefined) => {
    if (codeChallenge) return { challenge: codeChallenge, commit: (_res: Response) => {} };
    if (clientTypeOf(req) !== 'web')
      return { challenge: undefined, commit: (_res: Response) => {} };
    const verifier = crypto.randomBytes(32).toString('base64url');
    return {
      challenge: s256(verifier),
      // SameSite=Lax even where the session cookies are SameSite=None: browsers refuse to store
      // it from another site's request (a page the victim visits cannot plant its own binding in
      // the victim's browser by signing up their address there, CORS allowing), yet send it
      // when the verification link is opened from the mail (a top-level navigation).
      commit: (res: Response) =>
        res.cookie(PASSWORD_BINDING_COOKIE, verifier, {
          ...cookieBase(req),
          sameSite: 'lax',
          httpOnly: true,
          path: '/api/auth',
          maxAge: options.refreshTokenTtlSeconds * 1000,
        }),
    };
  };
  /** What ties an inbox proof in this request to the client that chose the password. */
  const inboxProofOf = (req: Request, codeVerifier: string | undefined): InboxProof => {
    const principal = optionalPrincipal(req);
    const cookie = req.cookies?.[PASSWORD_BINDING_COOKIE] as unknown;
    return {
      verifiers: [codeVerifier, typeof cookie === 'string' ? cookie : undefined],
      sessionUserId:
        principal?.role === 'authenticated' && principal.claims.is_anonymous !== true
          ? principal.sub
          : undefined,
    };
  };

  router.post('/users', limits.signUp, async (req, res) => {
    const body = signUpRequestSchema.parse(req.body);
    const byAdmin = optionalPrincipal(req)?.role === 'project_admin';
    const binding = byAdmin
      ? { challenge: undefined, commit: () => {} }
      : passwordBinding(req, body.codeChallenge);
    const result = await auth.signUp(body, {
      ...context(req),
      byAdmin,
      passwordBinding: binding.challenge,
    });
    binding.commit(res);
    if (result.kind === 'created') {
      res.status(201).json({ user: result.user, accessToken: null });
    } else if (result.kind === 'verification-required') {
      await flows.sendVerification(body.email, req.ip, body.redirectTo).catch((err: unknown) => {
        // The account exists either way; the user can ask for the message again.
        if (!(err instanceof AppError) || err.status >= 500) throw err;
      });
      res.status(201).json({ accessToken: null, requireEmailVerification: true });
    } else {
      sendSession(req, res, result.session, 201);
    }
  });

  /** First factor done: a session, or (with a verified second factor) an mfaToken. */
  const finishSignIn = async (
    req: Request,
    res: Response,
    user: User,
    extra: Record<string, unknown> = {},
  ) => {
    if (await mfa.required(user.id)) {
      res.json({
        requireMfa: true,
        mfaToken: await mfa.mfaToken(user.id),
        accessToken: null,
        ...extra,
      });
      return;
    }
    sendSession(req, res, await auth.startSession(user, context(req)), 200, extra);
  };

  router.post('/sessions', limits.signIn, async (req, res) => {
    if ((req.body as { method?: unknown } | undefined)?.method === 'otp') {
      const body = otpSignIn.parse(req.body);
      const proof = inboxProofOf(req, body.codeVerifier);
      await finishSignIn(req, res, await flows.signInWithOtp(body.email, body.otp, proof));
      return;
    }
    const body = signInRequestSchema.parse(req.body);
    await finishSignIn(req, res, await auth.authenticate(body.email, body.password));
  });

  // ---- OAuth with PKCE (custom OpenID Connect providers) --------------------------------

  router.get('/oauth/configs', requireAdmin, async (_req, res) => {
    res.json({ configs: await options.oauth.list() });
  });
  // Built-in providers (google, github, microsoft, discord, linkedin, x, apple, facebook) at
  // /oauth/:provider, custom OpenID Connect providers at /oauth/custom/:key: the same routes.
  const builtInName = z.enum(Object.keys(BUILT_IN_PROVIDERS) as [string, ...string[]], {
    error: `provider: one of ${Object.keys(BUILT_IN_PROVIDERS).join(', ')}`,
  });
  const providerRoutes = (
    base: string,
    param: string,
    name: z.ZodType<string>,
    custom: boolean,
  ) => {
    const keyOf = (req: Request) => name.parse(req.params[param]);
    router.get(`${base}/config`, requireAdmin, async (req, res) => {
      res.json(await options.oauth.get(keyOf(req), custom));
    });
    router.put(`${base}/config`, requireAdmin, async (req, res) => {
      res.json(await options.oauth.put(keyOf(req), custom, oauthConfig.parse(req.body)));
    });
    router.delete(`${base}/config`, requireAdmin, async (req, res) => {
      await options.oauth.remove(keyOf(req), custom);
      res.json({ success: true, message: 'Provider configuration removed' });
    });
    router.get(base, limits.signIn, async (req, res) => {
      const q = oauthStart.parse(req.query);
      res.json({
        authUrl: await options.oauth.start(
          keyOf(req),
          q.redirect_uri,
          q.code_challenge,
          custom,
          anonymousUserOf(req),
        ),
      });
    });
    const callback = async (req: Request, res: Response) => {
      const url = new URL(req.originalUrl, 'http://callback');
      // form_post (Apple) sends the answer in the body.
      if (req.method === 'POST' && req.body && typeof req.body === 'object') {
        for (const [k, v] of Object.entries(req.body as Record<string, unknown>))
          if (typeof v === 'string') url.searchParams.set(k, v);
      }
      res.redirect(302, await options.oauth.callback(keyOf(req), url, custom));
    };
    router.get(`${base}/callback`, callback);
    router.post(`${base}/callback`, urlencoded({ extended: false, limit: '64kb' }), callback);
  };
  providerRoutes('/oauth/custom/:key', 'key', providerKey, true);
  providerRoutes('/oauth/:provider', 'provider', builtInName, false);

  router.post('/oauth/exchange', limits.verify, async (req, res) => {
    const body = oauthExchange.parse(req.body);
    await finishSignIn(req, res, await options.oauth.exchange(body.code, body.code_verifier));
  });

  router.post('/id-token', limits.signIn, async (req, res) => {
    const body = idTokenRequest.parse(req.body);
    const identity = await options.idTokens.verify(body.provider, body.token, body.nonce);
    await finishSignIn(req, res, await auth.signInWithIdentity(identity));
  });

  // ---- sessions of the signed-in user -----------------------------------------------------

  router.get('/sessions', requireUser, async (req, res) => {
    const userId = userIdOf(req);
    const current = principalOf(req).sessionId;
    res.json({
      sessions: (await sessions.list(userId)).map((s) => ({
        id: s.id,
        clientType: s.client_type,
        userAgent: s.user_agent,
        ip: s.ip,
        aal: s.aal,
        createdAt: s.created_at.toISOString(),
        lastUsedAt: s.last_used_at.toISOString(),
        expiresAt: s.expires_at.toISOString(),
        current: s.id === current,
      })),
    });
  });
  router.post('/sessions/revoke-others', requireUser, async (req, res) => {
    const userId = userIdOf(req);
    res.json({
      revokedCount: await sessions.revokeOthers(
        userId,
        principalOf(req).sessionId,
        'revoked_by_user',
      ),
    });
  });
  router.delete('/sessions/:id', requireUser, async (req, res) => {
    const userId = userIdOf(req);
    const id = idParam.parse(req.params.id);
    if (!(await sessions.revokeOwn(userId, id, 'revoked_by_user'))) {
      throw new AppError(404, 'AUTH_SESSION_NOT_FOUND', 'No live session with this id');
    }
    res.json({ success: true, message: 'Session revoked; its access tokens stop at once' });
  });

  // ---- anonymous users --------------------------------------------------------------------

  router.post('/anonymous', limits.signUp, async (req, res) => {
    const user = await auth.createAnonymous();
    sendSession(req, res, await auth.startSession(user, context(req)), 201);
  });
  router.post('/anonymous/upgrade', requireUser, async (req, res) => {
    const userId = userIdOf(req);
    const body = upgradeRequest.parse(req.body);
    const binding = passwordBinding(req, body.codeChallenge);
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
      res.json({ user, accessToken: null, requireEmailVerification: true });
      return;
    }
    sendSession(req, res, await auth.startSession(user, context(req)));
  });

  // ---- second factor (TOTP) ---------------------------------------------------------------

  /** Changing factors of a protected account needs a session that passed the second factor. */
  const requireAal2 = async (req: Request, userId: string) => {
    if ((await mfa.required(userId)) && principalOf(req).claims.aal !== 'aal2') {
      throw new AppError(
        403,
        'AUTH_MFA_REQUIRED',
        'This needs a session that passed the second factor (aal2)',
        'Sign in again and complete POST /api/auth/mfa/challenge',
      );
    }
  };
  router.post('/mfa/totp/enroll', requireUser, async (req, res) => {
    const userId = userIdOf(req);
    // Adding a factor (and the fresh recovery codes that come with it) to an account that
    // already has one is a change of factors too.
    await requireAal2(req, userId);
    const user = await auth.getUser(userId);
    if (user.isAnonymous) {
      throw new AppError(
        400,
        'AUTH_NOT_ALLOWED',
        'Upgrade the anonymous account before adding MFA',
      );
    }
    const { friendlyName } = z
      .object({ friendlyName: z.string().max(100).optional() })
      .parse(req.body ?? {});
    res.status(201).json(await mfa.enroll(userId, user.email, friendlyName));
  });
  router.post('/mfa/totp/verify', requireUser, async (req, res) => {
    const body = mfaVerify.parse(req.body);
    await requireAal2(req, userIdOf(req));
    res.json(await mfa.verifyEnrollment(userIdOf(req), body.factorId, body.code));
  });
  router.get('/mfa/factors', requireUser, async (req, res) => {
    res.json({ factors: await mfa.list(userIdOf(req)) });
  });
  router.delete('/mfa/factors/:id', requireUser, async (req, res) => {
    const userId = userIdOf(req);
    await requireAal2(req, userId);
    await mfa.remove(userId, idParam.parse(req.params.id));
    res.json({ success: true, message: 'Factor removed' });
  });
  router.post('/mfa/recovery-codes', requireUser, async (req, res) => {
    const userId = userIdOf(req);
    await requireAal2(req, userId);
    if (!(await mfa.required(userId))) {
      throw new AppError(400, 'AUTH_MFA_NOT_ENROLLED', 'Enroll a factor first');
    }
    res.json({ recoveryCodes: await mfa.newRecoveryCodes(userId) });
  });
  router.post('/mfa/challenge', limits.signIn, async (req, res) => {
    const body = mfaChallenge.parse(req.body);
    const userId = await mfa.challenge(body.mfaToken, body.code);
    sendSession(
      req,
      res,
      await auth.startSession(await auth.getUser(userId), context(req), 'aal2'),
    );
  });

  // ---- through the inbox: verification, reset, one-time codes, magic links ---------------

  router.post('/email/send-verification', limits.email, async (req, res) => {
    const body = sendRequest.parse(req.body);
    await flows.sendVerification(body.email, req.ip, body.redirectTo);
    res.status(202).json(ACCEPTED);
  });
  router.post('/email/verify', limits.verify, async (req, res) => {
    const body = verifyRequest.parse(req.body);
    const { user, passwordCleared } = await flows.verifyWithCode(
      body.email,
      body.otp,
      inboxProofOf(req, body.codeVerifier),
    );
    // A password chosen in another client than the one that used the code was discarded: the
    // owner sets one through the reset flow.
    await finishSignIn(req, res, user, passwordCleared ? { passwordCleared: true } : {});
  });
  router.get('/email/verify-link', limits.verify, async (req, res) => {
    const token = typeof req.query.token === 'string' ? req.query.token : '';
    const result = await flows.verifyWithLink(token, inboxProofOf(req, undefined));
    if (result.redirectTo) {
      const target = new URL(result.redirectTo);
      target.searchParams.set('insforge_status', result.ok ? 'success' : 'error');
      target.searchParams.set('insforge_type', 'verify_email');
      if (result.error) target.searchParams.set('insforge_error', result.error);
      if (result.passwordCleared) target.searchParams.set('insforge_password', 'reset_required');
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
  });
  router.post('/email/send-reset-password', limits.email, async (req, res) => {
    const body = sendRequest.parse(req.body);
    await flows.sendReset(body.email, req.ip, body.redirectTo);
    res.status(202).json(ACCEPTED);
  });
  router.post('/email/exchange-reset-password-token', limits.verify, async (req, res) => {
    const body = exchangeRequest.parse(req.body);
    res.json(await flows.exchangeResetCode(body.email, body.code));
  });
  router.post('/email/reset-password', limits.verify, async (req, res) => {
    const body = resetRequest.parse(req.body);
    await flows.resetPassword(body.otp, body.newPassword);
    res.json({ message: 'Password changed; every session was signed out' });
  });
  router.post('/email/send-otp', limits.email, async (req, res) => {
    const body = sendRequest.parse(req.body);
    await flows.sendOtp(body.email, req.ip, body.redirectTo);
    res.status(202).json(ACCEPTED);
  });
  router.post('/email/send-magic-link', limits.email, async (req, res) => {
    const body = sendRequest
      .extend({ redirectTo: z.string({ error: 'redirectTo is required' }).max(2000) })
      .parse(req.body);
    await flows.sendOtp(body.email, req.ip, body.redirectTo);
    res.status(202).json(ACCEPTED);
  });

  router.post('/refresh', async (req, res) => {
    const token = presentedRefreshToken(req, true)!;
    let session: IssuedSession;
    try {
      session = await auth.refresh(token);
    } catch (err) {
      if (clientTypeOf(req) === 'web') clearSessionCookies(req, res);
      throw err;
    }
    sendSession(req, res, session);
  });

  router.post('/logout', async (req, res) => {
    const refreshToken = presentedRefreshToken(req, false);
    const principal = optionalPrincipal(req);
    await auth.logout({ refreshToken, sessionId: principal?.sessionId });
    if (clientTypeOf(req) === 'web') clearSessionCookies(req, res);
    res.json({ success: true, message: 'Signed out' });
  });

  router.get('/sessions/current', requireUser, async (req, res) => {
    const principal = principalOf(req);
    if (principal.role !== 'authenticated' || !principal.sub) {
      throw new AppError(
        400,
        'AUTH_NOT_A_USER_SESSION',
        'This credential belongs to an admin, not a user',
        'Use GET /api/auth/admin/sessions/current',
      );
    }
    res.json({ user: await auth.getUser(principal.sub) });
  });

  router.get('/profiles/current', requireUser, async (req, res) => {
    const principal = principalOf(req);
    if (!principal.sub)
      throw new AppError(400, 'AUTH_NOT_A_USER_SESSION', 'This credential has no user');
    res.json(await auth.getProfile(principal.sub));
  });

  router.get('/profiles/:id', async (req, res) => {
    principalOf(req);
    const id = userIdSchema.safeParse(req.params.id);
    if (!id.success) throw new AppError(400, 'INVALID_INPUT', 'id: must be a UUID');
    res.json(await auth.getProfile(id.data));
  });

  router.patch('/profiles/current', requireUser, async (req, res) => {
    const principal = principalOf(req);
    if (principal.role !== 'authenticated' || !principal.sub) {
      throw new AppError(400, 'AUTH_NOT_A_USER_SESSION', 'Only a signed-in user has a profile');
    }
    const body = updateProfileRequestSchema.parse(req.body);
    res.json(await auth.updateProfile(principal.sub, body.profile));
  });

  router.get('/public-config', async (_req, res) => {
    const {
      allowedRedirectUrls: _hidden,
      createdAt: _c,
      updatedAt: _u,
      ...config
    } = await auth.getConfig();
    const providers = await options.oauth.enabledKeys();
    res.json({
      oAuthProviders: providers.builtIn,
      customOAuthProviders: providers.custom,
      ...config,
    });
  });

  // ---- the dashboard admin's sessions ---------------------------------------------------
  // Same conventions as user sessions: web clients get an httpOnly refresh cookie (its own name,
  // path /api/auth/admin) plus a CSRF token to echo as X-CSRF-Token; client_type=mobile|desktop|
  // server get the refresh token in the body. Access tokens are short and name the session.

  const adminCookie = (req: Request) => ({
    ...cookieBase(req),
    httpOnly: true,
    path: '/api/auth/admin',
  });
  const clearAdminCookies = (req: Request, res: Response) => {
    res.clearCookie(ADMIN_REFRESH_COOKIE, adminCookie(req));
    res.clearCookie(ADMIN_CSRF_COOKIE, { ...cookieBase(req), path: '/' });
  };
  const sendAdminSession = (req: Request, res: Response, session: IssuedAdminSession) => {
    const { user, admin, accessToken, refreshToken, csrfToken } = session;
    if (clientTypeOf(req) === 'web') {
      const maxAge = (options.adminSessionTtlSeconds ?? options.refreshTokenTtlSeconds) * 1000;
      res.cookie(ADMIN_REFRESH_COOKIE, refreshToken, { ...adminCookie(req), maxAge });
      res.cookie(ADMIN_CSRF_COOKIE, csrfToken, { ...cookieBase(req), path: '/', maxAge });
      res.json({ user, admin, accessToken, csrfToken });
    } else {
      res.json({ user, admin, accessToken, refreshToken });
    }
  };
  /** The admin session of the caller's access token, if that is what they hold. */
  const adminSessionOf = (req: Request): string | undefined => {
    const principal = optionalPrincipal(req);
    return principal?.role === 'project_admin' ? principal.sessionId : undefined;
  };

  router.post('/admin/sessions', limits.signIn, async (req, res) => {
    const body = adminSessionRequestSchema.parse(req.body);
    sendAdminSession(
      req,
      res,
      await auth.adminSignIn(body.username ?? body.email ?? '', body.password, context(req)),
    );
  });

  router.post('/admin/refresh', async (req, res) => {
    const token = presentedRefreshToken(req, true, ADMIN_REFRESH_COOKIE)!;
    let session: IssuedAdminSession;
    try {
      session = await auth.adminRefresh(token);
    } catch (err) {
      if (clientTypeOf(req) === 'web') clearAdminCookies(req, res);
      throw err;
    }
    sendAdminSession(req, res, session);
  });

  router.post('/admin/logout', async (req, res) => {
    const refreshToken = presentedRefreshToken(req, false, ADMIN_REFRESH_COOKIE);
    await auth.logout({ refreshToken, sessionId: adminSessionOf(req) });
    if (clientTypeOf(req) === 'web') clearAdminCookies(req, res);
    res.json({ success: true, message: 'Signed out' });
  });

  router.get('/admin/sessions/current', requireAdmin, (req, res) => {
    const principal = principalOf(req);
    res.json({
      admin: {
        sub: principal.sub ?? 'api-key',
        email: principal.email ?? null,
        credential: principal.credential,
        ...(principal.sessionId ? { sessionId: principal.sessionId } : {}),
      },
    });
  });

  router.get('/admin/sessions', requireAdmin, async (req, res) => {
    const current = adminSessionOf(req);
    res.json({
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
    });
  });
  router.post('/admin/sessions/revoke-others', requireAdmin, async (req, res) => {
    res.json({
      revokedCount: await sessions.revokeAdmin({ keep: adminSessionOf(req) }, 'revoked_by_admin'),
    });
  });
  router.delete('/admin/sessions/:id', requireAdmin, async (req, res) => {
    const id = idParam.parse(req.params.id);
    if (!(await sessions.revokeAdmin({ only: id }, 'revoked_by_admin'))) {
      throw new AppError(404, 'AUTH_SESSION_NOT_FOUND', 'No live admin session with this id');
    }
    res.json({ success: true, message: 'Admin session revoked; its access tokens stop at once' });
  });

  router.get('/users', requireAdmin, async (req, res) => {
    res.json(await auth.listUsers(listUsersQuerySchema.parse(req.query)));
  });

  router.get('/users/:id', requireAdmin, async (req, res) => {
    const id = userIdSchema.safeParse(req.params.id);
    if (!id.success) throw new AppError(400, 'INVALID_INPUT', 'id: must be a UUID');
    res.json(await auth.getUser(id.data));
  });

  router.delete('/users/:id/sessions', requireAdmin, async (req, res) => {
    const id = idParam.parse(req.params.id);
    await auth.getUser(id);
    res.json({ revokedCount: await sessions.revokeAllForUser(id, 'revoked_by_admin') });
  });
  router.delete('/users/:id/mfa', requireAdmin, async (req, res) => {
    const id = idParam.parse(req.params.id);
    await auth.getUser(id);
    res.json({ removedFactors: await mfa.reset(id) });
  });

  router.delete('/users', requireAdmin, async (req, res) => {
    const body = deleteUsersRequestSchema.parse(req.body);
    res.json(await auth.deleteUsers(body.userIds));
  });

  router.get('/config', requireAdmin, async (_req, res) => {
    res.json(await auth.getConfig());
  });

  router.put('/config', requireAdmin, async (req, res) => {
    res.json(await auth.updateConfig(updateAuthConfigRequestSchema.parse(req.body)));
  });

  return router;
}

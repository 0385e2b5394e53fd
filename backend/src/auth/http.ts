/**
 * The HTTP side of auth shared by its route files: cookies (refresh, CSRF, password binding), the
 * session bodies per client type, the refresh token a request carries, and who the caller is.
 * No SQL here: the services (service.ts, sessions.ts, mfa.ts, oauth.ts) hold it.
 */
import crypto from 'node:crypto';
import type { CookieOptions, Request, RequestHandler, Response } from 'express';
import {
  clientTypeSchema,
  refreshRequestSchema,
  type ClientType,
  type User,
} from '@kiln/shared-schemas';
import { AppError } from '../core/errors.js';
import { optionalPrincipal } from '../core/auth/principal.js';
import type { Principal } from '../core/db.js';
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
import type { LiveSession, SessionStore } from './sessions.js';
import type { EmailFlows } from '../email/flows.js';
import type { PhoneFlows } from './phone.js';
import type { UserData } from './user-data.js';

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
  /** Phone sign-in and verification by SMS code (phone-routes.ts); omitted = no phone routes. */
  phone?: PhoneFlows;
  /** The user's export and self-deletion (user-data-routes.ts); omitted = no such routes. */
  userData?: UserData;
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

/** Answered by the per-address limiters (core/rate-limit.ts). */
export const RATE_LIMITED = { 429: ['RATE_LIMITED'] } as const;
/** Sending a message may fail (no mail server in production, or the server refused). */
export const SEND_ERRORS = {
  429: ['AUTH_RATE_LIMITED'],
  502: ['EMAIL_DELIVERY_FAILED'],
  503: ['EMAIL_NOT_CONFIGURED'],
} as const;

const unlimited: RequestHandler = (_req, _res, next) => next();

/** What a sign-in answers besides the session (e.g. `passwordCleared`). */
export type Extra = { passwordCleared?: true };

/** The caller's id when they are signed in anonymously (their OAuth sign-in upgrades them). */
export function anonymousUserOf(req: Request): string | undefined {
  const principal = optionalPrincipal(req);
  return principal?.role === 'authenticated' && principal.claims.is_anonymous === true
    ? principal.sub
    : undefined;
}

/** The signed-in user's id (not an admin, not the anon key). */
export function userIdOf(principal: Principal): string {
  if (principal.role !== 'authenticated' || !principal.sub) {
    throw new AppError(401, 'AUTH_INVALID_CREDENTIALS', 'Sign in first: this needs a user session');
  }
  return principal.sub;
}

/** `authorize` for routes only a user session may call (an admin or the API key may not). */
export const requireUserSession = ({ principal }: { principal: Principal }): void => {
  userIdOf(principal);
};

export function clientTypeOf(req: Request): ClientType {
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

/** The admin session of the caller's access token, if that is what they hold. */
export function adminSessionOf(req: Request): string | undefined {
  const principal = optionalPrincipal(req);
  return principal?.role === 'project_admin' ? principal.sessionId : undefined;
}

/** A live session as listed to its holder (`extra`: what only this kind has, e.g. `aal`). */
export function sessionJson<E extends object = object>(
  s: LiveSession,
  current: string | undefined,
  extra?: E,
) {
  return {
    id: s.id,
    clientType: s.client_type,
    userAgent: s.user_agent,
    ip: s.ip,
    ...(extra as E),
    createdAt: s.created_at.toISOString(),
    lastUsedAt: s.last_used_at.toISOString(),
    expiresAt: s.expires_at.toISOString(),
    current: s.id === current,
  };
}

/** Cookies, session bodies and inbox proofs for the auth routes. */
export class AuthHttp {
  readonly limits: NonNullable<AuthRoutesOptions['limits']>;

  constructor(
    readonly auth: AuthService,
    readonly options: AuthRoutesOptions,
  ) {
    this.limits = options.limits ?? {
      signIn: unlimited,
      signUp: unlimited,
      email: unlimited,
      verify: unlimited,
    };
  }

  cookieBase(req: Request): CookieOptions {
    const secure = this.options.secureCookies || req.secure;
    return { secure, sameSite: secure ? 'none' : 'lax' };
  }

  private setSessionCookies(req: Request, res: Response, session: IssuedSession): void {
    const maxAge = this.options.refreshTokenTtlSeconds * 1000;
    res.cookie(REFRESH_COOKIE, session.refreshToken, {
      ...this.cookieBase(req),
      httpOnly: true,
      path: '/api/auth',
      maxAge,
    });
    res.cookie(CSRF_COOKIE, session.csrfToken, { ...this.cookieBase(req), path: '/', maxAge });
  }

  clearSessionCookies(req: Request, res: Response): void {
    res.clearCookie(REFRESH_COOKIE, { ...this.cookieBase(req), httpOnly: true, path: '/api/auth' });
    res.clearCookie(CSRF_COOKIE, { ...this.cookieBase(req), path: '/' });
  }

  /** Web clients get cookies + a CSRF token; mobile/desktop/server get the refresh token. */
  session(req: Request, res: Response, session: IssuedSession, extra: Extra = {}) {
    if (clientTypeOf(req) === 'web') {
      this.setSessionCookies(req, res, session);
      return {
        user: session.user,
        accessToken: session.accessToken,
        csrfToken: session.csrfToken,
        ...extra,
      };
    }
    return {
      user: session.user,
      accessToken: session.accessToken,
      refreshToken: session.refreshToken,
      ...extra,
    };
  }

  context(req: Request) {
    return { clientType: clientTypeOf(req), userAgent: req.get('user-agent'), ip: req.ip };
  }

  /** First factor done: a session, or (with a verified second factor) an mfaToken. */
  async finishSignIn(req: Request, res: Response, user: User, extra: Extra = {}) {
    const { mfa } = this.options;
    if (await mfa.required(user.id)) {
      return {
        requireMfa: true as const,
        mfaToken: await mfa.mfaToken(user.id),
        accessToken: null,
        ...extra,
      };
    }
    return this.session(req, res, await this.auth.startSession(user, this.context(req)), extra);
  }

  /** The refresh token a request carries: cookie (web, CSRF-checked) or body (other clients). */
  presentedRefreshToken(
    req: Request,
    required: boolean,
    cookieName = REFRESH_COOKIE,
  ): string | undefined {
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
    if (!this.auth.csrfMatches(cookie, req.get('x-csrf-token'))) {
      throw new AppError(
        403,
        'AUTH_CSRF_INVALID',
        'The X-CSRF-Token header is missing or does not match',
        'Send the csrfToken from sign-in as the X-CSRF-Token header',
      );
    }
    return cookie;
  }

  /**
   * A password is being chosen before the inbox is proven (sign-up, anonymous upgrade): the
   * challenge that binds it to this client. The client's own PKCE-style `codeChallenge` if it sent
   * one; else, for web clients, a fresh verifier kept in an httpOnly cookie (set by `commit` once
   * the account exists); else none (the first proof of the inbox then discards the password,
   * unless it comes from a session of the account).
   */
  passwordBinding(req: Request, codeChallenge: string | undefined) {
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
          ...this.cookieBase(req),
          sameSite: 'lax',
          httpOnly: true,
          path: '/api/auth',
          maxAge: this.options.refreshTokenTtlSeconds * 1000,
        }),
    };
  }

  /** What ties an inbox proof in this request to the client that chose the password. */
  inboxProofOf(req: Request, codeVerifier: string | undefined): InboxProof {
    const principal = optionalPrincipal(req);
    const cookie = req.cookies?.[PASSWORD_BINDING_COOKIE] as unknown;
    return {
      verifiers: [codeVerifier, typeof cookie === 'string' ? cookie : undefined],
      sessionUserId:
        principal?.role === 'authenticated' && principal.claims.is_anonymous !== true
          ? principal.sub
          : undefined,
    };
  }

  // ---- the dashboard admin's sessions ---------------------------------------------------
  // Same conventions as user sessions: web clients get an httpOnly refresh cookie (its own name,
  // path /api/auth/admin) plus a CSRF token to echo as X-CSRF-Token; client_type=mobile|desktop|
  // server get the refresh token in the body. Access tokens are short and name the session.

  private adminCookie(req: Request): CookieOptions {
    return { ...this.cookieBase(req), httpOnly: true, path: '/api/auth/admin' };
  }

  clearAdminCookies(req: Request, res: Response): void {
    res.clearCookie(ADMIN_REFRESH_COOKIE, this.adminCookie(req));
    res.clearCookie(ADMIN_CSRF_COOKIE, { ...this.cookieBase(req), path: '/' });
  }

  adminSession(req: Request, res: Response, session: IssuedAdminSession) {
    const { user, admin, accessToken, refreshToken, csrfToken } = session;
    if (clientTypeOf(req) === 'web') {
      const maxAge =
        (this.options.adminSessionTtlSeconds ?? this.options.refreshTokenTtlSeconds) * 1000;
      res.cookie(ADMIN_REFRESH_COOKIE, refreshToken, { ...this.adminCookie(req), maxAge });
      res.cookie(ADMIN_CSRF_COOKIE, csrfToken, { ...this.cookieBase(req), path: '/', maxAge });
      return { user, admin, accessToken, csrfToken };
    }
    return { user, admin, accessToken, refreshToken };
  }
}

import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { AppError } from '../errors.js';
import type { Principal } from '../db.js';
import type { KeyStore } from './keys.js';
import type { TokenService } from './tokens.js';
import type { OutsideVerifyResult } from './issuers.js';

/** What the credential on a request resolved to. Resolved once, enforced by the guards below. */
export type AuthState =
  | { kind: 'none' }
  | { kind: 'principal'; principal: Principal }
  | { kind: 'rejected'; error: AppError };

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      requestId: string;
      auth: AuthState;
    }
  }
}

function credentialOf(req: Request): string | undefined {
  const header = req.headers.authorization;
  if (header) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return match ? match[1] : header.trim();
  }
  const apiKey = req.headers['x-api-key'];
  return typeof apiKey === 'string' && apiKey.trim() ? apiKey.trim() : undefined;
}

/**
 * Resolves the request's credential to a principal: anon key → anon; user JWT → authenticated;
 * admin JWT or API key (Bearer or x-api-key) → project_admin. A bad credential is remembered,
 * not thrown, so public endpoints (sign-in with a stale token in the header) still work.
 */
export function resolvePrincipal(keys: KeyStore, tokens: TokenService): RequestHandler {
  return async (req, _res, next) => {
    req.auth = { kind: 'none' };
    const credential = credentialOf(req);
    if (!credential) return next();
    try {
      req.auth = await resolveCredential(credential, keys, tokens);
      next();
    } catch (err) {
      next(err);
    }
  };
}

// The keys' principals are the same for every request: built once, frozen.
const API_KEY_STATE: AuthState = Object.freeze({
  kind: 'principal',
  principal: Object.freeze({
    role: 'project_admin',
    credential: 'api_key',
    claims: Object.freeze({ role: 'project_admin' }),
  }),
});
const ANON_KEY_STATE: AuthState = Object.freeze({
  kind: 'principal',
  principal: Object.freeze({
    role: 'anon',
    credential: 'anon_key',
    claims: Object.freeze({ role: 'anon' }),
  }),
});

export async function resolveCredential(
  credential: string,
  keys: KeyStore,
  tokens: TokenService,
): Promise<AuthState> {
  if (credential.startsWith('ik_')) {
    if (await keys.verify('api', credential)) {
      return API_KEY_STATE;
    }
    return {
      kind: 'rejected',
      error: new AppError(
        401,
        'AUTH_INVALID_API_KEY',
        'The API key is not valid',
        'Use the current API key from the dashboard or GET /api/metadata/api-key',
      ),
    };
  }
  if (credential.startsWith('anon_')) {
    if (await keys.verify('anon', credential)) {
      return ANON_KEY_STATE;
    }
    return {
      kind: 'rejected',
      error: new AppError(
        401,
        'AUTH_INVALID_API_KEY',
        'The anon key is not valid',
        'Use the current anon key from GET /api/metadata/anon-key',
      ),
    };
  }
  const outside = await tokens.verifyOutside(credential);
  if (outside) return outsidePrincipal(outside);
  const result = await tokens.verify(credential);
  if (!result.ok) {
    // AUTH_UNAUTHORIZED makes the SDK refresh; for an ended session the refresh fails too.
    const messages = {
      expired: 'The access token has expired',
      ended: 'The session of this access token has ended (signed out or revoked)',
      invalid: 'The access token is not valid',
    } as const;
    return {
      kind: 'rejected',
      error: new AppError(
        401,
        'AUTH_UNAUTHORIZED',
        messages[result.reason],
        result.reason === 'expired'
          ? 'Refresh the session with POST /api/auth/refresh'
          : result.reason === 'ended'
            ? 'Sign in again'
            : undefined,
      ),
    };
  }
  // The same verified claims (TokenService caches them per token) give the same principal: built
  // once, frozen, and shared by that token's requests.
  const known = principals.get(result.claims);
  if (known) return known;
  const { sub, role, email, sid, aal, is_anonymous, custom, iat, exp } = result.claims;
  const state: AuthState = {
    kind: 'principal',
    principal: Object.freeze({
      role,
      sub,
      ...(email ? { email } : {}),
      sessionId: sid,
      credential: 'jwt' as const,
      claims: Object.freeze({
        ...custom,
        sub,
        role,
        ...(email ? { email } : {}),
        sid,
        ...(aal ? { aal } : {}),
        ...(is_anonymous ? { is_anonymous } : {}),
        iat,
        exp,
      }),
    }),
  };
  principals.set(result.claims, state);
  return state;
}

const principals = new WeakMap<object, AuthState>();

/**
 * A user of a trusted outside issuer (core/auth/issuers.ts): `authenticated` in PostgreSQL with
 * the token's claims, but not a Kiln user (no `sub` on the principal, no session), so Kiln's own
 * user endpoints (profile, sessions) do not apply to them.
 */
function outsidePrincipal(result: OutsideVerifyResult): AuthState {
  if (!result.ok) {
    return {
      kind: 'rejected',
      error: new AppError(
        401,
        'AUTH_UNAUTHORIZED',
        result.reason === 'expired'
          ? 'The access token has expired'
          : 'The access token is not valid: its issuer is not trusted, or its signature, audience or claims do not verify',
      ),
    };
  }
  return {
    kind: 'principal',
    principal: { role: 'authenticated', credential: 'jwt', claims: result.claims },
  };
}

/** The principal, or the reason there is none (401). */
export function principalOf(req: Request): Principal {
  const auth = req.auth;
  if (auth.kind === 'principal') return auth.principal;
  if (auth.kind === 'rejected') throw auth.error;
  throw new AppError(
    401,
    'AUTH_INVALID_CREDENTIALS',
    'This endpoint needs a credential',
    'Send Authorization: Bearer <anon key, access token or API key>',
  );
}

/** The principal when a valid one was given; undefined otherwise (never throws). */
export function optionalPrincipal(req: Request): Principal | undefined {
  return req.auth.kind === 'principal' ? req.auth.principal : undefined;
}

type Guard = (req: Request, res: Response, next: NextFunction) => void;

/** Any valid credential, the anon key included. */
export const requirePrincipal: Guard = (req, _res, next) => {
  principalOf(req);
  next();
};

/** A signed-in user (or an admin acting as one). */
export const requireUser: Guard = (req, _res, next) => {
  const principal = principalOf(req);
  if (principal.role === 'anon') {
    throw new AppError(
      401,
      'AUTH_INVALID_CREDENTIALS',
      'Sign in first: this endpoint needs a user session',
    );
  }
  // A trusted outside issuer's user has no Kiln user id: Kiln's per-user endpoints (profile,
  // sessions, MFA) and per-user allowances (AI, raw email, jobs) cannot apply to them.
  if (principal.role === 'authenticated' && !principal.sub) {
    throw new AppError(
      403,
      'AUTH_FORBIDDEN',
      'This endpoint is for the project’s own users: a token of an outside issuer cannot call it',
      'Call it with a Kiln session',
    );
  }
  next();
};

/** An admin JWT or the API key. */
export const requireAdmin: Guard = (req, _res, next) => {
  const principal = principalOf(req);
  if (principal.role !== 'project_admin') {
    throw new AppError(
      403,
      'AUTH_FORBIDDEN',
      'This endpoint is for project admins only',
      'Use an admin session or the API key',
    );
  }
  next();
};

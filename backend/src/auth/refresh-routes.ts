/**
 * `POST /refresh` and `POST /logout` for both kinds of session: a user's (/api/auth/refresh,
 * /api/auth/logout) and the dashboard admin's (/api/auth/admin/refresh, /api/auth/admin/logout).
 * Web clients present the httpOnly refresh cookie with its CSRF token (X-CSRF-Token); other
 * clients (`client_type`) send `refreshToken` in the body.
 */
import type { Request, Response } from 'express';
import type { z } from 'zod';
import {
  adminSessionResponseSchema,
  clientTypeQuerySchema,
  sessionResponseSchema,
  successMessageSchema,
} from '@kiln/shared-schemas';
import { optionalPrincipal } from '../core/auth/principal.js';
import { route, type DeclaredRoute } from '../core/route.js';
import type { IssuedSession } from './service.js';
import {
  ADMIN_REFRESH_COOKIE,
  REFRESH_COOKIE,
  adminSessionOf,
  clientTypeOf,
  type AuthHttp,
} from './http.js';

interface Holder<S extends IssuedSession> {
  /** Where the routes are, below /api/auth. */
  prefix: string;
  /** Whose session, for the summaries. */
  whose: string;
  cookie: string;
  schema: z.ZodType;
  refresh: (token: string) => Promise<S>;
  answer: (req: Request, res: Response, session: S) => object;
  clearCookies: (req: Request, res: Response) => void;
  /** The session the caller's access token names, when it is this kind. */
  sessionOf: (req: Request) => string | undefined;
}

function holderRoutes<S extends IssuedSession>(h: Holder<S>, http: AuthHttp): DeclaredRoute[] {
  const description =
    `Web clients send the ${h.whose} refresh cookie and X-CSRF-Token; other clients ` +
    '(client_type) send `refreshToken` in the body.';
  return [
    route({
      method: 'post',
      path: `${h.prefix}/refresh`,
      access: 'anyone',
      summary: `A new access token (and refresh token) for the ${h.whose} refresh token`,
      description,
      // The body is read for non-web clients only (a web client's body is ignored).
      parse: false,
      query: clientTypeQuerySchema,
      responses: { 200: h.schema },
      errors: { 401: ['AUTH_UNAUTHORIZED'], 403: ['AUTH_CSRF_INVALID'] },
      handler: async ({ req, res }) => {
        const token = http.presentedRefreshToken(req, true, h.cookie)!;
        let session: S;
        try {
          session = await h.refresh(token);
        } catch (err) {
          if (clientTypeOf(req) === 'web') h.clearCookies(req, res);
          throw err;
        }
        return h.answer(req, res, session);
      },
    }),
    route({
      method: 'post',
      path: `${h.prefix}/logout`,
      access: 'anyone',
      summary: `Sign out (ends the ${h.whose} session of the refresh token or access token)`,
      description,
      parse: false,
      query: clientTypeQuerySchema,
      responses: { 200: successMessageSchema },
      errors: { 403: ['AUTH_CSRF_INVALID'] },
      handler: async ({ req, res }) => {
        const refreshToken = http.presentedRefreshToken(req, false, h.cookie);
        await http.auth.logout({ refreshToken, sessionId: h.sessionOf(req) });
        if (clientTypeOf(req) === 'web') h.clearCookies(req, res);
        return { success: true as const, message: 'Signed out' };
      },
    }),
  ];
}

/** A user's session: /refresh and /logout. */
export function userRefreshRoutes(http: AuthHttp): DeclaredRoute[] {
  return holderRoutes(
    {
      prefix: '',
      whose: "user's",
      cookie: REFRESH_COOKIE,
      schema: sessionResponseSchema,
      refresh: (token) => http.auth.refresh(token),
      answer: (req, res, session) => http.session(req, res, session),
      clearCookies: (req, res) => http.clearSessionCookies(req, res),
      sessionOf: (req) => optionalPrincipal(req)?.sessionId,
    },
    http,
  );
}

/** The dashboard admin's session: /admin/refresh and /admin/logout. */
export function adminRefreshRoutes(http: AuthHttp): DeclaredRoute[] {
  return holderRoutes(
    {
      prefix: '/admin',
      whose: "admin's",
      cookie: ADMIN_REFRESH_COOKIE,
      schema: adminSessionResponseSchema,
      refresh: (token) => http.auth.adminRefresh(token),
      answer: (req, res, session) => http.adminSession(req, res, session),
      clearCookies: (req, res) => http.clearAdminCookies(req, res),
      sessionOf: adminSessionOf,
    },
    http,
  );
}
